//! The built-in `offline` provider (personas.md §5): deterministic, no network, no key.
//!
//! It does every LLM step of a turn, so any persona can be played and tested with no provider
//! at all:
//!
//! * **Evaluation** ([`offline_evaluate`]) — word overlap. The player message and each
//!   candidate's condition are cut into lowercase alphanumeric words (Unicode-aware); words
//!   under 3 characters and common English stop words are dropped. A candidate scores one point
//!   per distinct condition word found in the message; two words also match when both have at
//!   least 4 characters and one is a prefix of the other (`polite`/`politely`,
//!   `bribe`/`bribery`). A message containing `?` in a state with a follow-up condition is a
//!   `follow_up`; otherwise the best-scoring candidate wins (ties → the earlier candidate in
//!   priority order); when nothing matches, the first redirect candidate, or a redirect with no
//!   transition.
//! * **Reply** ([`offline_reply`]) — a line built from the persona name, what happened and the
//!   state's label and instruction.
//! * **Summary** ([`offline_summary`]) and **extraction** ([`offline_extract`]) — plain
//!   condensations of the messages.
//!
//! Authors who want the offline provider to drive a machine put distinctive words in their
//! conditions (`"the player offers a bribe: coin, gold, silver"`).

use std::collections::{BTreeMap, HashSet};

use foil_types::persona::{DecisionType, Machine, Outcome, State};

use crate::eval::Evaluation;
use crate::prompts::{PromptMessage, Role};
use crate::session::{candidates, has_follow_up, Decision, Happened};
use crate::template::{fill_template, TemplateVars};
use crate::text::truncate_chars;

/// Words that carry no meaning for matching. Contraction stems (`don` from "don't") are here
/// because the tokenizer splits on apostrophes.
const STOP_WORDS: &[&str] = &[
    "the", "and", "you", "your", "yours", "for", "with", "that", "this", "these", "those", "are",
    "was", "were", "been", "being", "have", "has", "had", "but", "not", "can", "will", "what",
    "who", "whom", "how", "why", "when", "where", "which", "please", "just", "some", "any", "from",
    "about", "into", "onto", "there", "here", "they", "them", "their", "then", "than", "very",
    "its", "our", "ours", "out", "all", "get", "got", "would", "could", "should", "like", "want",
    "she", "her", "him", "his", "hers", "its", "also", "too", "did", "does", "doing", "may",
    "might", "must", "shall", "over", "such", "only", "own", "same", "each", "both", "few", "more",
    "most", "other", "again", "once", "off", "yes", "yeah", "okay", "well", "really", "player",
    "players", "npc", "don", "doesn", "didn", "isn", "aren", "wasn", "weren", "won", "wouldn",
    "couldn", "shouldn", "haven", "hasn", "hadn", "can't", "i'm",
];

/// The meaningful words of `text`: lowercase, alphanumeric, ≥ 3 characters, no stop words.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .collect()
}

/// Equal, or one a prefix of the other when both have at least 4 characters.
fn word_matches(a: &str, b: &str) -> bool {
    a == b
        || (a.chars().count() >= 4
            && b.chars().count() >= 4
            && (a.starts_with(b) || b.starts_with(a)))
}

/// How many distinct words of `condition` appear in `message_words`.
fn overlap(condition: &str, message_words: &[String]) -> usize {
    let distinct: HashSet<String> = words(condition).into_iter().collect();
    distinct
        .iter()
        .filter(|c| message_words.iter().any(|m| word_matches(c, m)))
        .count()
}

/// The offline evaluator: picks a decision for `player_message` in state `state_key` by word
/// overlap with the candidates' conditions (see the module documentation). Always returns a
/// decision [`apply`](crate::apply) accepts for a non-terminal state; an unknown state gives
/// `Redirect { index: None }`.
pub fn offline_evaluate(machine: &Machine, state_key: &str, player_message: &str) -> Decision {
    offline_evaluation(machine, state_key, player_message).decision
}

