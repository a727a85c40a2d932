//! The evaluator's answer: its JSON schema and the parser that turns untrusted LLM output into
//! a [`Decision`] (personas.md §2 step 2).

use foil_types::persona::{DecisionType, Machine};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::session::{candidates, has_follow_up, Decision};
use crate::text::{first_json_object, preview};

/// The answer the evaluator must give, as JSON:
/// `{"decision": "pass", "transition_index": 0, "reason": "short"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalAnswer {
    /// `pass`, `redirect`, `reject`, `kick_out` or `follow_up`.
    pub decision: String,
    /// The candidate transition chosen, or `null`.
    pub transition_index: Option<i64>,
    /// A short justification, for logs.
    pub reason: Option<String>,
}

const DECISIONS: [&str; 5] = ["pass", "redirect", "reject", "kick_out", "follow_up"];

/// The JSON schema of [`EvalAnswer`]: every key required, no others. It is accepted as-is as
/// an OpenAI strict `json_schema` response format and as an Anthropic tool `input_schema`.
pub fn eval_json_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "decision": {
                "type": "string",
                "enum": DECISIONS,
                "description": "What the player's message does in the current state."
            },
            "transition_index": {
                "type": ["integer", "null"],
                "description": "The number of the chosen candidate transition; null for follow_up, or for redirect when no redirect candidate fits."
            },
            "reason": {
                "type": "string",
                "description": "One short sentence explaining the decision."
            }
        },
        "required": ["decision", "transition_index", "reason"],
        "additionalProperties": false
    })
}

