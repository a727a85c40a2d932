//! The example personas in `examples/personas/` are valid documents, and their playthroughs
//! (`examples/personas/playthroughs/<stem>.json`) drive every machine to every outcome it can
//! reach, using only the offline provider.
//!
//! A playthrough file is a JSON list of
//! `{"machine_key", "outcome": "ACCEPT"|"REJECT"|"KICK_OUT", "messages": [..], "unlocks": [..]}`
//! (`unlocks` optional, default none). Entries run in file order; each starts a fresh session
//! and must end exactly at its last message with `outcome`, unlocking exactly the machines in
//! `unlocks` (in document order of the links). A machine that a link leads to may only be
//! played once an earlier entry unlocked it.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::path::{Path, PathBuf};

use foil_engine::{
    apply, available_machines, candidates, fill_template, fired_links, offline_evaluate,
    offline_extract, offline_reply, Decision, PromptMessage, SessionState, TemplateVars,
};
use foil_types::persona::{Limits, Machine, Outcome, PersonaDocument};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Playthrough {
    machine_key: String,
    outcome: Outcome,
    messages: Vec<String>,
    #[serde(default)]
    unlocks: Vec<String>,
}

const EXPECTED_FILES: [&str; 6] = [
    "grumpy_barista.json",
    "tavern_keeper.json",
    "potion_seller.json",
    "guard_at_the_gate.yaml",
    "socialite_host.json",
    "wandering_merchant.json",
];

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/personas")
}

/// Every persona document in the examples directory, with its file stem.
fn load_all() -> Vec<(String, PersonaDocument)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples/personas exists")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("json" | "yaml" | "yml")
                )
        })
        .collect();
    files.sort();
    let names: HashSet<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in EXPECTED_FILES {
        assert!(names.contains(expected), "missing example {expected}");
    }
    files
        .iter()
        .map(|path| {
            let text = std::fs::read(path).unwrap();
            let doc = match path.extension().and_then(|e| e.to_str()) {
                Some("json") => PersonaDocument::from_json(&text),
                _ => serde_yaml::from_slice::<PersonaDocument>(&text).map_err(|e| e.to_string()),
            }
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, doc)
        })
        .collect()
}

fn load_playthroughs(stem: &str) -> Vec<Playthrough> {
    let path = examples_dir()
        .join("playthroughs")
        .join(format!("{stem}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every outcome a machine can end with, found by exploring every decision the evaluator may
/// give (each candidate, a bare redirect) from every reachable state and score. Scores are
/// explored within ±200, far beyond any example's thresholds.
fn reachable_outcomes(machine: &Machine) -> BTreeSet<&'static str> {
    let mut outcomes = BTreeSet::new();
    let start = SessionState::initial(machine).expect("initial state");
    let mut seen = HashSet::new();
    let mut queue = VecDeque::from([start]);
    while let Some(s) = queue.pop_front() {
        if !seen.insert((s.current_state.clone(), s.score)) || s.score.abs() > 200 {
            continue;
        }
        let cands = candidates(machine, &s.current_state);
        let decisions = cands
            .iter()
            .enumerate()
            .map(|(i, t)| Decision::for_transition(t.decision_type, i))
            .chain([Decision::Redirect { index: None }]);
        for d in decisions {
            let next = apply(machine, &s, d)
                .expect("every candidate applies")
                .session;
            match next.outcome {
                Some(o) => {
                    outcomes.insert(o.as_str());
                }
                None => queue.push_back(SessionState {
                    redirect_count: 0,
                    ..next
                }),
            }
        }
    }
    outcomes
}

/// Names between `{{` and `}}` in `text`.
fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else { break };
        out.push(after[..close].trim().to_string());
        rest = &after[close + 2..];
    }
    out
}

#[test]
fn examples_are_valid_published_and_use_known_templates() {
    for (stem, doc) in load_all() {
        assert_eq!(
            doc.validate(&Limits::default()),
            vec![],
            "{stem} has validation issues"
        );
        assert!(doc.persona.is_published && doc.persona.is_public, "{stem}");
        // Every placeholder names something that exists: a typo would silently fill as "".
        let mut known: HashSet<String> =
            HashSet::from(["player_name".to_string(), "player_gender".to_string()]);
        known.extend(doc.variables.iter().map(|v| format!("var.{}", v.key)));
        for m in &doc.machines {
            known.extend(m.output_variables.iter().map(|o| format!("var.{}", o.key)));
        }
        let text = serde_json::to_string(&doc).unwrap();
        for p in placeholders(&text) {
            assert!(known.contains(&p), "{stem}: unknown template {{{{{p}}}}}");
        }
    }
}

