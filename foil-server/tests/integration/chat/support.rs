//! Shared pieces of the chat tests: a player driving the SDK routes, the mock provider wired
//! in as `openai` and `anthropic`, test personas and state snapshots.
#![allow(dead_code)]

use std::time::Duration;

use axum::http::StatusCode;
use foil_mock_llm::{MockConfig, MockLlm, RecordedRequest, Reply};
use foil_server::config::{Config, ProviderSettings};
use serde_json::{json, Value};

use crate::common::{Backend, TestApp, TestRequest, TestResponse};

/// Exact key sets of api.md §4.2.
pub(super) const CHAT_RESPONSE_KEYS: [&str; 11] = [
    "message",
    "current_state",
    "score",
    "outcome",
    "decision",
    "follow_up",
    "session_id",
    "scoring_mode",
    "redirect_count",
    "machine_completed",
    "unlocked_machines",
];
pub(super) const UNLOCKED_MACHINE_KEYS: [&str; 4] =
    ["machine_id", "machine_key", "name", "is_auto_advance"];
pub(super) const MACHINE_INFO_KEYS: [&str; 7] = [
    "machine_id",
    "machine_key",
    "name",
    "description",
    "has_session",
    "session_outcome",
    "is_linked",
];
pub(super) const SESSION_INIT_KEYS: [&str; 8] = [
    "session_id",
    "user_session_id",
    "persona_name",
    "persona_description",
    "player_name",
    "player_gender",
    "message",
    "machine_id",
];
pub(super) const SESSION_STATUS_KEYS: [&str; 10] = [
    "session_id",
    "persona_id",
    "machine_id",
    "current_state",
    "score",
    "outcome",
    "player_name",
    "player_gender",
    "started_at",
    "last_message_at",
];
pub(super) const CHAT_HISTORY_KEYS: [&str; 10] = [
    "session_id",
    "persona_id",
    "messages",
    "current_state",
    "score",
    "outcome",
    "player_name",
    "player_gender",
    "started_at",
    "last_message_at",
];
pub(super) const MESSAGE_KEYS: [&str; 8] = [
    "id",
    "role",
    "content",
    "state_key_at_time",
    "score_at_time",
    "decision",
    "follow_up_triggered",
    "created_at",
];
pub(super) const RESET_RESULT_KEYS: [&str; 2] = ["session_id", "message"];
pub(super) const VALIDATE_KEYS: [&str; 3] = ["valid", "model", "error"];

/// The text the mock's summarization step answers with by default.
pub(super) const SUMMARY_MARKER: &str = "SUMMARY-MARKER: the player has been chatting.";
/// The text the mock's reply step answers with by default.
pub(super) const DEFAULT_REPLY: &str = "Mock reply from the character, in several words.";

/// Which pipeline step a request to the mock belongs to.
pub(crate) fn step_of(r: &RecordedRequest) -> &'static str {
    match r.structured_output_name() {
        Some("evaluation") => "eval",
        Some(_) => "extract",
        None if r.prompt_text().contains("You keep the running summary") => "summary",
        None => "reply",
    }
}

/// Recorded requests of one step, oldest first.
pub(super) fn requests_of(mock: &MockLlm, step: &str) -> Vec<RecordedRequest> {
    mock.requests()
        .into_iter()
        .filter(|r| r.step.as_deref() == Some(step))
        .collect()
}

/// The evaluator's answer for `decision` / `transition_index`.
pub(crate) fn eval_answer(decision: &str, index: Option<usize>) -> Reply {
    Reply::json(json!({"decision": decision, "transition_index": index, "reason": "scripted"}))
}

/// A mock whose requests are keyed by step (`eval`, `reply`, `summary`, `extract`) and which,
/// with nothing queued, answers the evaluator with a bare redirect, the reply with
/// [`DEFAULT_REPLY`] and the summary with [`SUMMARY_MARKER`].
pub(crate) async fn start_mock(config: MockConfig) -> MockLlm {
    let config = config
        .with_step_key(|r| Some(step_of(r).to_string()))
        .with_responder(|r| match step_of(r) {
            "eval" => eval_answer("redirect", None),
            "summary" => Reply::text(SUMMARY_MARKER),
            "extract" => Reply::json(json!({})),
            _ => Reply::text(DEFAULT_REPLY),
        });
    MockLlm::start(config).await.expect("mock LLM")
}

/// Points the `openai` and `anthropic` providers at the mock.
pub(super) fn use_mock(config: &mut Config, mock: &MockLlm) {
    config.providers.insert(
        "openai".into(),
        ProviderSettings {
            base_url: Some(mock.openai_base_url()),
            ..Default::default()
        },
    );
    config.providers.insert(
        "anthropic".into(),
        ProviderSettings {
            base_url: Some(mock.anthropic_base_url()),
            ..Default::default()
        },
    );
}

/// An app whose `openai` and `anthropic` providers are `mock`.
pub(super) async fn mock_app(
    backend: Backend,
    mock: &MockLlm,
    tweak: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    TestApp::with_config(backend, |c| {
        use_mock(c, mock);
        tweak(c);
    })
    .await
}

