//! Checks on what a real model says as the NPC: an empty reply, evaluator JSON leaking into
//! the reply, a model speaking as "an AI", and replies too long for a game's dialogue box.
//! Pure functions; the server retries once on a problem and then uses its fallback line.

/// Why a reply must not reach the player as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyProblem {
    /// Nothing but whitespace.
    Empty,
    /// JSON or the evaluator's keys instead of (or inside) the character's words.
    LeakedStructure,
    /// The model stepped out of character ("As an AI language model…").
    SpeaksAsAi,
}

impl ReplyProblem {
    /// A short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyProblem::Empty => "empty",
            ReplyProblem::LeakedStructure => "leaked_structure",
            ReplyProblem::SpeaksAsAi => "speaks_as_ai",
        }
    }
}

/// How many characters of a streamed reply are held back and checked before anything is sent
/// (leaks and "as an AI" show at the start; a longer wait would delay the first words).
pub const HEAD_CHARS: usize = 48;

const AI_PHRASES: [&str; 7] = [
    "as an ai",
    "as a language model",
    "ai language model",
    "i am an ai",
    "i'm an ai",
    "i am a language model",
    "as an artificial intelligence",
];

/// What is wrong with `text`, if anything. `complete`: the whole reply (an empty *head* of a
/// stream is not yet an empty reply).
pub fn inspect(text: &str, complete: bool) -> Option<ReplyProblem> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return complete.then_some(ReplyProblem::Empty);
    }
    let lower = trimmed.to_lowercase();
    if trimmed.starts_with('{')
        || trimmed.starts_with("```")
        || lower.contains("\"transition_index\"")
        || lower.contains("\"decision\":")
        || lower.contains("\"decision\" :")
    {
        return Some(ReplyProblem::LeakedStructure);
    }
    if AI_PHRASES.iter().any(|p| lower.contains(p)) {
        return Some(ReplyProblem::SpeaksAsAi);
    }
    None
}

/// Cuts a reply, piece by piece as it streams, at `max_chars`: past 80 % of the limit the
/// reply ends at the next sentence end; at the limit it ends at a word boundary with `…`.
/// The same rule serves whole replies ([`cut_reply`]).
#[derive(Debug, Clone)]
pub struct ReplyLimiter {
    max_chars: usize,
    emitted: usize,
    stopped: bool,
}

impl ReplyLimiter {
    /// A limiter for replies of at most `max_chars` characters (at least 1).
    pub fn new(max_chars: usize) -> Self {
        ReplyLimiter {
            max_chars: max_chars.max(1),
            emitted: 0,
            stopped: false,
        }
    }

    /// Whether the reply has ended (nothing more is to be sent).
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// The part of `piece` to send; after a cut, [`ReplyLimiter::stopped`] is true and every
    /// later piece yields nothing.
    pub fn take(&mut self, piece: &str) -> String {
        if self.stopped {
            return String::new();
        }
        let soft = self.max_chars * 4 / 5;
        let mut out = String::new();
        let mut chars = piece.chars().peekable();
        while let Some(c) = chars.next() {
            if self.emitted >= self.max_chars {
                // At the hard limit: back to the last word boundary, then an ellipsis.
                let keep = out.trim_end_matches(|c: char| !c.is_whitespace()).len();
                if keep > 0 {
                    out.truncate(keep);
                }
                let trimmed = out.trim_end().len();
                out.truncate(trimmed);
                out.push('…');
                self.stopped = true;
                return out;
            }
            out.push(c);
            self.emitted += 1;
            let ends_sentence = matches!(c, '.' | '!' | '?' | '…')
                && chars.peek().is_none_or(|n| n.is_whitespace() || *n == '"');
            if self.emitted >= soft && ends_sentence {
                if chars.peek() == Some(&'"') {
                    out.push('"');
                }
                self.stopped = true;
                return out;
            }
        }
        out
    }
}

/// A whole reply cut by the rule of [`ReplyLimiter`].
pub fn cut_reply(text: &str, max_chars: usize) -> String {
    ReplyLimiter::new(max_chars).take(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_recognised() {
        assert_eq!(inspect("  \n", true), Some(ReplyProblem::Empty));
        assert_eq!(inspect("  ", false), None, "a stream may still be starting");
        assert_eq!(
            inspect("{\"decision\": \"pass\", \"transition_index\": 0}", true),
            Some(ReplyProblem::LeakedStructure)
        );
        assert_eq!(
            inspect("Sure! \"decision\": \"pass\"", true),
            Some(ReplyProblem::LeakedStructure)
        );
        assert_eq!(
            inspect("```json\n{}\n```", true),
            Some(ReplyProblem::LeakedStructure)
        );
        assert_eq!(
            inspect("As an AI language model, I cannot sell potions.", true),
            Some(ReplyProblem::SpeaksAsAi)
        );
        assert_eq!(inspect("Welcome, traveller! Tea?", true), None);
    }

    #[test]
    fn short_replies_pass_untouched() {
        assert_eq!(cut_reply("Hello there. Tea?", 100), "Hello there. Tea?");
    }

    #[test]
    fn long_replies_end_at_a_sentence_past_four_fifths() {
        let text = "One two three. Four five six. Seven eight nine. Ten eleven twelve.";
        // 80 % of 50 is 40: the first sentence end after 40 characters is after "nine." (47).
        assert_eq!(
            cut_reply(text, 50),
            "One two three. Four five six. Seven eight nine."
        );
        // With 40, that end (47) is past the limit: cut at a word, with an ellipsis.
        assert_eq!(cut_reply(text, 40), "One two three. Four five six. Seven…");
    }

    #[test]
    fn without_a_sentence_end_the_cut_is_at_a_word() {
        let text = "word ".repeat(40);
        let cut = cut_reply(&text, 23);
        assert_eq!(cut, "word word word word…");
        assert!(cut.chars().count() <= 24);
    }

    #[test]
    fn streamed_pieces_are_cut_the_same_way() {
        let text = "One two three. Four five six. Seven eight nine. Ten eleven twelve.";
        let mut limiter = ReplyLimiter::new(50);
        let mut streamed = String::new();
        for piece in text.split_inclusive(' ') {
            streamed.push_str(&limiter.take(piece));
        }
        assert!(limiter.stopped());
        assert_eq!(streamed, cut_reply(text, 50));
    }
}
