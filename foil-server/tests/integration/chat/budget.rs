//! The prompt budget (issue 15): with `llm_max_prompt_tokens` set, each step's prompt keeps the
//! creator's texts and the new message and trims the conversation's past oldest first; below
//! the budget nothing is trimmed.

use super::support::{
    chat_persona, mock_app, openai_headers, requests_of, setup, start_mock, Player,
};
use crate::common::Backend;

crate::on_both_databases!(long_conversations_fit_the_prompt_budget,);

const BUDGET: usize = 1200;

fn said(turn: usize) -> String {
    let talk = "and then we talked about the harvest ".repeat(8);
    format!("turn-{turn:02} {}", talk.trim_end())
}

async fn long_conversations_fit_the_prompt_budget(backend: Backend) {
    let mock = start_mock(Default::default()).await;
    let Some(app) = mock_app(backend, &mock, |c| c.llm_max_prompt_tokens = BUDGET).await else {
        return;
    };
    let s = setup(&app, "budget@example.com", &chat_persona("Budgeted", true)).await;
    let player = Player::sdk(&s.key, &s.persona_id, "budget").with_headers(&openai_headers());
    player.init(&app).await;

    for turn in 0..10 {
        mock.clear_requests();
        player.say(&app, &said(turn)).await;
        for step in ["eval", "reply"] {
            let prompt = requests_of(&mock, step).pop().unwrap().prompt_text();
            assert!(
                prompt.contains(&said(turn)),
                "turn {turn} {step}: the new message stays"
            );
            assert!(
                prompt.contains("patient innkeeper"),
                "turn {turn} {step}: the identity stays"
            );
            assert!(
                prompt.chars().count() <= BUDGET * 3,
                "turn {turn} {step}: {} chars",
                prompt.chars().count()
            );
            if turn == 1 {
                assert!(
                    prompt.contains("turn-00"),
                    "{step}: nothing trimmed below the budget"
                );
            }
            if turn == 9 {
                assert!(
                    !prompt.contains("turn-00"),
                    "{step}: the oldest message went first"
                );
                assert!(
                    prompt.contains("turn-08"),
                    "{step}: the newest past message stays"
                );
            }
        }
    }
}