/// Headers selecting the mock's OpenAI protocol for every step.
pub(crate) fn openai_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("x-llm-model", "openai/mock-model"),
        ("x-llm-api-key", "k-test"),
    ]
}

/// Headers selecting the mock's Anthropic protocol for every step.
pub(super) fn anthropic_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("x-llm-model", "anthropic/mock-model"),
        ("x-llm-api-key", "k-test"),
    ]
}

/// A scoring persona built for scripted evaluators (and playable offline):
/// `main`: S0 --pass "the player says hello" (+1)--> S1 --pass "the player says goodbye" (+1)--> END,
/// S0 has a follow-up condition; pass threshold 2; completing `main` with ACCEPT unlocks
/// `epilogue` (a linked machine, not an entry).
pub(super) fn chat_persona(name: &str, published: bool) -> Value {
    json!({
        "persona": {
            "name": name,
            "description": "An NPC for chat tests",
            "identity_prompt": "You are Testa, a patient innkeeper. Greet {{player_name}} warmly.",
            "is_public": published,
            "is_published": published
        },
        "machines": [
            {
                "machine_key": "main",
                "name": "Main scene",
                "description": "The first conversation",
                "is_entry": true,
                "creator_objective": "Find out whether the player is friendly",
                "scoring_mode": "scoring",
                "pass_threshold": 2,
                "fail_threshold": -3,
                "states": [
                    {"state_key": "S0", "label": "Greeting", "prompt_instruction": "Welcome the player.",
                     "is_initial_state": true, "follow_up_condition": "the player is unclear", "display_order": 0},
                    {"state_key": "S1", "label": "Talking", "prompt_instruction": "Chat about the weather.",
                     "display_order": 1},
                    {"state_key": "END", "label": "Farewell", "prompt_instruction": "Say goodbye.",
                     "is_terminal_state": true, "display_order": 2}
                ],
                "transitions": [
                    {"from_state_key": "S0", "to_state_key": "S1", "decision_type": "pass",
                     "condition": "the player says hello", "score_delta": 1, "priority": 0},
                    {"from_state_key": "S1", "to_state_key": "END", "decision_type": "pass",
                     "condition": "the player says goodbye", "score_delta": 1, "priority": 0}
                ]
            },
            {
                "machine_key": "epilogue",
                "name": "Epilogue",
                "is_entry": false,
                "pass_threshold": 1,
                "states": [
                    {"state_key": "E0", "prompt_instruction": "Reminisce.", "is_initial_state": true},
                    {"state_key": "E_END", "prompt_instruction": "Part ways.", "is_terminal_state": true}
                ],
                "transitions": [
                    {"from_state_key": "E0", "to_state_key": "E_END", "decision_type": "pass",
                     "condition": "the player says farewell", "score_delta": 1}
                ]
            }
        ],
        "machine_links": [
            {"from_machine_key": "main", "to_machine_key": "epilogue",
             "condition_type": "outcome", "condition_value": "ACCEPT", "is_auto_advance": true}
        ]
    })
}

/// A signed-up creator with an API key and one saved persona.
pub(super) struct Setup {
    pub token: String,
    pub key: String,
    pub persona_id: String,
}

/// Signs `email` up, makes an API key and saves `doc`.
pub(super) async fn setup(app: &TestApp, email: &str, doc: &Value) -> Setup {
    let token = app.signup(email).await;
    let key = app.create_key(&token).await;
    let persona_id = app.save_persona(&token, doc).await;
    Setup {
        token,
        key,
        persona_id,
    }
}

/// How a player authenticates: an API key (SDK routes) or a JWT (web-chat routes).
#[derive(Clone, Debug)]
pub(super) enum Auth {
    Key(String),
    Jwt(String),
}

/// A player of one persona, driving its chat routes.
#[derive(Clone, Debug)]
pub(super) struct Player {
    pub auth: Auth,
    pub persona_id: String,
    pub user_session_id: String,
    /// `?machine_id=` sent with every call, when set.
    pub machine_id: Option<String>,
    /// Extra headers (X-LLM-*) sent with every call.
    pub headers: Vec<(String, String)>,
}

impl Player {
    pub(super) fn sdk(key: &str, persona_id: &str, user_session_id: &str) -> Self {
        Player {
            auth: Auth::Key(key.into()),
            persona_id: persona_id.into(),
            user_session_id: user_session_id.into(),
            machine_id: None,
            headers: Vec::new(),
        }
    }

    pub(super) fn web(token: &str, persona_id: &str, user_session_id: &str) -> Self {
        Player {
            auth: Auth::Jwt(token.into()),
            ..Player::sdk("", persona_id, user_session_id)
        }
    }

    pub(super) fn with_headers(mut self, headers: &[(&str, &str)]) -> Self {
        self.headers
            .extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        self
    }

    pub(super) fn on_machine(mut self, machine_id: Option<&str>) -> Self {
        self.machine_id = machine_id.map(str::to_string);
        self
    }

