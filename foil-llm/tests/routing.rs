//! Model routing (personas.md §5): LiteLLM-style `provider/model`, bare names, config.

use foil_llm::{LlmError, ProviderConfig, ProviderKind, Providers, Secret};

#[test]
fn routing_table() {
    let providers = Providers::with_defaults();
    let cases = [
        ("gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("o1", "openai", "o1"),
        ("o1-mini", "openai", "o1-mini"),
        ("o3-mini", "openai", "o3-mini"),
        ("o4-mini", "openai", "o4-mini"),
        ("chatgpt-4o-latest", "openai", "chatgpt-4o-latest"),
        (
            "claude-3-5-sonnet-20241022",
            "anthropic",
            "claude-3-5-sonnet-20241022",
        ),
        ("offline", "offline", "offline"),
        ("openai/gpt-4o", "openai", "gpt-4o"),
        (
            "anthropic/claude-sonnet-4-5",
            "anthropic",
            "claude-sonnet-4-5",
        ),
        ("groq/llama-3.1-8b-instant", "groq", "llama-3.1-8b-instant"),
        (
            "mistral/mistral-small-latest",
            "mistral",
            "mistral-small-latest",
        ),
        ("deepseek/deepseek-chat", "deepseek", "deepseek-chat"),
        (
            "together_ai/meta-llama/Llama-3-8b-chat-hf",
            "together_ai",
            "meta-llama/Llama-3-8b-chat-hf",
        ),
        (
            "openrouter/meta-llama/llama-3",
            "openrouter",
            "meta-llama/llama-3",
        ),
        ("xai/grok-2", "xai", "grok-2"),
        ("gemini/gemini-2.0-flash", "gemini", "gemini-2.0-flash"),
        ("ollama/llama3.2:1b", "ollama", "llama3.2:1b"),
        ("offline/anything", "offline", "anything"),
        ("  gpt-4o  ", "openai", "gpt-4o"),
        ("OpenAI/gpt-4o", "openai", "gpt-4o"),
    ];
    for (model, provider, name) in cases {
        let route = providers
            .resolve(model)
            .unwrap_or_else(|e| panic!("{model}: {e}"));
        assert_eq!(route.provider_name(), provider, "{model}");
        assert_eq!(route.model, name, "{model}");
    }
}

#[test]
fn unknown_models_are_rejected_with_400() {
    let providers = Providers::with_defaults();
    for model in [
        "",
        "   ",
        "llama3",
        "meta-llama/llama-3",
        "openai/",
        "nope/gpt-4o",
        "gpt4",
        "claude",
        "a\nb",
        &"x".repeat(300),
    ] {
        let error = providers.resolve(model).unwrap_err();
        assert!(matches!(error, LlmError::UnknownModel { .. }), "{model:?}");
        assert_eq!(error.code(), "llm_model_unknown");
    }
}

#[test]
fn default_base_urls_and_key_requirements() {
    let providers = Providers::with_defaults();
    let expected = [
        (
            "openai",
            ProviderKind::OpenAi,
            "https://api.openai.com/v1",
            true,
        ),
        (
            "anthropic",
            ProviderKind::Anthropic,
            "https://api.anthropic.com",
            true,
        ),
        (
            "groq",
            ProviderKind::OpenAi,
            "https://api.groq.com/openai/v1",
            true,
        ),
        (
            "mistral",
            ProviderKind::OpenAi,
            "https://api.mistral.ai/v1",
            true,
        ),
        (
            "deepseek",
            ProviderKind::OpenAi,
            "https://api.deepseek.com/v1",
            true,
        ),
        (
            "together_ai",
            ProviderKind::OpenAi,
            "https://api.together.xyz/v1",
            true,
        ),
        (
            "openrouter",
            ProviderKind::OpenAi,
            "https://openrouter.ai/api/v1",
            true,
        ),
        ("xai", ProviderKind::OpenAi, "https://api.x.ai/v1", true),
        (
            "gemini",
            ProviderKind::OpenAi,
            "https://generativelanguage.googleapis.com/v1beta/openai",
            true,
        ),
        (
            "ollama",
            ProviderKind::OpenAi,
            "http://127.0.0.1:11434/v1",
            false,
        ),
        ("offline", ProviderKind::Offline, "", false),
    ];
    for (name, kind, url, requires_key) in expected {
        let p = providers
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(
            (p.kind, p.base_url.as_str(), p.requires_key),
            (kind, url, requires_key),
            "{name}"
        );
    }
    assert_eq!(providers.iter().count(), expected.len());
}

#[test]
fn custom_providers_route_and_replace_builtins() {
    let providers = Providers::from_configs([
        ProviderConfig::openai_compatible("llamacpp", "http://127.0.0.1:8080/v1")
            .with_requires_key(false),
        ProviderConfig::anthropic("proxy", "https://litellm.internal/anthropic"),
        ProviderConfig::openai_compatible("openai", "https://gateway.internal/openai/v1"),
    ])
    .unwrap();
    let route = providers.resolve("llamacpp/qwen2.5-7b").unwrap();
    assert_eq!(route.kind(), ProviderKind::OpenAi);
    assert_eq!(route.model, "qwen2.5-7b");
    assert_eq!(route.to_string(), "llamacpp/qwen2.5-7b");
    assert_eq!(
        providers.resolve("proxy/claude-x").unwrap().kind(),
        ProviderKind::Anthropic
    );
    // A bare name follows the configured `openai` provider.
    assert_eq!(
        providers.resolve("gpt-4o").unwrap().provider.base_url,
        "https://gateway.internal/openai/v1"
    );
    assert!(Providers::from_configs([ProviderConfig::openai_compatible(
        "bad",
        "file:///etc/passwd"
    )])
    .is_err());
}

#[test]
fn provider_configs_deserialize_from_config_files() {
    let config: ProviderConfig = serde_json::from_str(
        r#"{"name": "local", "kind": "openai", "base_url": "http://127.0.0.1:1234/v1", "api_key": "k"}"#,
    )
    .unwrap();
    assert!(config.requires_key);
    assert_eq!(config.api_key.as_ref().map(Secret::expose), Some("k"));
    assert_eq!(
        format!("{config:?}").matches("api_key: Some(***)").count(),
        1
    );
}

#[test]
fn key_requirements_per_route() {
    let mut providers = Providers::with_defaults();
    let caller = Secret::new("caller-key");

    let openai = providers.resolve("gpt-4o").unwrap();
    let error = openai.key(None).unwrap_err();
    assert_eq!(
        error,
        LlmError::KeyRequired {
            provider: "openai".into()
        }
    );
    assert_eq!(error.code(), "llm_key_required");
    assert!(
        openai.key(Some(&Secret::new(""))).is_err(),
        "an empty key is no key"
    );
    assert_eq!(
        openai.key(Some(&caller)).unwrap().unwrap().expose(),
        "caller-key"
    );

    assert!(providers
        .resolve("ollama/llama3")
        .unwrap()
        .key(None)
        .unwrap()
        .is_none());
    assert!(providers
        .resolve("offline")
        .unwrap()
        .key(None)
        .unwrap()
        .is_none());

    providers
        .set_api_key("openai", Secret::new("operator-key"))
        .unwrap();
    let openai = providers.resolve("gpt-4o").unwrap();
    assert_eq!(openai.key(None).unwrap().unwrap().expose(), "operator-key");
    assert_eq!(
        openai.key(Some(&caller)).unwrap().unwrap().expose(),
        "caller-key"
    );
}