/// [`offline_evaluate`] with the reason it would give, so sessions played offline explain
/// their decisions like a model's would.
pub fn offline_evaluation(machine: &Machine, state_key: &str, player_message: &str) -> Evaluation {
    let decided = |decision, reason: String| Evaluation {
        decision,
        reason: Some(reason),
    };
    let Some(state) = machine.state(state_key) else {
        return decided(
            Decision::Redirect { index: None },
            format!("the state {state_key:?} does not exist"),
        );
    };
    if player_message.contains(['?', '？']) && has_follow_up(state) {
        return decided(
            Decision::FollowUp,
            "the player asked a question and this state has a follow-up condition".into(),
        );
    }
    let cands = candidates(machine, state_key);
    let message_words = words(player_message);
    let mut best: Option<(usize, usize)> = None; // (index, score)
    for (i, t) in cands.iter().enumerate() {
        let score = overlap(&t.condition, &message_words);
        // Strictly greater: on a tie the earlier (higher-priority) candidate stays.
        if score > 0 && best.is_none_or(|(_, s)| score > s) {
            best = Some((i, score));
        }
    }
    match best {
        Some((i, words)) => decided(
            Decision::for_transition(cands[i].decision_type, i),
            format!(
                "the message shares {words} word{} with the condition \"{}\"",
                if words == 1 { "" } else { "s" },
                cands[i].condition
            ),
        ),
        None => decided(
            Decision::Redirect {
                index: cands
                    .iter()
                    .position(|t| t.decision_type == DecisionType::Redirect),
            },
            "no transition's condition shares a word with the message".into(),
        ),
    }
}

/// The first sentence of `text` (at most 160 characters).
fn first_sentence(text: &str) -> String {
    let text = text.trim();
    let end = text
        .char_indices()
        .find(|&(i, c)| {
            matches!(c, '.' | '!' | '?')
                && text[i + c.len_utf8()..].starts_with(char::is_whitespace)
        })
        .map_or(text.len(), |(i, c)| i + c.len_utf8());
    truncate_chars(&text[..end], 160)
}

/// The offline NPC reply: a deterministic line composed from the persona name, the player's
/// name, what happened (`None` for the greeting) and the state's label and instruction, with
/// templates filled. `state` is the state after the turn.
pub fn offline_reply(
    persona_name: &str,
    state: &State,
    happened: Option<&Happened>,
    vars: &TemplateVars,
) -> String {
    let name = persona_name.trim();
    let player = match vars.player_name.trim() {
        "" => "traveller",
        p => p,
    };
    let line = match happened {
        None => format!("{name} looks up. \"Well met, {player}.\""),
        Some(Happened::Passed { .. }) => format!("{name} nods. \"Very well, {player}.\""),
        Some(Happened::Penalized { .. }) => {
            format!("{name} frowns. \"I won't forget that, {player}. But let's go on.\"")
        }
        Some(Happened::Redirected { .. }) => {
            format!("{name} shakes their head. \"That's not what I'm after, {player}.\"")
        }
        Some(Happened::FollowUp { condition }) => format!(
            "{name} tilts their head. \"Be clearer, {player}.\" (unclear: {})",
            first_sentence(&fill_template(condition, vars))
        ),
        Some(Happened::Ended { outcome, .. }) => match outcome {
            Outcome::Accept => format!("{name} smiles. \"We're done here, {player}. Well done.\""),
            Outcome::Reject => format!("{name} turns away. \"We're done here, {player}.\""),
            Outcome::KickOut => format!("{name} points at the door. \"Out, {player}. Now.\""),
        },
    };
    let label = state
        .label
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or(&state.state_key);
    let instruction = first_sentence(&fill_template(&state.prompt_instruction, vars));
    let mut reply = format!("{line} [{}]", fill_template(label, vars));
    if !instruction.is_empty() {
        reply.push(' ');
        reply.push_str(&instruction);
    }
    reply
}

/// Longest offline summary; older lines are dropped first.
const MAX_SUMMARY_CHARS: usize = 2000;

