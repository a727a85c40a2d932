//! Fixtures shared by the unit tests.

use foil_types::persona::{
    DecisionType, LinkConditionType, Machine, MachineLink, Outcome, OutputVariable,
    PersonaDocument, PersonaInfo, PersonaVariable, ScoringMode, State, Transition,
};

pub(crate) fn state(key: &str, initial: bool, terminal: bool) -> State {
    State {
        state_key: key.into(),
        label: Some(format!("Label {key}")),
        prompt_instruction: format!("Instruction for {key}."),
        is_initial_state: initial,
        is_terminal_state: terminal,
        terminal_outcome: None,
        follow_up_condition: None,
        display_order: None,
        position: None,
    }
}

pub(crate) fn transition(
    from: &str,
    to: &str,
    kind: DecisionType,
    condition: &str,
    delta: i64,
    priority: i64,
) -> Transition {
    Transition {
        from_state_key: from.into(),
        to_state_key: to.into(),
        decision_type: kind,
        condition: condition.into(),
        score_delta: delta,
        priority,
    }
}

pub(crate) fn machine(
    key: &str,
    mode: ScoringMode,
    states: Vec<State>,
    transitions: Vec<Transition>,
) -> Machine {
    Machine {
        id: None,
        machine_key: key.into(),
        name: format!("Machine {key}"),
        description: None,
        is_entry: false,
        creator_objective: None,
        creator_win_condition: None,
        creator_lose_condition: None,
        chat_system_prompt: None,
        system_evaluation_prompt: None,
        system_summarization_prompt: None,
        scoring_mode: mode,
        pass_threshold: None,
        fail_threshold: None,
        states,
        transitions,
        output_variables: vec![],
    }
}

/// Scoring mode, pass 3, fail -3.
///
/// S0 candidates (priority order): 0 pass "orders politely" → S1 +2, 1 reject "is rude" -2,
/// 2 redirect "weather" -1, 3 redirect "hums" 0, 4 kick_out "throws a cup" → S_OUT -5.
/// The document lists them shuffled so that the order comes from priorities and ties.
/// S1: 0 pass "pays" → S_END +2, 1 reject "complains" -1, 2 pass "orders another" → S1 0.
/// S2: 0 reject "sulks" -1 (no pass transition).
pub(crate) fn scoring_machine() -> Machine {
    use DecisionType::*;
    let mut s0 = state("S0", true, false);
    s0.follow_up_condition = Some("the order is ambiguous".into());
    let mut m = machine(
        "order_coffee",
        ScoringMode::Scoring,
        vec![
            s0,
            state("S1", false, false),
            state("S2", false, false),
            state("S_END", false, true),
            state("S_OUT", false, true),
        ],
        vec![
            transition("S0", "S_OUT", KickOut, "the player throws a cup", -5, 3),
            transition(
                "S0",
                "S0",
                Redirect,
                "the player chats about the weather",
                -1,
                2,
            ),
            transition("S1", "S_END", Pass, "the player pays", 2, 0),
            transition("S0", "S2", Reject, "the player is rude", -2, 1),
            transition("S0", "S0", Redirect, "the player hums a song", 0, 2),
            transition("S0", "S1", Pass, "the player orders politely", 2, 0),
            transition("S1", "S2", Reject, "the player complains", -1, 1),
            transition("S1", "S1", Pass, "the player orders another", 0, 2),
            transition("S2", "S_END", Reject, "the player sulks", -1, 0),
        ],
    );
    m.is_entry = true;
    m.pass_threshold = Some(3);
    m.fail_threshold = Some(-3);
    m
}

/// Pass/fail mode. P0 candidates: 0 pass → P_WIN (no terminal_outcome) 0, 1 pass → P_SNUB
/// (REJECT) +1, 2 reject → P_LOST (terminal_outcome ACCEPT) +3, 3 kick_out → P_OUT -1.
pub(crate) fn pass_fail_machine() -> Machine {
    use DecisionType::*;
    let mut snub = state("P_SNUB", false, true);
    snub.terminal_outcome = Some(Outcome::Reject);
    let mut lost = state("P_LOST", false, true);
    lost.terminal_outcome = Some(Outcome::Accept);
    let mut out = state("P_OUT", false, true);
    out.terminal_outcome = Some(Outcome::KickOut);
    machine(
        "vip_entry",
        ScoringMode::PassFail,
        vec![
            state("P0", true, false),
            state("P_WIN", false, true),
            snub,
            lost,
            out,
        ],
        vec![
            transition("P0", "P_WIN", Pass, "the player is on the list", 0, 0),
            transition("P0", "P_SNUB", Pass, "the player name-drops", 1, 1),
            transition("P0", "P_LOST", Reject, "the player is boring", 3, 2),
            transition("P0", "P_OUT", KickOut, "the player spills wine", -1, 3),
        ],
    )
}

pub(crate) fn link(
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

/// Machines: `order_coffee` (entry), `vip_entry`, `regular` and `loner` (no incoming link).
/// Links from `order_coffee`: ACCEPT → vip_entry (auto-advance), score ≥ 4 → regular,
/// score ≤ -1 → vip_entry, always → regular.
pub(crate) fn document() -> PersonaDocument {
    let mut regular = scoring_machine();
    regular.machine_key = "regular".into();
    regular.is_entry = false;
    let mut loner = pass_fail_machine();
    loner.machine_key = "loner".into();
    let mut coffee = scoring_machine();
    coffee.output_variables.push(OutputVariable {
        key: "drink".into(),
        extraction_prompt: "Which drink did the player order?".into(),
    });
    let mut first = link(
        "order_coffee",
        "vip_entry",
        LinkConditionType::Outcome,
        Some("ACCEPT".into()),
    );
    first.is_auto_advance = true;
    PersonaDocument {
        persona: PersonaInfo {
            id: None,
            name: "Mack".into(),
            description: None,
            identity_prompt: "You are Mack, a barista in {{var.town}}.".into(),
            is_public: true,
            is_published: true,
        },
        variables: vec![PersonaVariable {
            key: "town".into(),
            default_value: Some("Riverside".into()),
            description: None,
        }],
        machines: vec![coffee, pass_fail_machine(), regular, loner],
        machine_links: vec![
            first,
            link(
                "order_coffee",
                "regular",
                LinkConditionType::ScoreGte,
                Some(4.into()),
            ),
            link(
                "order_coffee",
                "vip_entry",
                LinkConditionType::ScoreLte,
                Some("-1".into()),
            ),
            link("order_coffee", "regular", LinkConditionType::Always, None),
        ],
    }
}