/// Every answer legal in `state_key`, as `(decision, transition_index)` pairs: each candidate
/// with its own decision type, `redirect` with no index when the state has no redirect
/// candidate, and `follow_up` when the state has a follow-up condition. Never empty.
pub fn legal_answers(machine: &Machine, state_key: &str) -> Vec<(&'static str, Option<usize>)> {
    let cands = candidates(machine, state_key);
    let mut legal: Vec<(&'static str, Option<usize>)> = cands
        .iter()
        .enumerate()
        .map(|(i, t)| (t.decision_type.as_str(), Some(i)))
        .collect();
    if !cands
        .iter()
        .any(|t| t.decision_type == DecisionType::Redirect)
    {
        legal.push(("redirect", None));
    }
    if machine.state(state_key).is_some_and(has_follow_up) {
        legal.push(("follow_up", None));
    }
    legal
}

/// Longest `reason` a grammar-constrained evaluator may write (a small model would otherwise
/// ramble until `max_tokens`).
const MAX_REASON_CHARS: usize = 200;

/// [`eval_json_schema`] narrowed to `state_key`: `decision` lists only the decisions that are
/// legal there and `transition_index` only its candidates' numbers (and null where allowed).
/// Still one root object, as OpenAI's strict mode requires; a mismatched pair remains
/// possible, which [`eval_exact_schema`] rules out for decoders that take it.
pub fn eval_json_schema_for(machine: &Machine, state_key: &str) -> Value {
    let legal = legal_answers(machine, state_key);
    let mut decisions: Vec<&str> = Vec::new();
    let mut indexes: Vec<Value> = Vec::new();
    for (decision, index) in &legal {
        if !decisions.contains(decision) {
            decisions.push(decision);
        }
        let index = json!(index);
        if !indexes.contains(&index) {
            indexes.push(index);
        }
    }
    let mut schema = eval_json_schema();
    schema["properties"]["decision"]["enum"] = json!(decisions);
    schema["properties"]["transition_index"]["enum"] = Value::Array(indexes);
    schema
}

/// Exactly the legal answers in `state_key`: a root `anyOf` with one object per legal
/// `(decision, transition_index)` pair, for grammar-based decoders (llama.cpp), which then
/// cannot produce an out-of-range index or an index paired with the wrong decision.
pub fn eval_exact_schema(machine: &Machine, state_key: &str) -> Value {
    let alternatives: Vec<Value> = legal_answers(machine, state_key)
        .into_iter()
        .map(|(decision, index)| {
            json!({
                "type": "object",
                "properties": {
                    "decision": {"const": decision},
                    "transition_index": {"const": index},
                    "reason": {"type": "string", "maxLength": MAX_REASON_CHARS}
                },
                "required": ["decision", "transition_index", "reason"],
                "additionalProperties": false
            })
        })
        .collect();
    json!({ "anyOf": alternatives })
}

impl EvalAnswer {
    /// Reads the answer out of an LLM reply. Tolerates ```json fences and prose around the
    /// object, decision names in other cases or with `-`/space for `_`, a missing `reason` or
    /// `transition_index` (read as null) and integral floats such as `1.0`. The error says what
    /// was wrong, to feed back to the model.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some(map) = first_json_object(text) else {
            return Err(format!(
                "the answer is not a JSON object (got {:?}); answer with only the JSON object {{\"decision\": ..., \"transition_index\": ..., \"reason\": ...}}",
                preview(text)
            ));
        };
        let decision = match map.get("decision") {
            Some(Value::String(s)) => s.trim().to_lowercase().replace(['-', ' '], "_"),
            Some(other) => {
                return Err(format!(
                    "\"decision\" must be a string, got {}",
                    preview(&other.to_string())
                ))
            }
            None => return Err("the answer has no \"decision\" key".into()),
        };
        let transition_index = match map.get("transition_index") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Some(i),
                (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => Some(f as i64),
                _ => return Err(format!("\"transition_index\" must be an integer, got {n}")),
            },
            Some(other) => {
                return Err(format!(
                    "\"transition_index\" must be an integer or null, got {}",
                    preview(&other.to_string())
                ))
            }
        };
        let reason = map
            .get("reason")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(EvalAnswer {
            decision,
            transition_index,
            reason,
        })
    }

    /// Checks the answer against the current state and turns it into a [`Decision`]:
    /// `transition_index` must name a candidate whose `decision_type` equals `decision`; it is
    /// null for `follow_up` (only allowed when the state has a follow-up condition) and may be
    /// null for `redirect` (no redirect transition's score applies then).
    pub fn to_decision(&self, machine: &Machine, state_key: &str) -> Result<Decision, String> {
        let state = machine
            .state(state_key)
            .ok_or_else(|| format!("the current state {state_key:?} does not exist"))?;
        let kind = match self.decision.as_str() {
            "pass" => DecisionType::Pass,
            "redirect" => DecisionType::Redirect,
            "reject" => DecisionType::Reject,
            "kick_out" => DecisionType::KickOut,
            "follow_up" => {
                if !has_follow_up(state) {
                    return Err("\"follow_up\" is not allowed in this state (it has no follow-up condition); choose a candidate transition or redirect".into());
                }
                if let Some(i) = self.transition_index {
                    return Err(format!(
                        "\"transition_index\" must be null for follow_up, got {i}"
                    ));
                }
                return Ok(Decision::FollowUp);
            }
            other => {
                return Err(format!(
                    "\"decision\" must be one of {}, got {:?}",
                    DECISIONS.join(", "),
                    preview(other)
                ))
            }
        };
        let cands = candidates(machine, state_key);
        let valid: Vec<String> = cands
            .iter()
            .enumerate()
            .filter(|(_, t)| t.decision_type == kind)
            .map(|(i, _)| i.to_string())
            .collect();
        let valid_hint = if valid.is_empty() {
            format!("this state has no {} candidate", kind.as_str())
        } else {
            format!("the {} candidates are: {}", kind.as_str(), valid.join(", "))
        };
        let Some(index) = self.transition_index else {
            if kind == DecisionType::Redirect {
                return Ok(Decision::Redirect { index: None });
            }
            return Err(format!(
                "\"transition_index\" is required for {}; {valid_hint}",
                kind.as_str()
            ));
        };
        let t = usize::try_from(index)
            .ok()
            .and_then(|i| cands.get(i))
            .ok_or_else(|| {
                format!(
                    "\"transition_index\" {index} does not name a candidate (there are {}); {valid_hint}",
                    cands.len()
                )
            })?;
        if t.decision_type != kind {
            return Err(format!(
                "candidate {index} is a {} transition, but the decision is {}; {valid_hint}",
                t.decision_type.as_str(),
                kind.as_str()
            ));
        }
        // In range: checked by `cands.get` above.
        Ok(Decision::for_transition(kind, index as usize))
    }
}

/// Parses and checks an evaluator answer in one go (see [`EvalAnswer::parse`] and
/// [`EvalAnswer::to_decision`]). On error, the message explains what was wrong; the server
/// sends it back to the model on its one retry.
pub fn parse_eval_answer(
    machine: &Machine,
    state_key: &str,
    text: &str,
) -> Result<Decision, String> {
    parse_evaluation(machine, state_key, text).map(|e| e.decision)
}