/// The offline summary: the previous summary followed by one short line per message
/// (`Player: …` / `<persona>: …`, each cut to 120 characters), keeping the newest lines within
/// 2,000 characters.
pub fn offline_summary(
    persona_name: &str,
    previous_summary: Option<&str>,
    messages: &[PromptMessage],
) -> String {
    let mut lines: Vec<String> = previous_summary
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    for m in messages {
        let who = match m.role {
            Role::User => "Player",
            Role::Assistant => persona_name,
            Role::System => continue,
        };
        let text = m.content.split_whitespace().collect::<Vec<_>>().join(" ");
        if !text.is_empty() {
            lines.push(format!("{who}: {}", truncate_chars(&text, 120)));
        }
    }
    let mut total: usize = lines.iter().map(|l| l.chars().count() + 1).sum();
    let mut start = 0;
    while total > MAX_SUMMARY_CHARS && start < lines.len() {
        total -= lines[start].chars().count() + 1;
        start += 1;
    }
    lines[start..].join("\n")
}

/// The sentences of `text` (split after `.`, `!` or `?` followed by white space).
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text.trim();
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .char_indices()
            .find(|&(i, c)| {
                matches!(c, '.' | '!' | '?')
                    && rest[i + c.len_utf8()..].starts_with(char::is_whitespace)
            })
            .map_or(rest.len(), |(i, c)| i + c.len_utf8());
        let (sentence, tail) = rest.split_at(end);
        rest = tail.trim_start();
        Some(sentence)
    })
}

/// Whether some word of `text` matches some word in `hint_words`.
fn mentions(text: &str, hint_words: &[String]) -> bool {
    words(text)
        .iter()
        .any(|w| hint_words.iter().any(|h| word_matches(h, w)))
}

