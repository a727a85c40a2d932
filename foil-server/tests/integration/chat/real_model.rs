//! Every example persona's playthroughs played on a **real** model (issue 15): an
//! OpenAI-compatible server such as llama.cpp's, configured as the custom provider `local`.
//! Opt-in and slow, so never part of the default run: `scripts/real-model-check` starts
//! llama-cpp-python with SmolLM2 and runs this test in release mode with
//!
//! - `FOIL_TEST_REAL_MODEL=1`
//! - `FOIL_REAL_MODEL_BASE_URL` (e.g. `http://127.0.0.1:8091/v1`), `FOIL_REAL_MODEL` (the
//!   model name that server knows), optional `FOIL_REAL_MODEL_STRUCTURED` (a dialect; default:
//!   the OpenAI default, so the step down to what the server takes is exercised too).
//!
//! What a model says is not predictable; what must hold whatever it says is asserted: every
//! response 200 with the exact key sets, only legal transitions, non-empty replies, deltas that
//! add up to `done.message`, evaluator failures handled by the documented fallback. A report
//! per persona is printed (turns, outcomes, evaluator answers valid at first try / after the
//! retry / fallen back, reply length, p50 turn time).

use std::collections::BTreeSet;
use std::time::Instant;

use foil_server::config::ProviderSettings;
use serde_json::Value;

use super::examples::{example_documents, playthroughs};
use super::support::{machine_id_of, Player, CHAT_RESPONSE_KEYS};
use crate::common::{keys, parse_sse, sorted, Backend, TestApp, TestRequest, TestResponse};

struct Settings {
    base_url: String,
    model: String,
    structured: Option<String>,
}

fn settings() -> Option<Settings> {
    if std::env::var("FOIL_TEST_REAL_MODEL").ok().as_deref() != Some("1") {
        eprintln!(
            "SKIP: real-model check: set FOIL_TEST_REAL_MODEL=1 (see scripts/real-model-check)"
        );
        return None;
    }
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| panic!("FOIL_TEST_REAL_MODEL=1 needs {name}"))
    };
    Some(Settings {
        base_url: var("FOIL_REAL_MODEL_BASE_URL"),
        model: var("FOIL_REAL_MODEL"),
        structured: std::env::var("FOIL_REAL_MODEL_STRUCTURED").ok(),
    })
}

/// Sum of a Prometheus counter/histogram-count's samples whose labels contain every `labels`.
fn metric_sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Whether moving from `from` to `to` with `decision` is a legal step of `machine`
/// (personas.md §2 step 3).
fn legal_step(machine: &Value, from: &str, to: &str, decision: &str) -> bool {
    if from == to {
        return true;
    }
    let transitions = machine["transitions"].as_array().unwrap();
    let from_here = |t: &&Value| t["from_state_key"] == from;
    if transitions
        .iter()
        .filter(from_here)
        .any(|t| t["to_state_key"] == to)
    {
        return true;
    }
    // Reject in scoring mode goes to the target of the state's first pass transition.
    decision == "reject"
        && transitions
            .iter()
            .filter(from_here)
            .filter(|t| t["decision_type"] == "pass")
            .min_by_key(|t| t["priority"].as_i64().unwrap_or(0))
            .is_some_and(|t| t["to_state_key"] == to)
}

#[derive(Default)]
struct Report {
    turns: usize,
    outcomes_reached: usize,
    outcomes_expected: usize,
    not_playable: usize,
    evals: f64,
    fallbacks: usize,
    reply_chars: Vec<usize>,
    turn_ms: Vec<u128>,
}

impl Report {
    fn line(&self, stem: &str) -> String {
        let retried = (self.evals - self.turns as f64).max(0.0) as usize;
        let mut lengths = self.reply_chars.clone();
        lengths.sort_unstable();
        let mut times = self.turn_ms.clone();
        times.sort_unstable();
        let p50 = |v: &[u128]| v.get(v.len() / 2).copied().unwrap_or(0);
        format!(
            "| {stem} | {} | {}/{} | {} | {} | {} | {} | {} | {} ms |",
            self.turns,
            self.outcomes_reached,
            self.outcomes_expected,
            self.not_playable,
            self.turns.saturating_sub(retried),
            retried.saturating_sub(self.fallbacks),
            self.fallbacks,
            lengths.get(lengths.len() / 2).copied().unwrap_or(0),
            p50(&times),
        )
    }
}

