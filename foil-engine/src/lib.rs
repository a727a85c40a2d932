//! The Foil Engine conversation engine: pure functions over a
//! [`PersonaDocument`](foil_types::persona::PersonaDocument).
//!
//! No I/O, no async, no LLM calls. The server drives one turn (personas.md §2) like this:
//!
//! 1. [`eval_prompt`] builds the evaluator's prompt; the LLM answers with JSON matching
//!    [`eval_json_schema`], which [`parse_eval_answer`] turns into a [`Decision`] (or an error
//!    message to feed back on the one retry).
//! 2. [`apply`] runs the decision table on the [`SessionState`] and returns a [`TurnOutcome`].
//! 3. When the machine completed, [`fired_links`] names the machines it unlocks and
//!    [`extraction_prompt`] / [`parse_extraction`] collect its output variables.
//! 4. [`reply_prompt`] builds the prompt for the NPC's reply; [`summary_prompt`] folds old
//!    messages into the session summary.
//!
//! The [`offline`] module is the built-in deterministic provider that does every LLM step
//! without a network, so any persona is playable and testable with no key.
//!
//! ```
//! use foil_engine::{apply, offline_evaluate, parse_eval_answer, SessionState};
//! use foil_types::persona::{Outcome, PersonaDocument};
//!
//! let doc: PersonaDocument = serde_json::from_value(serde_json::json!({
//!     "persona": {"name": "Mack", "identity_prompt": "You are Mack, a grumpy barista."},
//!     "machines": [{
//!         "machine_key": "order", "name": "Order a coffee", "is_entry": true,
//!         "states": [
//!             {"state_key": "S0", "is_initial_state": true},
//!             {"state_key": "SERVED", "is_terminal_state": true}
//!         ],
//!         "transitions": [
//!             {"from_state_key": "S0", "to_state_key": "SERVED", "decision_type": "pass",
//!              "condition": "the player orders an espresso politely", "score_delta": 1}
//!         ]
//!     }]
//! }))
//! .unwrap();
//! let machine = &doc.machines[0];
//! let session = SessionState::initial(machine).unwrap();
//!
//! // An LLM evaluator's answer, checked against the state...
//! let decision = parse_eval_answer(
//!     machine,
//!     &session.current_state,
//!     r#"{"decision": "pass", "transition_index": 0, "reason": "polite order"}"#,
//! )
//! .unwrap();
//! // ...or the offline evaluator's, which agrees here.
//! assert_eq!(offline_evaluate(machine, "S0", "An espresso, please"), decision);
//!
//! let turn = apply(machine, &session, decision).unwrap();
//! assert_eq!(turn.session.current_state, "SERVED");
//! assert_eq!(turn.session.outcome, Some(Outcome::Accept)); // score 1 ≥ pass threshold 0
//! assert!(turn.machine_completed);
//! ```

#![warn(missing_docs)]

mod budget;
mod eval;
mod links;
pub mod offline;
mod prompts;
pub mod reply_guard;
mod session;
mod template;
#[cfg(test)]
mod test_support;
mod text;

pub use budget::{
    estimate_chars_tokens, estimate_text_tokens, estimate_tokens, fit_prompt, TrimPast,
};
pub use eval::{
    eval_exact_schema, eval_json_schema, eval_json_schema_for, legal_answers, parse_eval_answer,
    parse_evaluation, EvalAnswer, Evaluation,
};
pub use links::{available_machines, fired_links, is_linked, primary_machine};
pub use offline::{
    offline_evaluate, offline_evaluation, offline_extract, offline_reply, offline_summary,
};
pub use prompts::{
    eval_prompt, extraction_json_schema, extraction_prompt, parse_extraction, reply_prompt,
    summary_prompt, EvalContext, ExtractionContext, PromptMessage, ReplyContext, Role,
    SummaryContext,
};
pub use session::{
    apply, candidates, ApplyError, Decision, EndReason, Happened, SessionState, TurnOutcome,
};
pub use template::{fill_template, TemplateVars};