/// The offline extraction of a finished conversation's output variables. For each variable:
/// the last sentence, in the player's messages, that mentions a word of its key (`quest_item`
/// → "quest", "item"), else one that mentions a word of its extraction prompt, else the whole
/// last player message; cut to 200 characters. Variables stay unset when the player said
/// nothing.
pub fn offline_extract(machine: &Machine, messages: &[PromptMessage]) -> BTreeMap<String, String> {
    let player: Vec<&str> = messages
        .iter()
        .filter(|m| m.role == Role::User)
        .map(|m| m.content.trim())
        .filter(|c| !c.is_empty())
        .collect();
    let last_mentioning = |hint: &str| -> Option<&str> {
        let hint_words = words(hint);
        player
            .iter()
            .rev()
            .find_map(|msg| sentences(msg).filter(|s| mentions(s, &hint_words)).last())
    };
    let mut out = BTreeMap::new();
    for o in &machine.output_variables {
        let found = last_mentioning(&o.key)
            .or_else(|| last_mentioning(&o.extraction_prompt))
            .or_else(|| player.last().copied());
        if let Some(value) = found {
            out.insert(o.key.clone(), truncate_chars(value, 200));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use crate::{apply, EndReason, SessionState};
    use foil_types::persona::{OutputVariable, ScoringMode};

    #[test]
    fn tokenizer_lowercases_splits_and_filters() {
        assert_eq!(
            words("Hello, the GOOD café-owner! I'm at ÉCOLE no.5 — what a day"),
            ["hello", "good", "café", "owner", "école", "day"]
        );
        assert!(words("a an it is of to").is_empty());
    }

    #[test]
    fn prefix_matching_needs_four_characters() {
        assert!(word_matches("polite", "politely"));
        assert!(word_matches("bribery", "bribe"));
        assert!(word_matches("tea", "tea"));
        assert!(
            !word_matches("tea", "team"),
            "3-letter words match only exactly"
        );
        assert!(!word_matches("coin", "coffee"));
    }

    // S0 candidates: 0 pass "orders politely", 1 reject "is rude", 2 redirect "chats about the
    // weather", 3 redirect "hums a song", 4 kick_out "throws a cup"; follow-up allowed.
    fn eval(message: &str) -> Decision {
        offline_evaluate(&scoring_machine(), "S0", message)
    }

    #[test]
    fn picks_the_matching_candidate() {
        assert_eq!(
            eval("I'd like to ORDER, politely."),
            Decision::Pass { index: 0 }
        );
        assert_eq!(eval("You are so rude"), Decision::Reject { index: 1 });
        assert_eq!(
            eval("Lovely weather today"),
            Decision::Redirect { index: Some(2) }
        );
        assert_eq!(
            eval("*hums a little song*"),
            Decision::Redirect { index: Some(3) }
        );
        assert_eq!(
            eval("I throw the cup at you"),
            Decision::KickOut { index: 4 }
        );
    }

    #[test]
    fn prefix_matches_count() {
        // "order" ~ "orders", "polite" ~ "politely"
        assert_eq!(
            eval("An order, polite as ever"),
            Decision::Pass { index: 0 }
        );
        // ...but "ordering" is no prefix of "orders", nor the other way round.
        assert_eq!(eval("ordering"), Decision::Redirect { index: Some(2) });
    }

    #[test]
    fn higher_score_beats_priority() {
        // "rude" matches the reject (1 word); "throws" + "cup" match the kick-out (2 words).
        assert_eq!(
            eval("rude, and it throws a cup"),
            Decision::KickOut { index: 4 }
        );
    }

    #[test]
    fn ties_go_to_the_earlier_candidate() {
        // One word each for the pass ("orders") and the kick-out ("cup").
        assert_eq!(eval("orders a cup"), Decision::Pass { index: 0 });
        // One word each for two redirects: the first in priority order wins.
        assert_eq!(eval("weather song"), Decision::Redirect { index: Some(2) });
        // Distinct words count once: "rude rude rude" is still 1 and ties with "cup".
        assert_eq!(eval("rude rude rude cup"), Decision::Reject { index: 1 });
    }

    #[test]
    fn question_marks_ask_a_follow_up_where_allowed() {
        assert_eq!(eval("Can I order politely?"), Decision::FollowUp);
        assert_eq!(eval("Puis-je commander？"), Decision::FollowUp);
        // S1 has no follow-up condition: the question is evaluated normally.
        assert_eq!(
            offline_evaluate(&scoring_machine(), "S1", "Who pays?"),
            Decision::Pass { index: 0 }
        );
    }

    #[test]
    fn nothing_matching_redirects() {
        assert_eq!(eval("Blorp."), Decision::Redirect { index: Some(2) });
        assert_eq!(eval(""), Decision::Redirect { index: Some(2) });
        // No redirect transitions in S1: a redirect without a transition.
        assert_eq!(
            offline_evaluate(&scoring_machine(), "S1", "Blorp."),
            Decision::Redirect { index: None }
        );
        assert_eq!(
            offline_evaluate(&scoring_machine(), "GONE", "pays"),
            Decision::Redirect { index: None }
        );
    }

    #[test]
    fn stop_words_never_match() {
        let mut m = scoring_machine();
        m.transitions[5].condition = "the player says that they would like this".into();
        // Every word of the message is a stop word or too short.
        assert_eq!(
            offline_evaluate(&m, "S0", "the player would like this, that's all"),
            Decision::Redirect { index: Some(2) }
        );
    }

    #[test]
    fn decisions_always_apply() {
        let m = scoring_machine();
        for msg in ["orders", "rude", "weather", "song", "cup", "?", "nothing"] {
            let s = SessionState::initial(&m).unwrap();
            let d = offline_evaluate(&m, "S0", msg);
            assert!(apply(&m, &s, d).is_ok(), "{msg}: {d:?}");
        }
    }

    fn vars() -> TemplateVars {
        TemplateVars::new("Ada", "female").with_vars([("drink", "mocha")])
    }

    #[test]
    fn replies_differ_by_what_happened() {
        let mut s = state("S1", false, false);
        s.label = Some("Taking the {{var.drink}} order".into());
        s.prompt_instruction = "Ask {{player_name}} what size. Then grumble.".into();
        let reply = |h: Option<&Happened>| offline_reply("Mack", &s, h, &vars());
        assert_eq!(
            reply(None),
            "Mack looks up. \"Well met, Ada.\" [Taking the mocha order] Ask Ada what size."
        );
        let passed = reply(Some(&Happened::Passed {
            condition: "x".into(),
        }));
        assert!(
            passed.starts_with("Mack nods. \"Very well, Ada.\""),
            "{passed}"
        );
        let all = [
            reply(None),
            passed,
            reply(Some(&Happened::Penalized {
                condition: "x".into(),
            })),
            reply(Some(&Happened::Redirected { condition: None })),
            reply(Some(&Happened::FollowUp {
                condition: "the {{var.drink}} size is unclear".into(),
            })),
            reply(Some(&Happened::Ended {
                outcome: Outcome::Accept,
                reason: EndReason::TerminalState,
                condition: None,
            })),
            reply(Some(&Happened::Ended {
                outcome: Outcome::Reject,
                reason: EndReason::FailThreshold,
                condition: None,
            })),
            reply(Some(&Happened::Ended {
                outcome: Outcome::KickOut,
                reason: EndReason::KickedOut,
                condition: None,
            })),
        ];
        assert!(
            all[4].contains("(unclear: the mocha size is unclear)"),
            "{}",
            all[4]
        );
        let distinct: HashSet<&String> = all.iter().collect();
        assert_eq!(distinct.len(), all.len(), "{all:#?}");
        // Deterministic.
        assert_eq!(reply(None), reply(None));
    }

    #[test]
    fn reply_falls_back_to_the_state_key_and_a_generic_player() {
        let mut s = state("S_END", false, true);
        s.label = None;
        s.prompt_instruction = String::new();
        let r = offline_reply("Mack", &s, None, &TemplateVars::default());
        assert_eq!(r, "Mack looks up. \"Well met, traveller.\" [S_END]");
    }

    #[test]
    fn sentences_split_after_terminal_punctuation() {
        let got: Vec<&str> = sentences("  One. Two! Three? v1.5 is out.\nFour").collect();
        assert_eq!(got, ["One.", "Two!", "Three?", "v1.5 is out.", "Four"]);
        assert_eq!(sentences("   ").count(), 0);
    }

    #[test]
    fn first_sentence_cuts_at_sentence_end() {
        assert_eq!(first_sentence("One. Two."), "One.");
        assert_eq!(
            first_sentence("Version 1.5 is out! Yes."),
            "Version 1.5 is out!"
        );
        assert_eq!(first_sentence("No end"), "No end");
        assert_eq!(first_sentence(&"é".repeat(300)).chars().count(), 161);
    }

    #[test]
    fn summary_appends_and_stays_bounded() {
        let msgs = [
            PromptMessage::user("Hello   there,\nMack"),
            PromptMessage::assistant("What."),
            PromptMessage::system("ignored"),
        ];
        assert_eq!(
            offline_summary("Mack", Some("Ada arrived."), &msgs),
            "Ada arrived.\nPlayer: Hello there, Mack\nMack: What."
        );
        let many: Vec<PromptMessage> = (0..100)
            .map(|i| PromptMessage::user(format!("message number {i} {}", "x".repeat(50))))
            .collect();
        let s = offline_summary("Mack", None, &many);
        assert!(s.chars().count() <= MAX_SUMMARY_CHARS);
        assert!(s.ends_with(&format!("message number 99 {}", "x".repeat(50))));
        assert!(!s.contains("message number 0 "));
        assert_eq!(offline_summary("Mack", None, &[]), "");
    }

    #[test]
    fn extraction_prefers_messages_about_the_key() {
        let mut m = machine("meet", ScoringMode::Scoring, vec![], vec![]);
        m.output_variables = vec![
            OutputVariable {
                key: "quest_item".into(),
                extraction_prompt: "What is the player looking for?".into(),
            },
            OutputVariable {
                key: "home_town".into(),
                extraction_prompt: "Where does the player come from? Their village.".into(),
            },
            OutputVariable {
                key: "mood".into(),
                extraction_prompt: "How did they feel?".into(),
            },
        ];
        let msgs = [
            PromptMessage::user("Greetings. I seek an item of power: the Sunstone. It glows."),
            PromptMessage::assistant("Do you now. Where are you from? My town is far."),
            PromptMessage::user("My village is Hollowmere."),
            PromptMessage::user("  Farewell!  "),
        ];
        let got = offline_extract(&m, &msgs);
        // Only the sentence that mentions the key.
        assert_eq!(got["quest_item"], "I seek an item of power: the Sunstone.");
        // "town" is only in the NPC's line; the extraction prompt's "village" finds the answer.
        assert_eq!(got["home_town"], "My village is Hollowmere.");
        // Nothing relevant: the last player message.
        assert_eq!(got["mood"], "Farewell!");
        assert!(offline_extract(&m, &[PromptMessage::assistant("Hi")]).is_empty());
    }
}
