//! AI help for creators (api.md §3): draft a persona, draft a machine, polish a text field.
//!
//! Generation uses the request's *response* model and key (api.md §2.3), since it is creative
//! writing. Model output is untrusted: a drafted machine is parsed and validated like any
//! saved one, with one retry that feeds the problems back; the built-in `offline` provider
//! drafts deterministically from the brief.

use foil_llm::{ChatMessage, ChatRequest, LlmClient};
use foil_types::persona::{
    DecisionType, Limits, Machine, PersonaDocument, PersonaInfo, ScoringMode, State, Transition,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::chat::llm::StepLlm;

pub(crate) mod error;
pub(crate) use error::GenerateError;

/// A drafted persona.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub(crate) struct PersonaDraft {
    pub name: String,
    pub description: String,
    pub identity_prompt: String,
}

fn first_json_object(text: &str) -> Option<&str> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    (end > start).then(|| &text[start..=end])
}

/// Calls the model, parses its JSON answer with `parse`, and retries once with the problem.
async fn ask_json<T>(
    llm: &LlmClient,
    step: &StepLlm,
    timeout: std::time::Duration,
    mut messages: Vec<ChatMessage>,
    what: &'static str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, GenerateError> {
    for attempt in 0..2 {
        let request = ChatRequest::new(messages.clone())
            .with_temperature(0.7)
            .with_max_tokens(2000)
            .with_step("generation");
        let answer = step.complete(llm, &request, timeout).await?;
        match first_json_object(&answer)
            .ok_or_else(|| "the answer contains no JSON object".to_string())
            .and_then(&parse)
        {
            Ok(value) => return Ok(value),
            Err(problem) if attempt == 0 => {
                messages.push(ChatMessage::assistant(answer));
                messages.push(ChatMessage::user(format!(
                    "That is not usable: {problem}. Answer again with only the corrected JSON object."
                )));
            }
            Err(problem) => tracing::warn!(%problem, what, "generation answer unusable twice"),
        }
    }
    Err(GenerateError::Unusable(what))
}

/// Drafts a persona from a brief.
pub(crate) async fn persona(
    llm: &LlmClient,
    step: &StepLlm,
    timeout: std::time::Duration,
    brief: &str,
) -> Result<PersonaDraft, GenerateError> {
    if step.is_offline() {
        return Ok(offline_persona(brief));
    }
    let messages = vec![
        ChatMessage::system(
            "You design non-player characters for video games. Given a brief, answer with only \
             a JSON object {\"name\": string (≤ 100 characters), \"description\": string (one \
             sentence for a catalogue), \"identity_prompt\": string (second person, \"You are \
             ...\": backstory, personality, voice, quirks and what they want; 120–250 words)}.",
        ),
        ChatMessage::user(format!("Brief: {brief}")),
    ];
    ask_json(llm, step, timeout, messages, "persona", |json| {
        let draft: PersonaDraft = serde_json::from_str(json).map_err(|e| e.to_string())?;
        if draft.name.trim().is_empty() || draft.identity_prompt.trim().is_empty() {
            return Err("name and identity_prompt must not be empty".into());
        }
        if draft.name.chars().count() > 100 {
            return Err("name is longer than 100 characters".into());
        }
        Ok(draft)
    })
    .await
}

/// Drafts a machine (scenario) that passes validation.
pub(crate) async fn machine(
    llm: &LlmClient,
    step: &StepLlm,
    timeout: std::time::Duration,
    identity: &str,
    brief: &str,
) -> Result<Machine, GenerateError> {
    if step.is_offline() {
        return Ok(offline_machine(brief));
    }
    let example = serde_json::to_string(&offline_machine("an example")).unwrap_or_default();
    let messages = vec![
        ChatMessage::system(format!(
            "You design conversation scenarios for game NPCs as finite state machines. Answer \
             with only one JSON machine object with the same keys as this example (values are \
             yours): {example}\nRules: machine_key matches [a-z0-9_]+; exactly one state has \
             is_initial_state true; at least one terminal state (is_terminal_state true) and \
             terminal states have no outgoing transitions; every transition names existing \
             states; decision_type is pass, redirect, reject or kick_out; conditions describe \
             what the player says or does; scoring_mode \"scoring\" with fail_threshold < \
             pass_threshold. Use 3–6 states."
        )),
        ChatMessage::user(format!("The NPC: {identity}\n\nThe scenario: {brief}")),
    ];
    ask_json(llm, step, timeout, messages, "machine", |json| {
        let mut machine: Machine = serde_json::from_str(json).map_err(|e| e.to_string())?;
        machine.id = None;
        machine.is_entry = true;
        check_machine(&machine)?;
        Ok(machine)
    })
    .await
}

/// Validates a machine on its own, as the only (entry) machine of a persona.
fn check_machine(machine: &Machine) -> Result<(), String> {
    let doc = PersonaDocument {
        persona: PersonaInfo {
            id: None,
            name: "check".into(),
            description: None,
            identity_prompt: "check".into(),
            is_public: false,
            is_published: false,
        },
        variables: Vec::new(),
        machines: vec![machine.clone()],
        machine_links: Vec::new(),
    };
    let issues = doc.validate(&Limits::default());
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues
            .iter()
            .map(|i| format!("{}: {}", i.path, i.message))
            .collect::<Vec<_>>()
            .join("; "))
    }
}

