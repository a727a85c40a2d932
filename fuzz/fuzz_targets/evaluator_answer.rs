//! The evaluator's answer and the extraction answer: untrusted LLM output read by
//! foil-engine ([`foil_engine::parse_evaluation`] = [`EvalAnswer::parse`] +
//! [`EvalAnswer::to_decision`], and [`foil_engine::parse_extraction`]), against machines of a
//! fixed, valid persona document.
//!
//! Input: the first byte picks the machine and the state, the rest is the model's text.
//! Invariants:
//! - `parse_evaluation` is `EvalAnswer::parse` then `to_decision`, and `parse_eval_answer` its
//!   decision;
//! - an accepted decision is one of [`foil_engine::legal_answers`] for the state (or a
//!   redirect with a null index, which the parser also takes), and
//!   [`foil_engine::apply`] accepts it in a non-terminal state;
//! - a parsed `EvalAnswer` serialised to JSON parses back to itself;
//! - an extraction keeps only the machine's declared keys, with non-empty values of at most
//!   500 characters (and a `…` where it cut).

#![no_main]

use std::sync::LazyLock;

use foil_engine::{
    apply, legal_answers, parse_eval_answer, parse_evaluation, parse_extraction, EvalAnswer,
    SessionState,
};
use foil_types::persona::{Limits, Machine, PersonaDocument};
use libfuzzer_sys::fuzz_target;

const DOCUMENT: &str = r#"{
  "persona": {"name": "Mack", "identity_prompt": "You are Mack, a grumpy barista."},
  "machines": [
    {
      "machine_key": "order", "name": "Order a coffee", "is_entry": true,
      "pass_threshold": 2, "fail_threshold": -3,
      "states": [
        {"state_key": "S0", "is_initial_state": true,
         "follow_up_condition": "the player has not said which drink"},
        {"state_key": "PAY"},
        {"state_key": "SERVED", "is_terminal_state": true},
        {"state_key": "OUT", "is_terminal_state": true}
      ],
      "transitions": [
        {"from_state_key": "S0", "to_state_key": "PAY", "decision_type": "pass",
         "condition": "orders a drink politely", "score_delta": 1, "priority": 2},
        {"from_state_key": "S0", "to_state_key": "S0", "decision_type": "redirect",
         "condition": "small talk", "score_delta": -1, "priority": 1},
        {"from_state_key": "S0", "to_state_key": "OUT", "decision_type": "kick_out",
         "condition": "insults the barista", "priority": 0},
        {"from_state_key": "PAY", "to_state_key": "SERVED", "decision_type": "pass",
         "condition": "pays", "score_delta": 2},
        {"from_state_key": "PAY", "to_state_key": "OUT", "decision_type": "reject",
         "condition": "refuses to pay", "score_delta": -5}
      ],
      "output_variables": [
        {"key": "favorite_drink", "extraction_prompt": "The drink the player ordered."},
        {"key": "player_mood", "extraction_prompt": "How the player seemed."},
        {"key": "tip_2", "extraction_prompt": "The tip, if any."}
      ]
    },
    {
      "machine_key": "name", "name": "Learn the name", "scoring_mode": "pass_fail",
      "states": [
        {"state_key": "ASK", "is_initial_state": true},
        {"state_key": "KNOWN", "is_terminal_state": true, "terminal_outcome": "ACCEPT"},
        {"state_key": "NOPE", "is_terminal_state": true, "terminal_outcome": "REJECT"}
      ],
      "transitions": [
        {"from_state_key": "ASK", "to_state_key": "KNOWN", "decision_type": "pass",
         "condition": "tells their name"},
        {"from_state_key": "ASK", "to_state_key": "NOPE", "decision_type": "reject",
         "condition": "refuses"}
      ],
      "output_variables": [
        {"key": "player_name", "extraction_prompt": "The player's name."}
      ]
    }
  ],
  "machine_links": [
    {"from_machine_key": "name", "to_machine_key": "order", "condition_type": "always"}
  ]
}"#;

static DOC: LazyLock<PersonaDocument> = LazyLock::new(|| {
    let doc = PersonaDocument::from_json(DOCUMENT.as_bytes()).expect("the fixed document parses");
    let errors = doc.validate(&Limits::default());
    assert!(errors.is_empty(), "the fixed document is valid: {errors:?}");
    doc
});

/// (machine, state) pairs the first byte chooses from; the last names no state.
const STATES: [(usize, &str); 8] = [
    (0, "S0"),
    (0, "PAY"),
    (0, "SERVED"),
    (0, "OUT"),
    (1, "ASK"),
    (1, "KNOWN"),
    (1, "NOPE"),
    (0, "NO_SUCH_STATE"),
];

fn check_evaluation(machine: &Machine, state_key: &str, text: &str) {
    let evaluation = parse_evaluation(machine, state_key, text);
    let stepwise = EvalAnswer::parse(text).and_then(|a| {
        a.to_decision(machine, state_key)
            .map(|d| (d, a.reason.clone()))
    });
    match (&evaluation, &stepwise) {
        (Ok(e), Ok((d, reason))) => {
            assert_eq!(e.decision, *d);
            let trimmed = reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string);
            assert_eq!(e.reason, trimmed);
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("parse_evaluation {evaluation:?} != parse + to_decision {stepwise:?}"),
    }
    assert_eq!(
        parse_eval_answer(machine, state_key, text),
        evaluation.clone().map(|e| e.decision)
    );

    if let Ok(answer) = EvalAnswer::parse(text) {
        let json = serde_json::to_string(&answer).expect("an EvalAnswer serialises");
        assert_eq!(
            EvalAnswer::parse(&json).as_ref(),
            Ok(&answer),
            "an EvalAnswer does not parse back from its own JSON {json}"
        );
    }

    if let Ok(e) = evaluation {
        // `redirect` with a null index is also accepted where the state has redirect
        // candidates ("no redirect candidate fits", eval_json_schema); legal_answers (the
        // narrowed schemas) lists it only where there is none.
        let pair = (e.decision.as_str(), e.decision.index());
        assert!(
            legal_answers(machine, state_key).contains(&pair) || pair == ("redirect", None),
            "accepted {pair:?} is not a legal answer in {state_key}"
        );
        let state = machine
            .state(state_key)
            .expect("accepted only in a real state");
        if !state.is_terminal_state {
            let session = SessionState {
                current_state: state_key.to_string(),
                score: 0,
                redirect_count: 0,
                outcome: None,
            };
            if let Err(error) = apply(machine, &session, e.decision) {
                panic!(
                    "apply refused the accepted decision {:?}: {error}",
                    e.decision
                );
            }
        }
    }
}

fn check_extraction(machine: &Machine, text: &str) {
    if let Ok(values) = parse_extraction(machine, text) {
        for (key, value) in &values {
            assert!(
                machine.output_variables.iter().any(|o| &o.key == key),
                "extracted an undeclared key {key:?}"
            );
            assert!(!value.is_empty(), "kept an empty value for {key}");
            // Cut to 500 characters, plus the `…` that marks the cut (text::truncate_chars).
            let chars = value.chars().count();
            assert!(
                chars <= 500 || (chars == 501 && value.ends_with('…')),
                "kept {chars} characters for {key}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    // The engine takes the model's text as a str; invalid UTF-8 becomes U+FFFD here.
    let text = String::from_utf8_lossy(rest);
    let (machine_index, state_key) = STATES[usize::from(selector) % STATES.len()];
    let machine = &DOC.machines[machine_index];
    check_evaluation(machine, state_key, &text);
    check_extraction(machine, &text);
});