/// SQLite only: the model, not the database, is what this checks.
#[tokio::test]
async fn example_personas_on_a_real_model() {
    let Some(settings) = settings() else { return };
    let Some(app) = TestApp::with_config(Backend::Sqlite, |c| {
        c.providers.insert(
            "local".into(),
            ProviderSettings {
                kind: Some("openai".into()),
                base_url: Some(settings.base_url.clone()),
                api_key: Some("local-model-needs-no-key".into()),
                structured: settings.structured.clone(),
            },
        );
        c.default_model = format!("local/{}", settings.model);
        c.llm_timeout_secs = 180;
        // A game's dialogue line, not an essay: small models otherwise ramble to the limit.
        c.llm_max_tokens_reply = 160;
        // The script runs llama.cpp with a 4096-token context: leave room for the answer.
        c.llm_max_prompt_tokens = 3000;
        c.rate_limit.enabled = false;
    })
    .await
    else {
        return;
    };
    let token = app.signup("real-model@example.com").await;
    let key = app.create_key(&token).await;
    let mut table = vec![
        "| persona | turns | outcome as scripted | not unlocked | evaluator valid at first try | after retry | fallen back | reply chars p50 | turn p50 |".to_string(),
        "|---|---|---|---|---|---|---|---|---|".to_string(),
    ];
    let mut total_fallbacks = 0;
    for (stem, doc) in example_documents() {
        let persona_id = app.save_persona(&token, &doc).await;
        let mut report = Report::default();
        let evals_before = eval_calls(&app).await;
        let player = Player::sdk(&key, &persona_id, &format!("real-{stem}"));
        for (n, play) in playthroughs(&stem).iter().enumerate() {
            let ctx = format!("{stem} #{n} ({} → {})", play.machine_key, play.outcome);
            report.outcomes_expected += 1;
            let machines = player.machines(&app).await;
            // A real model may not reach the outcome that unlocks the next scenario.
            let Some(machine_id) = machine_id_of(&machines, &play.machine_key) else {
                report.not_playable += 1;
                eprintln!("{ctx}: not unlocked by the earlier playthroughs; skipped");
                continue;
            };
            let machine = doc["machines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["machine_key"] == play.machine_key.as_str())
                .unwrap();
            let player = player.clone().on_machine(Some(&machine_id));
            // Start over if an earlier playthrough already played this scenario.
            let _ = app.send(player.reset_request()).await;
            let init = player.init(&app).await;
            assert!(
                init["message"]
                    .as_str()
                    .is_some_and(|m| !m.trim().is_empty()),
                "{ctx}: a greeting"
            );
            let mut state = machine["states"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["is_initial_state"] == true)
                .and_then(|s| s["state_key"].as_str())
                .unwrap()
                .to_string();
            let mut outcome = Value::Null;
            for (i, message) in play.messages.iter().enumerate() {
                let started = Instant::now();
                // Alternate: the plain route and the stream.
                let done = if i % 2 == 0 {
                    let res = app.send(player.message_request(message)).await;
                    assert_eq!(res.status.as_u16(), 200, "{ctx} #{i}: {}", res.text);
                    res.json()
                } else {
                    let res = app.send(player.stream_request(message)).await;
                    check_real_stream(&res, &ctx)
                };
                report.turn_ms.push(started.elapsed().as_millis());
                report.turns += 1;
                assert_eq!(
                    keys(&done),
                    sorted(&CHAT_RESPONSE_KEYS),
                    "{ctx} #{i}: {done}"
                );
                let reply = done["message"].as_str().unwrap_or_default();
                assert!(!reply.trim().is_empty(), "{ctx} #{i}: an empty reply");
                report.reply_chars.push(reply.chars().count());
                let next = done["current_state"].as_str().unwrap().to_string();
                let decision = done["decision"].as_str().unwrap_or_default();
                assert!(
                    legal_step(machine, &state, &next, decision),
                    "{ctx} #{i}: {state} → {next} ({decision}) is not a transition"
                );
                state = next;
                outcome = done["outcome"].clone();
                if !outcome.is_null() {
                    break;
                }
            }
            if outcome == play.outcome.as_str() {
                report.outcomes_reached += 1;
            }
        }
        report.evals = eval_calls(&app).await - evals_before;
        report.fallbacks = fallbacks(&app, &token, &persona_id).await;
        total_fallbacks += report.fallbacks;
        table.push(report.line(&stem));
    }
    println!(
        "\nReal model: {} at {}\n",
        settings.model, settings.base_url
    );
    println!("{}", table.join("\n"));
    println!("\nevaluator fallbacks in total: {total_fallbacks}");
}

/// A streamed turn: metadata, text deltas that add up to `done.message`, done — and nothing
/// else (a reply replaced by the fallback line arrives as one delta).
fn check_real_stream(res: &TestResponse, ctx: &str) -> Value {
    assert_eq!(res.status.as_u16(), 200, "{ctx}: {}", res.text);
    let events = parse_sse(&res.text);
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert!(names.len() >= 3, "{ctx}: {names:?}");
    assert_eq!(names[0], "metadata", "{ctx}: {names:?}");
    assert_eq!(
        names[names.len() - 1],
        "done",
        "{ctx}: {names:?}: {}",
        res.text
    );
    let mut text = String::new();
    for e in &events[1..events.len() - 1] {
        assert_eq!(e.event, "text_delta", "{ctx}: {names:?}");
        text.push_str(e.data["text"].as_str().unwrap());
    }
    let done = events.last().unwrap().data.clone();
    assert_eq!(
        done["message"],
        text.as_str(),
        "{ctx}: deltas add up to done.message"
    );
    done
}

/// Evaluator calls made so far (each turn makes one, two when the answer was retried).
async fn eval_calls(app: &TestApp) -> f64 {
    let text = app.send(TestRequest::get("/metrics")).await.text;
    metric_sum(
        &text,
        "foil_llm_call_seconds_count",
        &["provider=\"local\"", "step=\"eval\""],
    )
}

/// Player messages of the persona whose stored evaluator reason is the documented fallback.
async fn fallbacks(app: &TestApp, token: &str, persona_id: &str) -> usize {
    let list = app
        .send(
            TestRequest::get(&format!("/api/v1/personas/{persona_id}/sessions?limit=100"))
                .bearer(token),
        )
        .await
        .json();
    let mut count = 0;
    let mut seen = BTreeSet::new();
    for s in list["sessions"].as_array().unwrap() {
        let id = s["session_id"].as_str().unwrap().to_string();
        if !seen.insert(id.clone()) {
            continue;
        }
        let detail = app
            .send(
                TestRequest::get(&format!("/api/v1/personas/{persona_id}/sessions/{id}"))
                    .bearer(token),
            )
            .await
            .json();
        count += detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| {
                m["evaluator_reason"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("fallback:"))
            })
            .count();
    }
    count
}

#[test]
fn legal_steps_follow_the_machine() {
    let machine = serde_json::json!({"transitions": [
        {"from_state_key": "A", "to_state_key": "B", "decision_type": "pass", "priority": 0},
        {"from_state_key": "A", "to_state_key": "X", "decision_type": "kick_out", "priority": 1}
    ]});
    assert!(legal_step(&machine, "A", "A", "redirect"));
    assert!(legal_step(&machine, "A", "B", "pass"));
    assert!(legal_step(&machine, "A", "X", "kick_out"));
    assert!(legal_step(&machine, "A", "B", "reject"));
    assert!(!legal_step(&machine, "B", "A", "pass"));
    assert_eq!(
        metric_sum(
            "foil_llm_call_seconds_count{provider=\"local\",step=\"eval\",outcome=\"ok\"} 3\nfoil_llm_call_seconds_count{provider=\"local\",step=\"eval\",outcome=\"error\"} 1\nfoil_llm_call_seconds_count{provider=\"local\",step=\"response\",outcome=\"ok\"} 9",
            "foil_llm_call_seconds_count",
            &["provider=\"local\"", "step=\"eval\""]
        ),
        4.0
    );
}