    /// `/api/v1/sdk/chat/{pid}/{tail}` or `/api/v1/chat/{pid}/{tail}`.
    pub(super) fn path(&self, tail: &str) -> String {
        let family = match self.auth {
            Auth::Key(_) => "/api/v1/sdk/chat",
            Auth::Jwt(_) => "/api/v1/chat",
        };
        format!("{family}/{}/{tail}", self.persona_id)
    }

    fn authed(&self, req: TestRequest) -> TestRequest {
        let mut req = match &self.auth {
            Auth::Key(key) => req.api_key(key),
            Auth::Jwt(token) => req.bearer(token),
        };
        for (name, value) in &self.headers {
            req = req.header(name, value);
        }
        req
    }

    fn machine_query(&self) -> String {
        match &self.machine_id {
            Some(id) => format!("?machine_id={id}"),
            None => String::new(),
        }
    }

    fn session_query(&self) -> String {
        let mut q = format!("?user_session_id={}", self.user_session_id);
        if let Some(id) = &self.machine_id {
            q.push_str(&format!("&machine_id={id}"));
        }
        q
    }

    pub(super) fn init_request(&self, name: &str, gender: &str) -> TestRequest {
        self.authed(
            TestRequest::post(&self.path(&format!("init-session{}", self.machine_query()))).json(
                &json!({
                    "user_session_id": self.user_session_id,
                    "player_name": name,
                    "player_gender": gender
                }),
            ),
        )
    }

    pub(super) fn message_request(&self, message: &str) -> TestRequest {
        self.authed(
            TestRequest::post(&self.path(&format!("message{}", self.machine_query())))
                .json(&json!({"message": message, "user_session_id": self.user_session_id})),
        )
    }

    pub(super) fn stream_request(&self, message: &str) -> TestRequest {
        self.authed(
            TestRequest::post(&self.path(&format!("message/stream{}", self.machine_query())))
                .json(&json!({"message": message, "user_session_id": self.user_session_id})),
        )
    }

    pub(super) fn get_request(&self, what: &str) -> TestRequest {
        self.authed(TestRequest::get(
            &self.path(&format!("{what}{}", self.session_query())),
        ))
    }

    pub(super) fn machines_request(&self) -> TestRequest {
        self.authed(TestRequest::get(&self.path(&format!(
            "machines?user_session_id={}",
            self.user_session_id
        ))))
    }

    pub(super) fn reset_request(&self) -> TestRequest {
        self.authed(TestRequest::post(
            &self.path(&format!("reset{}", self.session_query())),
        ))
    }

    /// Starts (or starts over) the session; asserts 200 and returns the SessionInit.
    pub(super) async fn init(&self, app: &TestApp) -> Value {
        let res = app.send(self.init_request("Ada", "female")).await;
        assert_eq!(res.status, StatusCode::OK, "init-session: {}", res.text);
        res.json()
    }

    /// Sends a message; asserts 200 and returns the ChatResponse.
    pub(super) async fn say(&self, app: &TestApp, message: &str) -> Value {
        let res = app.send(self.message_request(message)).await;
        assert_eq!(
            res.status,
            StatusCode::OK,
            "message {message:?}: {}",
            res.text
        );
        res.json()
    }

    pub(super) async fn history(&self, app: &TestApp) -> Value {
        let res = app.send(self.get_request("history")).await;
        assert_eq!(res.status, StatusCode::OK, "history: {}", res.text);
        res.json()
    }

    pub(super) async fn status(&self, app: &TestApp) -> Value {
        let res = app.send(self.get_request("session")).await;
        assert_eq!(res.status, StatusCode::OK, "session: {}", res.text);
        res.json()
    }

    pub(super) async fn machines(&self, app: &TestApp) -> Vec<Value> {
        let res = app.send(self.machines_request()).await;
        assert_eq!(res.status, StatusCode::OK, "machines: {}", res.text);
        res.json().as_array().expect("a list").clone()
    }

    /// Everything a failed turn must leave untouched: the whole history and the status.
    pub(super) async fn snapshot(&self, app: &TestApp) -> (Value, Value) {
        (self.history(app).await, self.status(app).await)
    }
}

/// The machine id of `machine_key` in a `machines` listing.
pub(super) fn machine_id_of(machines: &[Value], machine_key: &str) -> Option<String> {
    machines
        .iter()
        .find(|m| m["machine_key"] == machine_key)
        .map(|m| m["machine_id"].as_str().unwrap().to_string())
}

/// Asserts a 429 in the rate-limit shape (`{"error": "..."}`, `Retry-After`).
#[track_caller]
pub(super) fn assert_rate_limited(res: &TestResponse, retry_after: &str) {
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text);
    assert_eq!(
        res.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some(retry_after),
        "Retry-After"
    );
    let body = res.json();
    assert_eq!(crate::common::keys(&body), ["error"], "{}", res.text);
    assert!(
        body["error"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        res.text
    );
}

/// Waits (bounded) until `check` holds, polling; returns whether it did.
pub(super) async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
