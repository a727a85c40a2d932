//! Persona documents read the same from YAML as from JSON (personas.md §1: "One JSON (or YAML)
//! document"), including unknown-key rejection and validation paths.

use foil_types::persona::{Limits, PersonaDocument};

const YAML: &str = r#"
persona:
  name: Mack
  identity_prompt: You are Mack.
machines:
  - machine_key: order
    name: Order
    is_entry: true
    states:
      - {state_key: S0, is_initial_state: true}
      - {state_key: END, is_terminal_state: true}
    transitions:
      - {from_state_key: S0, to_state_key: END, decision_type: pass, condition: orders}
machine_links:
  - {from_machine_key: order, to_machine_key: order, condition_type: score_gte, condition_value: 2}
"#;

#[test]
fn yaml_and_json_give_the_same_document() {
    let from_yaml: PersonaDocument = serde_yaml::from_str(YAML).unwrap();
    let json = serde_json::to_vec(&from_yaml).unwrap();
    let from_json = PersonaDocument::from_json(&json).unwrap();
    assert_eq!(from_yaml, from_json);
    assert_eq!(
        from_yaml.machine_links[0].condition_value,
        Some(serde_json::json!(2))
    );
}

#[test]
fn yaml_documents_are_validated_with_paths() {
    let doc: PersonaDocument = serde_yaml::from_str(YAML).unwrap();
    let issues = doc.validate(&Limits::default());
    assert_eq!(issues.len(), 1, "{issues:#?}");
    assert_eq!(issues[0].path, "machine_links[0].to_machine_key");
}

#[test]
fn unknown_yaml_keys_are_rejected() {
    let typo = YAML.replace("is_entry: true", "is_entyr: true");
    let err = serde_yaml::from_str::<PersonaDocument>(&typo).unwrap_err();
    assert!(err.to_string().contains("is_entyr"), "{err}");
}
