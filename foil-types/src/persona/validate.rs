//! Semantic validation of a persona document (personas.md §1.4).
//!
//! Parsing (serde) already rejects unknown keys and wrong types; this module checks the rules a
//! type cannot express. Every problem is reported, not just the first, so a creator can fix a
//! document in one round trip; each issue names its path in the document.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use super::{LinkConditionType, Machine, PersonaDocument, ScoringMode};

/// One problem in a persona document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ValidationIssue {
    /// Where the problem is, e.g. `machines[0].transitions[2].to_state_key`.
    pub path: String,
    /// What is wrong there, as a human-readable sentence.
    pub message: String,
}

/// Size bounds for persona documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most machines in one document (default 50).
    pub max_machines: usize,
    /// Most states in one machine (default 200).
    pub max_states_per_machine: usize,
    /// Most transitions in one machine (default 1,000).
    pub max_transitions_per_machine: usize,
    /// Most characters (not bytes) in one text field, e.g. a prompt (default 20,000).
    pub max_prompt_chars: usize,
    /// Most characters in the persona's name (default 100).
    pub max_name_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_machines: 50,
            max_states_per_machine: 200,
            max_transitions_per_machine: 1000,
            max_prompt_chars: 20_000,
            max_name_chars: 100,
        }
    }
}

/// Largest editor canvas coordinate of a state's `position`, either way from the origin.
const MAX_CANVAS_COORDINATE: f64 = 1_000_000.0;

/// Longest `machine_key`.
const MAX_MACHINE_KEY_CHARS: usize = 64;

/// What a document check found: errors make the document unacceptable; warnings name
/// something that is accepted but ignored or surprising, so the author can tidy it up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Review {
    /// Problems that make the document unacceptable.
    pub errors: Vec<ValidationIssue>,
    /// Things that are accepted but ignored or surprising.
    pub warnings: Vec<ValidationIssue>,
}

/// Collects issues while walking the document.
struct Issues<'l> {
    limits: &'l Limits,
    list: Vec<ValidationIssue>,
    warnings: Vec<ValidationIssue>,
}

