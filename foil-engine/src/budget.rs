//! Fitting a step's prompt into a token budget, so the prompts sent to a small local model fit
//! its context window. What the creator wrote (identity, scenario, state) and the player's new
//! message are always kept; what is trimmed is the conversation's past, oldest first: memories
//! of earlier sessions, then the session summary, then the recent messages one by one.
//!
//! Tokens are estimated, not counted: every model has its own tokenizer, and the budget is a
//! guard rail, not an exact fit. The estimate errs on the large side (one token per three
//! characters, plus a few per message for the chat template).

use crate::prompts::{EvalContext, ExtractionContext, PromptMessage, ReplyContext};

/// Characters per estimated token: English averages about four, so three is conservative.
const CHARS_PER_TOKEN: usize = 3;
/// Tokens a chat template adds around each message (role markers, separators).
const TOKENS_PER_MESSAGE: usize = 4;

/// An estimate (on the large side) of how many tokens `text` is, without any chat template.
pub fn estimate_text_tokens(text: &str) -> usize {
    estimate_chars_tokens(text.chars().count())
}

/// [`estimate_text_tokens`] of a text of `chars` characters.
pub fn estimate_chars_tokens(chars: usize) -> usize {
    chars.div_ceil(CHARS_PER_TOKEN)
}

/// An estimate (on the large side) of how many tokens `messages` take in a model's context.
pub fn estimate_tokens(messages: &[PromptMessage]) -> usize {
    messages
        .iter()
        .map(|m| estimate_text_tokens(&m.content) + TOKENS_PER_MESSAGE)
        .sum()
}

/// A prompt context whose past can be shortened.
pub trait TrimPast: Copy {
    /// Removes the oldest piece of the past; false when nothing is left to remove.
    fn trim_oldest(&mut self) -> bool;
}

fn drop_first<T>(list: &mut &[T]) -> bool {
    match list.split_first() {
        Some((_, rest)) => {
            *list = rest;
            true
        }
        None => false,
    }
}

impl TrimPast for EvalContext<'_> {
    fn trim_oldest(&mut self) -> bool {
        self.summary.take().is_some() || drop_first(&mut self.recent)
    }
}

impl TrimPast for ReplyContext<'_> {
    fn trim_oldest(&mut self) -> bool {
        drop_first(&mut self.memories)
            || self.summary.take().is_some()
            || drop_first(&mut self.recent)
    }
}

impl TrimPast for ExtractionContext<'_> {
    /// The last message (what the player said as the machine ended) is kept.
    fn trim_oldest(&mut self) -> bool {
        self.summary.take().is_some() || (self.messages.len() > 1 && drop_first(&mut self.messages))
    }
}

/// The prompt `build` makes from `ctx`, with the past trimmed oldest first until the estimate
/// fits `budget` tokens (or nothing more can go; the creator's texts are never cut).
pub fn fit_prompt<C: TrimPast>(
    mut ctx: C,
    budget: usize,
    build: impl Fn(&C) -> Vec<PromptMessage>,
) -> Vec<PromptMessage> {
    loop {
        let prompt = build(&ctx);
        if estimate_tokens(&prompt) <= budget || !ctx.trim_oldest() {
            return prompt;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompts::{eval_prompt, extraction_prompt, reply_prompt};
    use crate::template::TemplateVars;
    use crate::test_support::*;

    fn history(n: usize) -> Vec<PromptMessage> {
        (0..n)
            .map(|i| {
                let text = format!("message-{i:02} {}", "words ".repeat(40));
                if i % 2 == 0 {
                    PromptMessage::user(text)
                } else {
                    PromptMessage::assistant(text)
                }
            })
            .collect()
    }

    fn text(prompt: &[PromptMessage]) -> String {
        prompt
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_estimate_errs_on_the_large_side() {
        let m = [PromptMessage::user("x".repeat(300))];
        assert_eq!(estimate_tokens(&m), 100 + TOKENS_PER_MESSAGE);
        assert_eq!(estimate_tokens(&[]), 0);
    }

    #[test]
    fn a_prompt_within_budget_is_untouched() {
        let doc = document();
        let machine = &doc.machines[0];
        let vars = TemplateVars::new("Ada", "female");
        let recent = history(6);
        let ctx = EvalContext {
            persona: &doc.persona,
            machine,
            state: machine.initial_state().unwrap(),
            vars: &vars,
            summary: Some("SUMMARY-TEXT"),
            recent: &recent,
            player_message: "hello",
        };
        assert_eq!(fit_prompt(ctx, 100_000, eval_prompt), eval_prompt(&ctx));
    }

    #[test]
    fn the_past_goes_oldest_first_and_the_rest_stays() {
        let doc = document();
        let machine = &doc.machines[0];
        let state = machine.initial_state().unwrap();
        let vars = TemplateVars::new("Ada", "female");
        let recent = history(20);
        let memories = vec!["MEMORY-OLD".to_string(), "MEMORY-NEW".to_string()];
        let full = ReplyContext {
            persona: &doc.persona,
            machine,
            state,
            vars: &vars,
            happened: None,
            memories: &memories,
            summary: Some("SUMMARY-TEXT"),
            recent: &recent,
            player_message: Some("PLAYER-NOW"),
        };
        let whole = reply_prompt(&full);
        let fixed = reply_prompt(&ReplyContext {
            memories: &[],
            summary: None,
            recent: &[],
            ..full
        });
        // Room for the fixed parts and about five of the twenty messages.
        let budget = estimate_tokens(&fixed) + 5 * 75;
        let fitted = fit_prompt(full, budget, reply_prompt);
        assert!(estimate_tokens(&fitted) <= budget);
        assert!(estimate_tokens(&whole) > budget);
        let t = text(&fitted);
        for gone in [
            "MEMORY-OLD",
            "MEMORY-NEW",
            "SUMMARY-TEXT",
            "message-00",
            "message-14",
        ] {
            assert!(!t.contains(gone), "{gone} trimmed");
        }
        for kept in ["message-19", "message-16", "PLAYER-NOW", "You are Mack"] {
            assert!(t.contains(kept), "{kept} kept");
        }

        // A budget nothing fits: everything from the past goes, the creator's texts stay.
        let tiny = fit_prompt(full, 1, reply_prompt);
        assert_eq!(tiny, fixed);

        // Extraction keeps the message that ended the machine.
        let ex = ExtractionContext {
            persona: &doc.persona,
            machine,
            vars: &vars,
            summary: Some("SUMMARY-TEXT"),
            messages: &recent,
        };
        let t = text(&fit_prompt(ex, 1, extraction_prompt));
        assert!(t.contains("message-19") && !t.contains("message-18") && !t.contains("SUMMARY"));
    }
}
