//! Output variables read out of what real models answer (issue 15): the requested JSON, JSON
//! wrapped in prose and the schema's name, `key: value` lines, and — with one key asked — plain
//! text. Each answer, played by the mock over the real wire protocol, must reach the linked
//! machine's prompts through `{{var.drink}}`.

use foil_mock_llm::Reply;
use serde_json::json;

use super::support::{
    chat_persona, eval_answer, machine_id_of, mock_app, openai_headers, requests_of, setup,
    start_mock, Player,
};
use crate::common::Backend;

crate::on_both_databases!(extracted_variables_reach_the_next_machine,);

async fn extracted_variables_reach_the_next_machine(backend: Backend) {
    let mock = start_mock(Default::default()).await;
    let Some(app) = mock_app(backend, &mock, |_| {}).await else {
        return;
    };
    let mut doc = chat_persona("Remembering", true);
    doc["machines"][0]["output_variables"] =
        json!([{"key": "drink", "extraction_prompt": "What the player drinks"}]);
    doc["machines"][1]["states"][0]["prompt_instruction"] =
        json!("Reminisce about the {{var.drink}}.");
    let s = setup(&app, "extraction@example.com", &doc).await;

    let answers = [
        Reply::json(json!({"drink": "mocha"})),
        Reply::text("Sure! ```json\n{\"output_variables\": {\"Drink\": \"mocha\"}}\n```"),
        Reply::text("- drink: mocha"),
        Reply::text("\"mocha.\""),
    ];
    for (i, answer) in answers.into_iter().enumerate() {
        let player = Player::sdk(&s.key, &s.persona_id, &format!("extract-{i}"))
            .with_headers(&openai_headers());
        player.init(&app).await;
        mock.clear_requests();
        mock.push_reply_for("eval", eval_answer("pass", Some(0)));
        player.say(&app, "hello there").await;
        mock.push_reply_for("eval", eval_answer("pass", Some(0)));
        mock.push_reply_for("extract", answer);
        let end = player.say(&app, "a mocha please, goodbye").await;
        assert_eq!(end["outcome"], "ACCEPT", "case {i}: {end}");
        assert_eq!(requests_of(&mock, "extract").len(), 1, "case {i}");

        let epilogue = machine_id_of(&player.machines(&app).await, "epilogue").unwrap();
        let epilogue = player.clone().on_machine(Some(&epilogue));
        epilogue.init(&app).await;
        mock.clear_requests();
        epilogue.say(&app, "remember me?").await;
        let reply = requests_of(&mock, "reply").pop().expect("a reply request");
        assert!(
            reply.prompt_text().contains("Reminisce about the mocha."),
            "case {i}: {}",
            reply.prompt_text()
        );
    }
}