impl Issues<'_> {
    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(ValidationIssue {
            path: path.into(),
            message: message.into(),
        });
    }

    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.list.push(ValidationIssue {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Required text: present, not blank, and within the prompt size bound.
    fn required_text(&mut self, path: String, value: &str, what: &str) {
        if value.trim().is_empty() {
            self.push(path, format!("{what} must not be empty"));
        } else {
            self.text(path, Some(value));
        }
    }

    /// Optional text: within the prompt size bound when present. Counts characters, not bytes,
    /// so the limit means the same for every script.
    fn text(&mut self, path: String, value: Option<&str>) {
        let max = self.limits.max_prompt_chars;
        if let Some(v) = value {
            let n = v.chars().count();
            if n > max {
                self.push(path, format!("is {n} characters long; the limit is {max}"));
            }
        }
    }
}

/// `[a-z0-9_]+`
fn is_key(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub(super) fn review(doc: &PersonaDocument, limits: &Limits) -> Review {
    let mut issues = Issues {
        limits,
        list: Vec::new(),
        warnings: Vec::new(),
    };
    validate_persona(doc, &mut issues);

    let machines = &doc.machines;
    if machines.is_empty() {
        issues.push("machines", "a persona needs at least one machine");
    } else {
        if machines.len() > limits.max_machines {
            issues.push(
                "machines",
                format!(
                    "has {} machines; the limit is {}",
                    machines.len(),
                    limits.max_machines
                ),
            );
        }
        if !machines.iter().any(|m| m.is_entry) {
            issues.push(
                "machines",
                "at least one machine must have is_entry: true (the player needs a place to start)",
            );
        }
    }

    let mut first_with_key: HashMap<&str, usize> = HashMap::new();
    for (i, m) in machines.iter().enumerate() {
        let path = format!("machines[{i}]");
        let key = &m.machine_key;
        let key_chars = key.chars().count();
        if !is_key(key) || key_chars > MAX_MACHINE_KEY_CHARS {
            issues.push(
                format!("{path}.machine_key"),
                format!(
                    "{key:?} is not a valid machine key: use 1 to {MAX_MACHINE_KEY_CHARS} of a-z, 0-9 and _"
                ),
            );
        }
        match first_with_key.get(key.as_str()) {
            Some(first) => issues.push(
                format!("{path}.machine_key"),
                format!("machine key {key:?} is already used by machines[{first}]"),
            ),
            None => {
                first_with_key.insert(key, i);
            }
        }
        validate_machine(m, &path, &mut issues);
    }

    for (i, link) in doc.machine_links.iter().enumerate() {
        let path = format!("machine_links[{i}]");
        for (field, key) in [
            ("from_machine_key", &link.from_machine_key),
            ("to_machine_key", &link.to_machine_key),
        ] {
            if doc.machine(key).is_none() {
                issues.push(
                    format!("{path}.{field}"),
                    format!("there is no machine with key {key:?}"),
                );
            }
        }
        if link.from_machine_key == link.to_machine_key {
            issues.push(
                format!("{path}.to_machine_key"),
                "a link cannot lead from a machine to itself",
            );
        }
        if let Some(problem) = condition_value_problem(link.condition_type, &link.condition_value) {
            issues.push(format!("{path}.condition_value"), problem);
        }
    }

    Review {
        errors: issues.list,
        warnings: issues.warnings,
    }
}

fn validate_persona(doc: &PersonaDocument, issues: &mut Issues) {
    let p = &doc.persona;
    let max_name = issues.limits.max_name_chars;
    if p.name.trim().is_empty() {
        issues.push("persona.name", "the persona name must not be empty");
    } else if p.name.chars().count() > max_name {
        issues.push(
            "persona.name",
            format!(
                "is {} characters long; the limit is {max_name}",
                p.name.chars().count()
            ),
        );
    }
    issues.text("persona.description".into(), p.description.as_deref());
    issues.required_text(
        "persona.identity_prompt".into(),
        &p.identity_prompt,
        "the identity prompt",
    );

    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, v) in doc.variables.iter().enumerate() {
        let path = format!("variables[{i}]");
        check_variable_key(
            &v.key,
            &format!("{path}.key"),
            &mut seen,
            "variables",
            i,
            issues,
        );
        issues.text(format!("{path}.default_value"), v.default_value.as_deref());
        issues.text(format!("{path}.description"), v.description.as_deref());
    }
}

/// Variable keys end up in `{{var.KEY}}`, so they follow the machine-key alphabet.
fn check_variable_key<'d>(
    key: &'d str,
    path: &str,
    seen: &mut HashMap<&'d str, usize>,
    list: &str,
    index: usize,
    issues: &mut Issues,
) {
    if !is_key(key) {
        issues.push(
            path,
            format!("{key:?} is not a valid variable key: use a-z, 0-9 and _"),
        );
    }
    match seen.get(key) {
        Some(first) => issues.push(
            path,
            format!("variable key {key:?} is already used by {list}[{first}]"),
        ),
        None => {
            seen.insert(key, index);
        }
    }
}

