//! Every example persona played through the SDK routes with the offline provider, to every
//! outcome its playthroughs (`examples/personas/playthroughs/<stem>.json`) reach.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use foil_types::persona::PersonaDocument;
use serde::Deserialize;
use serde_json::Value;

use super::support::{machine_id_of, Player, UNLOCKED_MACHINE_KEYS};
use crate::common::{keys, sorted, Backend, TestApp};

crate::on_both_databases!(example_personas_play_to_every_outcome);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Playthrough {
    pub machine_key: String,
    pub outcome: String,
    pub messages: Vec<String>,
    #[serde(default)]
    pub unlocks: Vec<String>,
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/personas")
}

/// `(stem, document as JSON)` of every example persona; YAML is converted the way
/// `foil-server persona import` reads it.
pub(crate) fn example_documents() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples/personas")
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
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            let doc: Value = match path.extension().and_then(|e| e.to_str()) {
                Some("json") => serde_json::from_str(&text).unwrap(),
                _ => {
                    let doc: PersonaDocument = serde_yaml::from_str(&text)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    serde_json::to_value(doc).unwrap()
                }
            };
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, doc)
        })
        .collect()
}

pub(crate) fn playthroughs(stem: &str) -> Vec<Playthrough> {
    let path = examples_dir()
        .join("playthroughs")
        .join(format!("{stem}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Machine keys that are the target of some link.
fn link_targets(doc: &Value) -> BTreeSet<String> {
    doc["machine_links"]
        .as_array()
        .map(|links| {
            links
                .iter()
                .map(|l| l["to_machine_key"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// personas.md §4: entry machines, machines with no incoming link, and unlocked machines.
fn expected_available(doc: &Value, unlocked: &BTreeSet<String>) -> BTreeSet<String> {
    let targets = link_targets(doc);
    doc["machines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| {
            let key = m["machine_key"].as_str().unwrap().to_string();
            let entry = m["is_entry"].as_bool().unwrap_or(false);
            (entry || !targets.contains(&key) || unlocked.contains(&key)).then_some(key)
        })
        .collect()
}

async fn example_personas_play_to_every_outcome(backend: Backend) {
    let Some(app) = TestApp::new(backend).await else {
        return;
    };
    let docs = example_documents();
    assert!(docs.len() >= 6, "the six example personas are there");
    let token = app.signup("examples@example.com").await;
    let key = app.create_key(&token).await;
    let mut entries_played = 0;
    for (stem, doc) in &docs {
        let persona_id = app.save_persona(&token, doc).await;
        let plays = playthroughs(stem);
        assert!(!plays.is_empty(), "{stem} has playthroughs");
        let targets = link_targets(doc);
        let player = Player::sdk(&key, &persona_id, &format!("player-{stem}"));
        let mut unlocked: BTreeSet<String> = BTreeSet::new();
        // machine key → outcome of the player's latest session on it.
        let mut played: BTreeMap<String, String> = BTreeMap::new();
        for (n, play) in plays.iter().enumerate() {
            let ctx = format!(
                "{stem} playthrough #{n} ({} → {})",
                play.machine_key, play.outcome
            );
            let machines = player.machines(&app).await;
            let machine_id = machine_id_of(&machines, &play.machine_key)
                .unwrap_or_else(|| panic!("{ctx}: machine not listed in {machines:?}"));
            let player = player.clone().on_machine(Some(&machine_id));

            let init = player.init(&app).await;
            assert_eq!(init["machine_id"], machine_id.as_str(), "{ctx}");
            assert!(
                init["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{ctx}: a greeting"
            );
            let last = play.messages.len() - 1;
            let mut final_response = Value::Null;
            for (i, message) in play.messages.iter().enumerate() {
                let res = player.say(&app, message).await;
                assert_eq!(res["session_id"], init["session_id"], "{ctx}");
                assert!(
                    res["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{ctx}: a reply"
                );
                if i < last {
                    assert_eq!(
                        res["outcome"],
                        Value::Null,
                        "{ctx}: ended early at #{i}: {res}"
                    );
                    assert_eq!(res["machine_completed"], false, "{ctx}: #{i}");
                    assert_eq!(res["unlocked_machines"], serde_json::json!([]), "{ctx}");
                    continue;
                }
                assert_eq!(res["outcome"], play.outcome.as_str(), "{ctx}: {res}");
                assert_eq!(res["machine_completed"], true, "{ctx}");
                let got: Vec<&str> = res["unlocked_machines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["machine_key"].as_str().unwrap())
                    .collect();
                assert_eq!(got, play.unlocks, "{ctx}: unlocked machines");
                final_response = res;
            }
            // The stored conversation: the greeting, then one exchange per message.
            let history = player.history(&app).await;
            assert_eq!(
                history["messages"].as_array().unwrap().len(),
                1 + 2 * play.messages.len(),
                "{ctx}"
            );
            assert_eq!(history["outcome"], play.outcome.as_str(), "{ctx}");
            let status = player.status(&app).await;
            assert_eq!(status["outcome"], play.outcome.as_str(), "{ctx}");
            assert_eq!(status["machine_id"], machine_id.as_str(), "{ctx}");
            // A finished session takes no more messages.
            let again = app.send(player.message_request("one more thing")).await;
            again.assert_error(axum::http::StatusCode::CONFLICT, "session_ended");

            unlocked.extend(play.unlocks.iter().cloned());
            played.insert(play.machine_key.clone(), play.outcome.clone());

            // What the player can play now, and what they did.
            let machines = player.machines(&app).await;
            let listed: BTreeSet<String> = machines
                .iter()
                .map(|m| m["machine_key"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(
                listed,
                expected_available(doc, &unlocked),
                "{ctx}: machines"
            );
            for u in final_response["unlocked_machines"].as_array().unwrap() {
                assert_eq!(keys(u), sorted(&UNLOCKED_MACHINE_KEYS), "{ctx}");
                let mk = u["machine_key"].as_str().unwrap();
                assert_eq!(
                    machine_id_of(&machines, mk).as_deref(),
                    u["machine_id"].as_str(),
                    "{ctx}: the unlocked {mk} is listed under the same id"
                );
                assert_eq!(
                    u["is_auto_advance"],
                    auto_advance(doc, &play.machine_key, mk),
                    "{ctx}"
                );
            }
            for m in &machines {
                let mk = m["machine_key"].as_str().unwrap();
                assert_eq!(
                    m["has_session"],
                    played.contains_key(mk),
                    "{ctx}: has_session of {mk}"
                );
                assert_eq!(
                    m["session_outcome"],
                    played
                        .get(mk)
                        .map_or(Value::Null, |o| Value::from(o.as_str())),
                    "{ctx}: session_outcome of {mk}"
                );
                assert_eq!(
                    m["is_linked"],
                    targets.contains(mk),
                    "{ctx}: is_linked of {mk}"
                );
            }
            entries_played += 1;
        }
        // Every machine the playthroughs unlock ends up listed.
        let machines = player.machines(&app).await;
        for key in &unlocked {
            assert!(
                machine_id_of(&machines, key).is_some(),
                "{stem}: unlocked {key} is listed"
            );
        }
    }
    assert!(entries_played >= 30, "played {entries_played} entries");
}

/// Whether a link from `from` to `to` is auto-advance.
fn auto_advance(doc: &Value, from: &str, to: &str) -> bool {
    doc["machine_links"].as_array().is_some_and(|links| {
        links.iter().any(|l| {
            l["from_machine_key"] == from
                && l["to_machine_key"] == to
                && l["is_auto_advance"].as_bool().unwrap_or(false)
        })
    })
}
