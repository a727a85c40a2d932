//! Persona documents from untrusted bytes, as `POST /api/v1/creator/save` and
//! `foil-server persona import` read them: [`PersonaDocument::from_json`] (JSON) and
//! `serde_yaml::from_str` (`.yaml`/`.yml` files, `foil_server::server::read_persona_file`),
//! then [`PersonaDocument::review`] / [`PersonaDocument::validate`].
//!
//! Every input is tried as both JSON and YAML. Invariants for each document that parses:
//! - review and validate agree, under the default limits and under tight ones, and tighter
//!   limits never find fewer problems (nor other warnings);
//! - dropping the server-assigned ids changes nothing in the review;
//! - a valid document serialises to JSON that parses back to the same document with the same
//!   review (what `persona export` then `persona import` does); an invalid one that parses
//!   back keeps its review too.

#![no_main]

use foil_types::persona::{Limits, PersonaDocument};
use libfuzzer_sys::fuzz_target;

fn tight_limits() -> Limits {
    Limits {
        max_machines: 1,
        max_states_per_machine: 2,
        max_transitions_per_machine: 2,
        max_prompt_chars: 16,
        max_name_chars: 4,
    }
}

fn check(doc: PersonaDocument, source: &str) {
    let limits = Limits::default();
    let review = doc.review(&limits);
    assert_eq!(
        doc.validate(&limits),
        review.errors,
        "{source}: validate != review.errors"
    );
    let tight = tight_limits();
    let tight_review = doc.review(&tight);
    assert_eq!(doc.validate(&tight), tight_review.errors);
    // Each limit only adds problems when lowered, and warnings do not depend on limits.
    assert!(
        tight_review.errors.len() >= review.errors.len(),
        "{source}: tighter limits found fewer problems: {:?} vs {:?}",
        tight_review.errors,
        review.errors
    );
    assert_eq!(
        tight_review.warnings, review.warnings,
        "{source}: warnings depend on limits"
    );

    let without_ids = doc.clone().without_ids();
    assert_eq!(
        without_ids.review(&limits),
        review,
        "{source}: ids changed the review"
    );

    let json = serde_json::to_vec(&doc).expect("a parsed persona document serialises");
    match PersonaDocument::from_json(&json) {
        Ok(again) => {
            assert_eq!(
                again.review(&limits),
                review,
                "{source}: the JSON round trip changed the review\n{}",
                String::from_utf8_lossy(&json)
            );
            if review.errors.is_empty() {
                assert_eq!(
                    again,
                    doc,
                    "{source}: the JSON round trip changed a valid document\n{}",
                    String::from_utf8_lossy(&json)
                );
            }
        }
        Err(e) => assert!(
            !review.errors.is_empty(),
            "{source}: a valid document does not parse back from its own JSON: {e}\n{}",
            String::from_utf8_lossy(&json)
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = PersonaDocument::from_json(data) {
        check(doc, "json");
    }
    // read_persona_file reads the file as UTF-8 text first.
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(doc) = serde_yaml::from_str::<PersonaDocument>(text) {
            check(doc, "yaml");
        }
    }
});