fn validate_machine(m: &Machine, path: &str, issues: &mut Issues) {
    let limits = issues.limits;
    issues.required_text(format!("{path}.name"), &m.name, "the machine name");
    for (field, value) in [
        ("description", &m.description),
        ("creator_objective", &m.creator_objective),
        ("creator_win_condition", &m.creator_win_condition),
        ("creator_lose_condition", &m.creator_lose_condition),
        ("chat_system_prompt", &m.chat_system_prompt),
        ("system_evaluation_prompt", &m.system_evaluation_prompt),
        (
            "system_summarization_prompt",
            &m.system_summarization_prompt,
        ),
    ] {
        issues.text(format!("{path}.{field}"), value.as_deref());
    }

    match m.scoring_mode {
        ScoringMode::Scoring => {
            if let (Some(fail), Some(pass)) = (m.fail_threshold, m.pass_threshold) {
                if fail >= pass {
                    issues.push(
                        format!("{path}.fail_threshold"),
                        format!(
                            "fail_threshold ({fail}) must be lower than pass_threshold ({pass})"
                        ),
                    );
                }
            }
        }
        ScoringMode::PassFail => {
            // Exports carry the default thresholds on every scenario, pass_fail ones included:
            // accepted and kept (a switch back to scoring finds them), but they do nothing here.
            for (field, value) in [
                ("pass_threshold", m.pass_threshold),
                ("fail_threshold", m.fail_threshold),
            ] {
                if value.is_some() {
                    issues.warn(
                        format!("{path}.{field}"),
                        format!("{field} is ignored in pass_fail mode (the terminal state's terminal_outcome decides); remove it or use scoring_mode \"scoring\""),
                    );
                }
            }
        }
    }

    // States.
    let states = &m.states;
    if states.is_empty() {
        issues.push(
            format!("{path}.states"),
            "a machine needs at least one state",
        );
    } else {
        if states.len() > limits.max_states_per_machine {
            issues.push(
                format!("{path}.states"),
                format!(
                    "has {} states; the limit is {}",
                    states.len(),
                    limits.max_states_per_machine
                ),
            );
        }
        let initial: Vec<usize> = (0..states.len())
            .filter(|&j| states[j].is_initial_state)
            .collect();
        match initial.as_slice() {
            [] => issues.push(
                format!("{path}.states"),
                "exactly one state must have is_initial_state: true; none has",
            ),
            [_] => {}
            [first, rest @ ..] => {
                for j in rest {
                    issues.push(
                        format!("{path}.states[{j}].is_initial_state"),
                        format!("exactly one state may be initial; states[{first}] already is"),
                    );
                }
            }
        }
        if !states.iter().any(|s| s.is_terminal_state) {
            issues.push(
                format!("{path}.states"),
                "at least one state must have is_terminal_state: true (the conversation needs an end)",
            );
        }
    }

    let mut first_with_key: HashMap<&str, usize> = HashMap::new();
    for (j, s) in states.iter().enumerate() {
        let sp = format!("{path}.states[{j}]");
        if s.state_key.trim().is_empty() {
            issues.push(format!("{sp}.state_key"), "the state key must not be empty");
        } else {
            match first_with_key.get(s.state_key.as_str()) {
                Some(first) => issues.push(
                    format!("{sp}.state_key"),
                    format!(
                        "state key {:?} is already used by states[{first}]",
                        s.state_key
                    ),
                ),
                None => {
                    first_with_key.insert(&s.state_key, j);
                }
            }
        }
        if s.is_initial_state && s.is_terminal_state {
            issues.push(
                format!("{sp}.is_terminal_state"),
                "the initial state cannot be terminal (the conversation would be over before it starts)",
            );
        }
        if s.terminal_outcome.is_some() {
            if !s.is_terminal_state {
                issues.push(
                    format!("{sp}.terminal_outcome"),
                    "terminal_outcome is only allowed on terminal states",
                );
            } else if m.scoring_mode != ScoringMode::PassFail {
                issues.push(
                    format!("{sp}.terminal_outcome"),
                    "terminal_outcome is only allowed in pass_fail machines; in scoring mode the score decides the outcome",
                );
            }
        }
        if let Some(pos) = s.position {
            if !(pos.x.abs() <= MAX_CANVAS_COORDINATE && pos.y.abs() <= MAX_CANVAS_COORDINATE) {
                issues.push(
                    format!("{sp}.position"),
                    format!("x and y must lie within ±{MAX_CANVAS_COORDINATE}"),
                );
            }
        }
        issues.text(format!("{sp}.label"), s.label.as_deref());
        issues.text(
            format!("{sp}.prompt_instruction"),
            Some(&s.prompt_instruction),
        );
        issues.text(
            format!("{sp}.follow_up_condition"),
            s.follow_up_condition.as_deref(),
        );
    }

    // Transitions.
    if m.transitions.len() > limits.max_transitions_per_machine {
        issues.push(
            format!("{path}.transitions"),
            format!(
                "has {} transitions; the limit is {}",
                m.transitions.len(),
                limits.max_transitions_per_machine
            ),
        );
    }
    for (k, t) in m.transitions.iter().enumerate() {
        let tp = format!("{path}.transitions[{k}]");
        match m.state(&t.from_state_key) {
            None => issues.push(
                format!("{tp}.from_state_key"),
                format!("there is no state with key {:?}", t.from_state_key),
            ),
            Some(from) if from.is_terminal_state => issues.push(
                format!("{tp}.from_state_key"),
                format!(
                    "state {:?} is terminal and cannot have outgoing transitions",
                    t.from_state_key
                ),
            ),
            Some(_) => {}
        }
        if m.state(&t.to_state_key).is_none() {
            issues.push(
                format!("{tp}.to_state_key"),
                format!("there is no state with key {:?}", t.to_state_key),
            );
        }
        issues.required_text(format!("{tp}.condition"), &t.condition, "the condition");
    }

    // Output variables.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (k, v) in m.output_variables.iter().enumerate() {
        let vp = format!("{path}.output_variables[{k}]");
        check_variable_key(
            &v.key,
            &format!("{vp}.key"),
            &mut seen,
            "output_variables",
            k,
            issues,
        );
        issues.text(
            format!("{vp}.extraction_prompt"),
            Some(&v.extraction_prompt),
        );
    }
}

