//! Shared setup: a mock provider, a registry pointing `openai` and `anthropic` at it, a client.

#![allow(dead_code)]

use std::time::Duration;

use foil_llm::{
    ChatMessage, ChatRequest, ClientOptions, LlmClient, LlmError, Providers, Route, Secret,
};
use foil_mock_llm::{MockConfig, MockLlm};

/// A key with a distinctive middle part, so a leak is easy to grep for.
pub const KEY: &str = "sk-test-LEAKCHECK0123456789abcdefXYZ";
/// The distinctive part of [`KEY`].
pub const KEY_MARKER: &str = "LEAKCHECK";
/// A generous timeout for calls that are expected to succeed.
pub const T: Duration = Duration::from_secs(10);
/// The two protocols, as model strings routed to the mock.
pub const MODELS: [&str; 2] = ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"];

pub struct Setup {
    pub mock: MockLlm,
    pub providers: Providers,
    pub client: LlmClient,
}

impl Setup {
    pub async fn new(config: MockConfig) -> Setup {
        Setup::with_options(config, ClientOptions::default()).await
    }

    pub async fn with_options(config: MockConfig, options: ClientOptions) -> Setup {
        let mock = MockLlm::start(config).await.expect("mock starts");
        let mut providers = Providers::with_defaults();
        providers
            .set_base_url("openai", &mock.openai_base_url())
            .unwrap();
        providers
            .set_base_url("anthropic", &mock.anthropic_base_url())
            .unwrap();
        let client = LlmClient::new(ClientOptions {
            use_env_proxy: false,
            ..options
        })
        .unwrap();
        Setup {
            mock,
            providers,
            client,
        }
    }

    pub fn route(&self, model: &str) -> Route {
        self.providers.resolve(model).unwrap()
    }

    pub async fn complete(&self, model: &str, req: &ChatRequest) -> Result<String, LlmError> {
        let key = Secret::new(KEY);
        self.client
            .complete(&self.route(model), Some(&key), req, T)
            .await
    }

    pub async fn stream_text(&self, model: &str, req: &ChatRequest) -> Result<String, LlmError> {
        let key = Secret::new(KEY);
        self.client
            .stream(&self.route(model), Some(&key), req, T)
            .await?
            .collect_text()
            .await
    }
}

pub fn request() -> ChatRequest {
    ChatRequest::new(vec![
        ChatMessage::system("You are Mack, a grumpy barista."),
        ChatMessage::assistant("What do you want?"),
        ChatMessage::user("A latte, please."),
    ])
    .with_temperature(0.5)
    .with_max_tokens(200)
    .with_step("response")
}

/// Asserts the key appears in neither the Display nor the Debug form of an error.
pub fn assert_no_key(error: &LlmError) {
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains(KEY_MARKER), "key leaked: {text}");
        assert!(!text.contains(KEY), "key leaked: {text}");
    }
}