/// Rewrites a creator's text for clarity, keeping its meaning.
pub(crate) async fn polish(
    llm: &LlmClient,
    step: &StepLlm,
    timeout: std::time::Duration,
    text: &str,
    field: &str,
    context: Option<&str>,
) -> Result<String, GenerateError> {
    if step.is_offline() {
        return Ok(offline_polish(text));
    }
    let messages = vec![
        ChatMessage::system(format!(
            "You edit text that game creators write for NPC prompts. Improve the `{field}` text \
             below: clearer, vivid, consistent, same meaning and language, similar length. \
             Answer with only the improved text.{}",
            context
                .map(|c| format!("\nContext: {c}"))
                .unwrap_or_default()
        )),
        ChatMessage::user(text.to_string()),
    ];
    let request = ChatRequest::new(messages)
        .with_temperature(0.5)
        .with_max_tokens(2000)
        .with_step("generation");
    let polished = step.complete(llm, &request, timeout).await?;
    let polished = polished.trim();
    if polished.is_empty() {
        return Err(GenerateError::Unusable("text"));
    }
    Ok(polished.to_string())
}

/// A name from the brief's first significant words, title-cased.
fn offline_name(brief: &str) -> String {
    let words: Vec<String> = brief
        .split_whitespace()
        .filter(|w| w.chars().count() > 2)
        .take(3)
        .map(|w| {
            let w: String = w.chars().filter(|c| c.is_alphanumeric()).collect();
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        "New Character".into()
    } else {
        words.join(" ").chars().take(100).collect()
    }
}

fn offline_persona(brief: &str) -> PersonaDraft {
    let brief = brief.trim();
    let name = offline_name(brief);
    PersonaDraft {
        description: brief.chars().take(300).collect(),
        identity_prompt: format!(
            "You are {name}. {brief} Stay in character, speak in your own voice, and keep your \
             answers short enough for a game's dialogue box."
        ),
        name,
    }
}

fn offline_machine(brief: &str) -> Machine {
    let brief = brief.trim();
    let state =
        |key: &str, label: &str, instruction: String, initial: bool, terminal: bool| State {
            state_key: key.into(),
            label: Some(label.into()),
            prompt_instruction: instruction,
            is_initial_state: initial,
            is_terminal_state: terminal,
            terminal_outcome: None,
            follow_up_condition: None,
            display_order: None,
            position: None,
        };
    let transition = |from: &str, to: &str, kind, condition: &str, delta| Transition {
        from_state_key: from.into(),
        to_state_key: to.into(),
        decision_type: kind,
        condition: condition.into(),
        score_delta: delta,
        priority: 0,
    };
    Machine {
        id: None,
        machine_key: "main".into(),
        name: offline_name(brief),
        description: Some(brief.chars().take(300).collect()),
        is_entry: true,
        creator_objective: Some(format!("Play out this scenario: {brief}")),
        creator_win_condition: Some(
            "The player engages politely and makes a clear request.".into(),
        ),
        creator_lose_condition: Some("The player is rude or threatening.".into()),
        chat_system_prompt: None,
        system_evaluation_prompt: None,
        system_summarization_prompt: None,
        scoring_mode: ScoringMode::Scoring,
        pass_threshold: Some(1),
        fail_threshold: Some(-2),
        states: vec![
            state(
                "GREETING",
                "Greeting",
                format!("Greet the player and set the scene: {brief}"),
                true,
                false,
            ),
            state(
                "REQUEST",
                "The request",
                "Ask the player what exactly they want.".into(),
                false,
                false,
            ),
            state(
                "DONE",
                "Resolved",
                "Wrap up the scenario and say goodbye.".into(),
                false,
                true,
            ),
            state(
                "LEFT",
                "Walked away",
                "End the conversation curtly.".into(),
                false,
                true,
            ),
        ],
        transitions: vec![
            transition(
                "GREETING",
                "REQUEST",
                DecisionType::Pass,
                "the player greets politely",
                1,
            ),
            transition(
                "GREETING",
                "GREETING",
                DecisionType::Redirect,
                "the player talks about something else",
                0,
            ),
            transition(
                "GREETING",
                "LEFT",
                DecisionType::KickOut,
                "the player insults or threatens",
                -2,
            ),
            transition(
                "REQUEST",
                "DONE",
                DecisionType::Pass,
                "the player makes a clear request",
                1,
            ),
            transition(
                "REQUEST",
                "REQUEST",
                DecisionType::Redirect,
                "the player is vague",
                0,
            ),
            transition(
                "REQUEST",
                "LEFT",
                DecisionType::Reject,
                "the player is rude",
                -1,
            ),
        ],
        output_variables: Vec::new(),
    }
}

/// Whitespace tidied, first letter capitalised, a final full stop when missing.
fn offline_polish(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = collapsed.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?', '"', '\'', ')', '…']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_drafts_are_valid() {
        let machine = offline_machine("haggle over a rusty sword");
        check_machine(&machine).unwrap();
        let persona = offline_persona("a grumpy blacksmith who hates elves");
        assert_eq!(persona.name, "Grumpy Blacksmith Who");
        assert!(persona
            .identity_prompt
            .starts_with("You are Grumpy Blacksmith Who."));
        assert_eq!(offline_persona("").name, "New Character");
    }

    #[test]
    fn offline_polish_tidies() {
        assert_eq!(offline_polish("  you are   a  guard "), "You are a guard.");
        assert_eq!(offline_polish("Halt!"), "Halt!");
        assert_eq!(offline_polish("   "), "");
    }

    #[test]
    fn json_is_found_inside_prose() {
        assert_eq!(
            first_json_object("Sure! {\"a\": 1} Hope it helps"),
            Some("{\"a\": 1}")
        );
        assert_eq!(first_json_object("no json"), None);
    }
}