/// What is wrong with a link's `condition_value` for its `condition_type`, if anything.
fn condition_value_problem(
    kind: LinkConditionType,
    value: &Option<serde_json::Value>,
) -> Option<String> {
    use serde_json::Value;
    let value = value.as_ref().filter(|v| !v.is_null());
    match kind {
        LinkConditionType::Always => value.map(|v| {
            format!("condition_type \"always\" takes no condition_value (got {v}); remove it")
        }),
        LinkConditionType::Outcome => match value {
            Some(Value::String(s)) if super::Outcome::parse(s).is_some() => None,
            Some(v) => Some(format!(
                "condition_type \"outcome\" needs \"ACCEPT\", \"REJECT\" or \"KICK_OUT\" (got {v})"
            )),
            None => Some(
                "condition_type \"outcome\" needs a condition_value: \"ACCEPT\", \"REJECT\" or \"KICK_OUT\""
                    .into(),
            ),
        },
        LinkConditionType::ScoreGte | LinkConditionType::ScoreLte => {
            let name = if kind == LinkConditionType::ScoreGte {
                "score_gte"
            } else {
                "score_lte"
            };
            // The same reading as `MachineLink::fires`, minus NaN and infinities, which would
            // make the link never (or always) fire without saying so.
            let numeric = match value {
                Some(Value::Number(n)) => n.as_f64().is_some_and(f64::is_finite),
                Some(Value::String(s)) => s.trim().parse::<f64>().is_ok_and(f64::is_finite),
                _ => false,
            };
            match (numeric, value) {
                (true, _) => None,
                (false, Some(v)) => Some(format!(
                    "condition_type \"{name}\" needs a number (got {v})"
                )),
                (false, None) => Some(format!(
                    "condition_type \"{name}\" needs a number as condition_value"
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persona::{
        DecisionType, MachineLink, Outcome, OutputVariable, PersonaInfo, PersonaVariable, State,
        Transition,
    };
    use serde_json::json;

    fn state(key: &str, initial: bool, terminal: bool) -> State {
        State {
            state_key: key.into(),
            label: None,
            prompt_instruction: format!("Act in state {key}."),
            is_initial_state: initial,
            is_terminal_state: terminal,
            terminal_outcome: None,
            follow_up_condition: None,
            display_order: None,
            position: None,
        }
    }

    fn transition(from: &str, to: &str, kind: DecisionType) -> Transition {
        Transition {
            from_state_key: from.into(),
            to_state_key: to.into(),
            decision_type: kind,
            condition: "the player says the magic word".into(),
            score_delta: 1,
            priority: 0,
        }
    }

    fn machine(key: &str, entry: bool) -> Machine {
        Machine {
            id: None,
            machine_key: key.into(),
            name: format!("Machine {key}"),
            description: None,
            is_entry: entry,
            creator_objective: None,
            creator_win_condition: None,
            creator_lose_condition: None,
            chat_system_prompt: None,
            system_evaluation_prompt: None,
            system_summarization_prompt: None,
            scoring_mode: ScoringMode::Scoring,
            pass_threshold: Some(1),
            fail_threshold: Some(-2),
            states: vec![state("S0", true, false), state("S1", false, true)],
            transitions: vec![
                transition("S0", "S1", DecisionType::Pass),
                transition("S0", "S0", DecisionType::Redirect),
            ],
            output_variables: vec![OutputVariable {
                key: "drink".into(),
                extraction_prompt: "What did the player order?".into(),
            }],
        }
    }

    fn link(
        from: &str,
        to: &str,
        kind: LinkConditionType,
        value: Option<serde_json::Value>,
    ) -> MachineLink {
        MachineLink {
            from_machine_key: from.into(),
            to_machine_key: to.into(),
            condition_type: kind,
            condition_value: value,
            is_auto_advance: false,
        }
    }

    fn valid_doc() -> PersonaDocument {
        PersonaDocument {
            persona: PersonaInfo {
                id: None,
                name: "Mack".into(),
                description: Some("A grumpy barista".into()),
                identity_prompt: "You are Mack, a barista who hates mornings.".into(),
                is_public: true,
                is_published: true,
            },
            variables: vec![PersonaVariable {
                key: "town".into(),
                default_value: Some("Riverside".into()),
                description: None,
            }],
            machines: vec![machine("first", true), machine("second", false)],
            machine_links: vec![
                link(
                    "first",
                    "second",
                    LinkConditionType::Outcome,
                    Some(json!("ACCEPT")),
                ),
                link(
                    "first",
                    "second",
                    LinkConditionType::ScoreGte,
                    Some(json!(2)),
                ),
                link(
                    "first",
                    "second",
                    LinkConditionType::ScoreLte,
                    Some(json!("-1.5")),
                ),
                link("first", "second", LinkConditionType::Always, None),
                link(
                    "first",
                    "second",
                    LinkConditionType::Always,
                    Some(serde_json::Value::Null),
                ),
            ],
        }
    }

    fn check(doc: &PersonaDocument) -> Vec<ValidationIssue> {
        doc.validate(&Limits::default())
    }

    /// Asserts that validation reports exactly one issue, at `path`, whose message mentions
    /// `needle`.
    fn assert_single(doc: &PersonaDocument, path: &str, needle: &str) {
        let issues = check(doc);
        assert_eq!(
            issues.len(),
            1,
            "expected one issue at {path}, got {issues:#?}"
        );
        assert_eq!(issues[0].path, path, "{issues:#?}");
        assert!(
            issues[0].message.contains(needle),
            "message {:?} should mention {needle:?}",
            issues[0].message
        );
    }

    #[test]
    fn valid_document_has_no_issues() {
        assert_eq!(check(&valid_doc()), vec![]);
    }

    #[test]
    fn persona_name_is_required_and_bounded() {
        let mut doc = valid_doc();
        doc.persona.name = "   ".into();
        assert_single(&doc, "persona.name", "empty");

        // 100 two-byte characters fit: the limit counts characters.
        doc.persona.name = "é".repeat(100);
        assert_eq!(check(&doc), vec![]);
        doc.persona.name = "é".repeat(101);
        assert_single(&doc, "persona.name", "101 characters");
    }

    #[test]
    fn identity_prompt_is_required() {
        let mut doc = valid_doc();
        doc.persona.identity_prompt = "\n\t ".into();
        assert_single(&doc, "persona.identity_prompt", "empty");
    }

    #[test]
    fn machines_must_exist_and_be_bounded() {
        let mut doc = valid_doc();
        doc.machines.clear();
        doc.machine_links.clear();
        assert_single(&doc, "machines", "at least one machine");

        let mut doc = valid_doc();
        let limits = Limits {
            max_machines: 1,
            ..Limits::default()
        };
        let issues = doc.validate(&limits);
        assert_eq!(issues.len(), 1, "{issues:#?}");
        assert_eq!(issues[0].path, "machines");
        assert!(issues[0].message.contains("limit is 1"));
        doc.machines.truncate(1);
        doc.machine_links.clear();
        assert_eq!(doc.validate(&limits), vec![]);
    }

    #[test]
    fn machine_keys_are_well_formed_and_unique() {
        for bad in ["", "Order", "order-coffee", "café", "has space"] {
            let mut doc = valid_doc();
            doc.machines[1].machine_key = bad.into();
            doc.machine_links.clear();
            assert_single(&doc, "machines[1].machine_key", "not a valid machine key");
        }
        let mut doc = valid_doc();
        doc.machines[1].machine_key = "a".repeat(64);
        doc.machine_links.clear();
        assert_eq!(check(&doc), vec![]);
        doc.machines[1].machine_key = "a".repeat(65);
        assert_single(&doc, "machines[1].machine_key", "not a valid machine key");

        let mut doc = valid_doc();
        doc.machines[1].machine_key = "first".into();
        doc.machine_links.clear();
        assert_single(
            &doc,
            "machines[1].machine_key",
            "already used by machines[0]",
        );
    }

    #[test]
    fn machine_name_is_required() {
        let mut doc = valid_doc();
        doc.machines[0].name = String::new();
        assert_single(&doc, "machines[0].name", "empty");
    }

    #[test]
    fn an_entry_machine_is_required() {
        let mut doc = valid_doc();
        doc.machines[0].is_entry = false;
        assert_single(&doc, "machines", "is_entry");
    }

    #[test]
    fn states_must_exist_and_be_bounded() {
        let mut doc = valid_doc();
        doc.machines[0].states.clear();
        doc.machines[0].transitions.clear();
        assert_single(&doc, "machines[0].states", "at least one state");

        let doc = valid_doc();
        let limits = Limits {
            max_states_per_machine: 1,
            ..Limits::default()
        };
        let issues = doc.validate(&limits);
        assert_eq!(
            issues.iter().map(|i| i.path.as_str()).collect::<Vec<_>>(),
            ["machines[0].states", "machines[1].states"]
        );
    }

    #[test]
    fn exactly_one_initial_state() {
        let mut doc = valid_doc();
        doc.machines[0].states[0].is_initial_state = false;
        assert_single(&doc, "machines[0].states", "none has");

        let mut doc = valid_doc();
        doc.machines[0].states.push(state("S2", true, false));
        doc.machines[0].states.push(state("S3", true, false));
        let issues = check(&doc);
        assert_eq!(
            issues.iter().map(|i| i.path.as_str()).collect::<Vec<_>>(),
            [
                "machines[0].states[2].is_initial_state",
                "machines[0].states[3].is_initial_state"
            ]
        );
        assert!(issues[0].message.contains("states[0] already is"));
    }

    #[test]
    fn a_terminal_state_is_required() {
        let mut doc = valid_doc();
        doc.machines[1].states[1].is_terminal_state = false;
        assert_single(&doc, "machines[1].states", "is_terminal_state");
    }

    #[test]
    fn state_keys_are_non_empty_and_unique() {
        let mut doc = valid_doc();
        doc.machines[0].states.push(state(" ", false, true));
        assert_single(&doc, "machines[0].states[2].state_key", "empty");

        let mut doc = valid_doc();
        doc.machines[0].states.push(state("S1", false, true));
        assert_single(
            &doc,
            "machines[0].states[2].state_key",
            "already used by states[1]",
        );
    }

    #[test]
    fn initial_state_is_not_terminal() {
        let mut doc = valid_doc();
        doc.machines[0].states[0].is_terminal_state = true;
        let issues = check(&doc);
        // The transitions leaving S0 are now also leaving a terminal state.
        assert_eq!(
            issues.iter().map(|i| i.path.as_str()).collect::<Vec<_>>(),
            [
                "machines[0].states[0].is_terminal_state",
                "machines[0].transitions[0].from_state_key",
                "machines[0].transitions[1].from_state_key",
            ]
        );
        assert!(issues[0]
            .message
            .contains("initial state cannot be terminal"));
    }

    #[test]
    fn transitions_name_existing_states() {
        let mut doc = valid_doc();
        doc.machines[0].transitions[0].from_state_key = "NOPE".into();
        assert_single(
            &doc,
            "machines[0].transitions[0].from_state_key",
            "no state with key \"NOPE\"",
        );
        let mut doc = valid_doc();
        doc.machines[0].transitions[1].to_state_key = "GONE".into();
        assert_single(
            &doc,
            "machines[0].transitions[1].to_state_key",
            "no state with key \"GONE\"",
        );
    }

    #[test]
    fn terminal_states_have_no_outgoing_transitions() {
        let mut doc = valid_doc();
        doc.machines[1]
            .transitions
            .push(transition("S1", "S0", DecisionType::Pass));
        assert_single(
            &doc,
            "machines[1].transitions[2].from_state_key",
            "terminal",
        );
    }

    #[test]
    fn transition_condition_is_required() {
        let mut doc = valid_doc();
        doc.machines[0].transitions[1].condition = " ".into();
        assert_single(&doc, "machines[0].transitions[1].condition", "empty");
    }

    #[test]
    fn transitions_are_bounded() {
        let doc = valid_doc();
        let limits = Limits {
            max_transitions_per_machine: 1,
            ..Limits::default()
        };
        let issues = doc.validate(&limits);
        assert_eq!(issues.len(), 2, "{issues:#?}");
        assert_eq!(issues[0].path, "machines[0].transitions");
        assert!(issues[0].message.contains("2 transitions"));
    }

    #[test]
    fn terminal_outcome_only_on_terminal_states_of_pass_fail_machines() {
        let mut doc = valid_doc();
        doc.machines[0].states[1].terminal_outcome = Some(Outcome::Reject);
        assert_single(&doc, "machines[0].states[1].terminal_outcome", "pass_fail");

        let mut doc = valid_doc();
        let m = &mut doc.machines[0];
        m.scoring_mode = ScoringMode::PassFail;
        m.pass_threshold = None;
        m.fail_threshold = None;
        m.states[1].terminal_outcome = Some(Outcome::Reject);
        assert_eq!(check(&doc), vec![]);
        doc.machines[0].states[0].terminal_outcome = Some(Outcome::Accept);
        assert_single(
            &doc,
            "machines[0].states[0].terminal_outcome",
            "only allowed on terminal states",
        );
    }

    #[test]
    fn fail_threshold_is_below_pass_threshold() {
        let mut doc = valid_doc();
        doc.machines[1].fail_threshold = Some(1);
        assert_single(
            &doc,
            "machines[1].fail_threshold",
            "lower than pass_threshold (1)",
        );
        doc.machines[1].fail_threshold = Some(0);
        assert_eq!(check(&doc), vec![]);
        // Only one threshold set: nothing to compare.
        doc.machines[1].pass_threshold = None;
        doc.machines[1].fail_threshold = Some(5);
        assert_eq!(check(&doc), vec![]);
    }

    #[test]
    fn thresholds_on_pass_fail_machines_are_kept_with_a_warning() {
        let mut doc = valid_doc();
        doc.machines[0].scoring_mode = ScoringMode::PassFail;
        let review = doc.review(&Limits::default());
        assert_eq!(review.errors, vec![], "accepted");
        assert_eq!(
            review
                .warnings
                .iter()
                .map(|i| i.path.as_str())
                .collect::<Vec<_>>(),
            ["machines[0].pass_threshold", "machines[0].fail_threshold"]
        );
        assert!(review.warnings[0]
            .message
            .contains("ignored in pass_fail mode"));
        // A scoring machine's thresholds warn about nothing.
        assert_eq!(valid_doc().review(&Limits::default()), Review::default());
    }

    #[test]
    fn output_variable_keys_are_well_formed_and_unique() {
        let mut doc = valid_doc();
        doc.machines[0].output_variables.push(OutputVariable {
            key: "drink".into(),
            extraction_prompt: "Again?".into(),
        });
        assert_single(
            &doc,
            "machines[0].output_variables[1].key",
            "already used by output_variables[0]",
        );
        let mut doc = valid_doc();
        doc.machines[0].output_variables[0].key = "Drink".into();
        assert_single(
            &doc,
            "machines[0].output_variables[0].key",
            "not a valid variable key",
        );
    }

    #[test]
    fn persona_variable_keys_are_well_formed_and_unique() {
        let mut doc = valid_doc();
        doc.variables.push(PersonaVariable {
            key: "town".into(),
            default_value: None,
            description: None,
        });
        assert_single(&doc, "variables[1].key", "already used by variables[0]");
        let mut doc = valid_doc();
        doc.variables[0].key = "home town".into();
        assert_single(&doc, "variables[0].key", "not a valid variable key");
    }

    #[test]
    fn every_text_field_is_bounded_in_characters() {
        let limits = Limits {
            max_prompt_chars: 10,
            ..Limits::default()
        };
        let fits = "ü".repeat(10); // 20 bytes, 10 characters
        let long = "ü".repeat(11);
        let mut doc = valid_doc();
        doc.machine_links.clear();
        doc.machines.truncate(1);
        doc.persona.identity_prompt = fits.clone();
        doc.persona.description = Some(fits.clone());
        let m = &mut doc.machines[0];
        m.name = fits.clone();
        m.output_variables[0].extraction_prompt = fits.clone();
        m.transitions[0].condition = fits.clone();
        m.transitions[1].condition = fits.clone();
        for s in &mut m.states {
            s.prompt_instruction = fits.clone();
        }
        assert_eq!(doc.validate(&limits), vec![]);

        type Setter = fn(&mut PersonaDocument, String);
        let cases: &[(&str, Setter)] = &[
            ("persona.identity_prompt", |d, v| {
                d.persona.identity_prompt = v
            }),
            ("persona.description", |d, v| {
                d.persona.description = Some(v)
            }),
            ("variables[0].default_value", |d, v| {
                d.variables[0].default_value = Some(v)
            }),
            ("variables[0].description", |d, v| {
                d.variables[0].description = Some(v)
            }),
            ("machines[0].description", |d, v| {
                d.machines[0].description = Some(v)
            }),
            ("machines[0].creator_objective", |d, v| {
                d.machines[0].creator_objective = Some(v)
            }),
            ("machines[0].creator_win_condition", |d, v| {
                d.machines[0].creator_win_condition = Some(v)
            }),
            ("machines[0].creator_lose_condition", |d, v| {
                d.machines[0].creator_lose_condition = Some(v)
            }),
            ("machines[0].chat_system_prompt", |d, v| {
                d.machines[0].chat_system_prompt = Some(v)
            }),
            ("machines[0].system_evaluation_prompt", |d, v| {
                d.machines[0].system_evaluation_prompt = Some(v)
            }),
            ("machines[0].system_summarization_prompt", |d, v| {
                d.machines[0].system_summarization_prompt = Some(v)
            }),
            ("machines[0].states[1].prompt_instruction", |d, v| {
                d.machines[0].states[1].prompt_instruction = v
            }),
            ("machines[0].states[0].follow_up_condition", |d, v| {
                d.machines[0].states[0].follow_up_condition = Some(v)
            }),
            ("machines[0].transitions[1].condition", |d, v| {
                d.machines[0].transitions[1].condition = v
            }),
            (
                "machines[0].output_variables[0].extraction_prompt",
                |d, v| d.machines[0].output_variables[0].extraction_prompt = v,
            ),
        ];
        for (path, set) in cases {
            let mut broken = doc.clone();
            set(&mut broken, long.clone());
            let issues = broken.validate(&limits);
            assert_eq!(issues.len(), 1, "{path}: {issues:#?}");
            assert_eq!(issues[0].path, *path);
            assert!(issues[0].message.contains("11 characters"), "{issues:#?}");
        }
    }

    #[test]
    fn links_name_existing_distinct_machines() {
        let mut doc = valid_doc();
        doc.machine_links[1].from_machine_key = "nowhere".into();
        assert_single(
            &doc,
            "machine_links[1].from_machine_key",
            "no machine with key \"nowhere\"",
        );
        let mut doc = valid_doc();
        doc.machine_links[0].to_machine_key = "nowhere".into();
        assert_single(&doc, "machine_links[0].to_machine_key", "no machine");
        let mut doc = valid_doc();
        doc.machine_links[3].to_machine_key = "first".into();
        assert_single(&doc, "machine_links[3].to_machine_key", "itself");
    }

    #[test]
    fn link_condition_values_have_the_right_type() {
        use LinkConditionType::*;
        let bad = [
            (Outcome, None),
            (Outcome, Some(json!("accept"))),
            (Outcome, Some(json!(1))),
            (ScoreGte, None),
            (ScoreGte, Some(json!("three"))),
            (ScoreGte, Some(json!("NaN"))),
            (ScoreLte, Some(json!(true))),
            (ScoreLte, Some(json!([1]))),
            (Always, Some(json!("ACCEPT"))),
            (Always, Some(json!(0))),
        ];
        for (kind, value) in bad {
            let mut doc = valid_doc();
            doc.machine_links[0].condition_type = kind;
            doc.machine_links[0].condition_value = value.clone();
            let issues = check(&doc);
            assert_eq!(issues.len(), 1, "{kind:?} {value:?}: {issues:#?}");
            assert_eq!(issues[0].path, "machine_links[0].condition_value");
        }
        let good = [
            (Outcome, Some(json!("KICK_OUT"))),
            (ScoreGte, Some(json!(-3))),
            (ScoreGte, Some(json!(2.5))),
            (ScoreLte, Some(json!(" 4 "))),
        ];
        for (kind, value) in good {
            let mut doc = valid_doc();
            doc.machine_links[0].condition_type = kind;
            doc.machine_links[0].condition_value = value;
            assert_eq!(check(&doc), vec![]);
        }
    }

    #[test]
    fn every_problem_is_reported_together() {
        let mut doc = valid_doc();
        doc.persona.name = String::new();
        doc.variables[0].key = "Bad Key".into();
        doc.machines[0].states.push(state("S1", false, true));
        doc.machines[1].transitions[0].to_state_key = "S9".into();
        doc.machines[1].fail_threshold = Some(7);
        doc.machine_links[0].condition_value = Some(json!("MAYBE"));
        doc.machine_links[2].to_machine_key = "nowhere".into();
        let paths: Vec<String> = check(&doc).into_iter().map(|i| i.path).collect();
        assert_eq!(
            paths,
            [
                "persona.name",
                "variables[0].key",
                "machines[0].states[2].state_key",
                "machines[1].fail_threshold",
                "machines[1].transitions[0].to_state_key",
                "machine_links[0].condition_value",
                "machine_links[2].to_machine_key",
            ]
        );
    }
}