#[test]
fn playthroughs_reach_every_outcome_offline() {
    for (stem, doc) in load_all() {
        let plays = load_playthroughs(&stem);
        let defaults = TemplateVars::new("Ada", "female").with_persona_defaults(&doc);
        let mut unlocked: Vec<String> = Vec::new();
        let mut covered: HashSet<(String, &'static str)> = HashSet::new();
        for (n, play) in plays.iter().enumerate() {
            let ctx = format!("{stem} playthrough #{n} ({})", play.machine_key);
            let machine = doc
                .machine(&play.machine_key)
                .unwrap_or_else(|| panic!("{ctx}: no such machine"));
            assert!(
                available_machines(&doc, &unlocked)
                    .iter()
                    .any(|m| m.machine_key == play.machine_key),
                "{ctx}: the machine is not available yet; play what unlocks it first"
            );
            let mut session = SessionState::initial(machine).unwrap();
            let mut history = Vec::new();
            for (i, message) in play.messages.iter().enumerate() {
                assert!(
                    !session.is_ended(),
                    "{ctx}: ended with {:?} before message {i} {message:?}",
                    session.outcome
                );
                let decision = offline_evaluate(machine, &session.current_state, message);
                let turn = apply(machine, &session, decision)
                    .unwrap_or_else(|e| panic!("{ctx}: message {i}: {e}"));
                let state = machine.state(&turn.session.current_state).unwrap();
                let reply =
                    offline_reply(&doc.persona.name, state, Some(&turn.happened), &defaults);
                assert!(
                    !reply.contains("{{"),
                    "{ctx}: unfilled template in {reply:?}"
                );
                history.push(PromptMessage::user(message.clone()));
                history.push(PromptMessage::assistant(reply));
                session = turn.session;
            }
            assert_eq!(
                session.outcome,
                Some(play.outcome),
                "{ctx}: expected {} (state {}, score {})",
                play.outcome.as_str(),
                session.current_state,
                session.score
            );
            let unlocks: Vec<String> =
                fired_links(&doc, &machine.machine_key, play.outcome, session.score)
                    .iter()
                    .map(|l| l.to_machine_key.clone())
                    .collect();
            assert_eq!(unlocks, play.unlocks, "{ctx}: unlocked machines");
            if !unlocks.is_empty() {
                // What a later machine reads through {{var.KEY}} must be there to read.
                let extracted = offline_extract(machine, &history);
                for o in &machine.output_variables {
                    assert!(
                        extracted.get(&o.key).is_some_and(|v| !v.is_empty()),
                        "{ctx}: nothing extracted for {}",
                        o.key
                    );
                }
                let vars = defaults.clone().with_vars(extracted);
                for key in &unlocks {
                    let next = doc.machine(key).unwrap();
                    let first = next.initial_state().unwrap();
                    assert!(!fill_template(&first.prompt_instruction, &vars).contains("{{"));
                }
            }
            unlocked.extend(unlocks);
            covered.insert((play.machine_key.clone(), play.outcome.as_str()));
        }
        for m in &doc.machines {
            for outcome in reachable_outcomes(m) {
                assert!(
                    covered.contains(&(m.machine_key.clone(), outcome)),
                    "{stem}: no playthrough ends {} with {outcome}",
                    m.machine_key
                );
            }
        }
    }
}

#[test]
fn reachability_explorer_finds_what_it_should() {
    // Guards the coverage check above against passing vacuously.
    let (_, doc) = load_all()
        .into_iter()
        .find(|(stem, _)| stem == "grumpy_barista")
        .unwrap();
    let got = reachable_outcomes(&doc.machines[0]);
    assert_eq!(
        got,
        BTreeSet::from([
            Outcome::Accept.as_str(),
            Outcome::Reject.as_str(),
            Outcome::KickOut.as_str()
        ])
    );
}
