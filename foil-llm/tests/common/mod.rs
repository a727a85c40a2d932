//! Shared setup: a mock provider, a registry pointing `openai` and `anthropic` at it, a client.

#![allow(dead_code)]

use std::time::Duration;

use foil_llm::{
    ChatMessage, ChatRequest, ClientOptions, LlmClient, LlmError, Providers, Route, Secret,
};
use foil_mock_llm::{MockConfig, MockLlm};

/// A key with a distinctive middle part, so a leak is easy to grep for.
pub(crate) const KEY: &str = "sk-test-LEAKCHECK0123456789abcdefXYZ";
/// The distinctive part of [`KEY`].
pub(crate) const KEY_MARKER: &str = "LEAKCHECK";
/// A generous timeout for calls that are expected to succeed.
pub(crate) const T: Duration = Duration::from_secs(10);
/// The two protocols, as model strings routed to the mock.
pub(crate) const MODELS: [&str; 2] = ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"];

pub(crate) struct Setup {
    pub mock: MockLlm,
    pub providers: Providers,
    pub client: LlmClient,
}

impl Setup {
    pub(crate) async fn new(config: MockConfig) -> Setup {
        Setup::with_options(config, ClientOptions::default()).await
    }

    pub(crate) async fn with_options(config: MockConfig, options: ClientOptions) -> Setup {
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

    pub(crate) fn route(&self, model: &str) -> Route {
        self.providers.resolve(model).unwrap()
    }

    pub(crate) async fn complete(
        &self,
        model: &str,
        req: &ChatRequest,
    ) -> Result<String, LlmError> {
        let key = Secret::new(KEY);
        self.client
            .complete(&self.route(model), Some(&key), req, T)
            .await
    }

    pub(crate) async fn stream_text(
        &self,
        model: &str,
        req: &ChatRequest,
    ) -> Result<String, LlmError> {
        let key = Secret::new(KEY);
        self.client
            .stream(&self.route(model), Some(&key), req, T)
            .await?
            .collect_text()
            .await
    }
}

pub(crate) fn request() -> ChatRequest {
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
pub(crate) fn assert_no_key(error: &LlmError) {
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains(KEY_MARKER), "key leaked: {text}");
        assert!(!text.contains(KEY), "key leaked: {text}");
    }
}