/// A checked evaluator answer: the decision and the evaluator's stated reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// What the state machine does with the player's message.
    pub decision: Decision,
    /// Why the evaluator decided so, for the creator's session view (never shown to players).
    pub reason: Option<String>,
}

/// [`parse_eval_answer`], keeping the evaluator's `reason` (empty reasons become `None`).
pub fn parse_evaluation(
    machine: &Machine,
    state_key: &str,
    text: &str,
) -> Result<Evaluation, String> {
    let answer = EvalAnswer::parse(text)?;
    let decision = answer.to_decision(machine, state_key)?;
    let reason = answer
        .reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    Ok(Evaluation { decision, reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;

    // S0 candidates: 0 pass, 1 reject, 2 redirect, 3 redirect, 4 kick_out; follow-up allowed.
    fn parse(text: &str) -> Result<Decision, String> {
        parse_eval_answer(&scoring_machine(), "S0", text)
    }

    #[test]
    fn good_answers() {
        assert_eq!(
            parse(r#"{"decision":"pass","transition_index":0,"reason":"polite"}"#),
            Ok(Decision::Pass { index: 0 })
        );
        assert_eq!(
            parse(r#"{"decision":"reject","transition_index":1,"reason":"rude"}"#),
            Ok(Decision::Reject { index: 1 })
        );
        assert_eq!(
            parse(r#"{"decision":"redirect","transition_index":3,"reason":""}"#),
            Ok(Decision::Redirect { index: Some(3) })
        );
        assert_eq!(
            parse(r#"{"decision":"kick_out","transition_index":4,"reason":"cup"}"#),
            Ok(Decision::KickOut { index: 4 })
        );
        assert_eq!(
            parse(r#"{"decision":"follow_up","transition_index":null,"reason":"?"}"#),
            Ok(Decision::FollowUp)
        );
    }

    #[test]
    fn redirect_may_pick_none() {
        assert_eq!(
            parse(r#"{"decision":"redirect","transition_index":null,"reason":"off topic"}"#),
            Ok(Decision::Redirect { index: None })
        );
        // A state without redirect transitions: null is the only choice.
        assert_eq!(
            parse_eval_answer(
                &scoring_machine(),
                "S1",
                r#"{"decision":"redirect","transition_index":null,"reason":""}"#
            ),
            Ok(Decision::Redirect { index: None })
        );
    }

    #[test]
    fn fenced_and_chatty_answers() {
        assert_eq!(
            parse("```json\n{\"decision\": \"pass\", \"transition_index\": 0, \"reason\": \"ok\"}\n```"),
            Ok(Decision::Pass { index: 0 })
        );
        assert_eq!(
            parse("Here is my decision:\n{\"decision\": \"Kick-Out\", \"transition_index\": 4.0}\nHope that helps! {\"not\": \"this\"}"),
            Ok(Decision::KickOut { index: 4 })
        );
        assert_eq!(
            parse(r#"{"decision":" FOLLOW UP ","reason":"unclear"}"#),
            Ok(Decision::FollowUp)
        );
    }

    fn assert_err(text: &str, needles: &[&str]) {
        let err = parse(text).unwrap_err();
        for n in needles {
            assert!(err.contains(n), "error {err:?} should mention {n:?}");
        }
    }

    #[test]
    fn wrong_index() {
        assert_err(
            r#"{"decision":"pass","transition_index":7,"reason":""}"#,
            &[
                "7 does not name a candidate",
                "there are 5",
                "pass candidates are: 0",
            ],
        );
        assert_err(
            r#"{"decision":"pass","transition_index":-1,"reason":""}"#,
            &["-1 does not name a candidate"],
        );
        assert_err(
            r#"{"decision":"pass","transition_index":null,"reason":""}"#,
            &["required for pass", "pass candidates are: 0"],
        );
        assert_err(
            r#"{"decision":"pass","transition_index":0.5,"reason":""}"#,
            &["must be an integer"],
        );
        assert_err(
            r#"{"decision":"pass","transition_index":"0","reason":""}"#,
            &["must be an integer or null"],
        );
    }

    #[test]
    fn mismatched_type() {
        assert_err(
            r#"{"decision":"pass","transition_index":2,"reason":""}"#,
            &["candidate 2 is a redirect transition", "decision is pass"],
        );
        assert_err(
            r#"{"decision":"redirect","transition_index":0,"reason":""}"#,
            &[
                "candidate 0 is a pass transition",
                "redirect candidates are: 2, 3",
            ],
        );
        let err = parse_eval_answer(
            &scoring_machine(),
            "S1",
            r#"{"decision":"kick_out","transition_index":0,"reason":""}"#,
        )
        .unwrap_err();
        assert!(
            err.contains("this state has no kick_out candidate"),
            "{err}"
        );
    }

    #[test]
    fn follow_up_rules() {
        assert_err(
            r#"{"decision":"follow_up","transition_index":0,"reason":""}"#,
            &["must be null for follow_up"],
        );
        let err = parse_eval_answer(
            &scoring_machine(),
            "S1",
            r#"{"decision":"follow_up","transition_index":null,"reason":""}"#,
        )
        .unwrap_err();
        assert!(err.contains("not allowed in this state"), "{err}");
    }

    #[test]
    fn garbage() {
        assert_err("I think the player passes.", &["not a JSON object"]);
        assert_err("", &["not a JSON object"]);
        assert_err("[\"pass\", 0]", &["not a JSON object"]);
        assert_err(r#"{"transition_index":0}"#, &["no \"decision\""]);
        assert_err(r#"{"decision":3}"#, &["must be a string"]);
        assert_err(
            r#"{"decision":"approve","transition_index":0}"#,
            &[
                "must be one of pass, redirect, reject, kick_out, follow_up",
                "approve",
            ],
        );
        let err = parse_eval_answer(
            &scoring_machine(),
            "NOPE",
            r#"{"decision":"redirect","transition_index":null}"#,
        )
        .unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
    }

    #[test]
    fn answer_keeps_the_reason() {
        let a = EvalAnswer::parse(r#"{"decision":"pass","transition_index":0,"reason":"polite"}"#)
            .unwrap();
        assert_eq!(a.reason.as_deref(), Some("polite"));
        assert_eq!(a.transition_index, Some(0));
    }

    #[test]
    fn state_schemas_admit_only_legal_answers() {
        let machine = scoring_machine();
        // S0: 0 pass, 1 reject, 2 redirect, 3 redirect, 4 kick_out, and a follow-up.
        assert_eq!(
            legal_answers(&machine, "S0"),
            vec![
                ("pass", Some(0)),
                ("reject", Some(1)),
                ("redirect", Some(2)),
                ("redirect", Some(3)),
                ("kick_out", Some(4)),
                ("follow_up", None)
            ]
        );
        let narrowed = eval_json_schema_for(&machine, "S0");
        assert_eq!(
            narrowed["properties"]["decision"]["enum"],
            json!(["pass", "reject", "redirect", "kick_out", "follow_up"])
        );
        assert_eq!(
            narrowed["properties"]["transition_index"]["enum"],
            json!([0, 1, 2, 3, 4, null])
        );
        assert_eq!(narrowed["additionalProperties"], json!(false));

        // Every alternative of the exact schema is an answer the parser accepts, and their
        // number is the number of legal answers.
        for state in ["S0", "S1"] {
            let exact = eval_exact_schema(&machine, state);
            let alternatives = exact["anyOf"].as_array().unwrap();
            assert_eq!(alternatives.len(), legal_answers(&machine, state).len());
            for alt in alternatives {
                let answer = json!({
                    "decision": alt["properties"]["decision"]["const"],
                    "transition_index": alt["properties"]["transition_index"]["const"],
                    "reason": "r"
                });
                assert!(
                    parse_eval_answer(&machine, state, &answer.to_string()).is_ok(),
                    "{state}: {answer}"
                );
            }
        }
    }

    #[test]
    fn schema_is_strict() {
        let s = eval_json_schema();
        assert_eq!(s["additionalProperties"], json!(false));
        assert_eq!(
            s["required"],
            json!(["decision", "transition_index", "reason"])
        );
        assert_eq!(
            s["properties"]["decision"]["enum"],
            json!(["pass", "redirect", "reject", "kick_out", "follow_up"])
        );
        assert_eq!(
            s["properties"]["transition_index"]["type"],
            json!(["integer", "null"])
        );
        // Every property is required, as OpenAI strict mode demands.
        let props = s["properties"].as_object().unwrap();
        assert_eq!(props.len(), s["required"].as_array().unwrap().len());
        // An answer the schema describes parses back.
        let answer = EvalAnswer {
            decision: "pass".into(),
            transition_index: Some(0),
            reason: Some("ok".into()),
        };
        assert_eq!(
            parse(&serde_json::to_string(&answer).unwrap()),
            Ok(Decision::Pass { index: 0 })
        );
    }
}
