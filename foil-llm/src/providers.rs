//! The provider registry and LiteLLM-style model routing (personas.md §5).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::LlmError;
use crate::secret::Secret;
use crate::structured::StructuredDialect;

/// The wire protocol a provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
pub enum ProviderKind {
    /// OpenAI Chat Completions, or any server compatible with it.
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic Messages.
    #[serde(rename = "anthropic")]
    Anthropic,
    /// The built-in deterministic provider; no network, answered by the server itself.
    #[serde(rename = "offline")]
    Offline,
}

impl ProviderKind {
    /// The structured-output dialect a provider of this protocol is asked first unless
    /// configured otherwise.
    pub fn default_dialect(self) -> StructuredDialect {
        match self {
            ProviderKind::Anthropic => StructuredDialect::Tool,
            _ => StructuredDialect::JsonSchema,
        }
    }

    /// Whether a provider of this protocol can be sent `dialect` at all.
    pub fn accepts(self, dialect: StructuredDialect) -> bool {
        match self {
            ProviderKind::Anthropic => {
                matches!(dialect, StructuredDialect::Tool | StructuredDialect::Prompt)
            }
            _ => dialect != StructuredDialect::Tool,
        }
    }

    /// The configuration spelling: `openai`, `anthropic` or `offline`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Offline => "offline",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = ProviderConfigError;

    /// Accepts `openai` (also `openai-compatible` / `openai_compatible`), `anthropic`,
    /// `offline`, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "openai" | "openai-compatible" | "openai_compatible" => Ok(ProviderKind::OpenAi),
            "anthropic" => Ok(ProviderKind::Anthropic),
            "offline" => Ok(ProviderKind::Offline),
            other => Err(ProviderConfigError::UnknownKind(other.to_owned())),
        }
    }
}

/// A problem in the provider configuration (found at startup, never at request time).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderConfigError {
    /// A provider kind other than `openai`, `anthropic` or `offline`.
    #[error("unknown provider kind `{0}` (expected openai, anthropic or offline)")]
    UnknownKind(String),
    /// Names are `[a-z0-9_-]+` (they are the prefix of `provider/model`).
    #[error("invalid provider name `{0}`: use lower-case letters, digits, `_` and `-`")]
    InvalidName(String),
    /// The base URL is not an absolute `http`/`https` URL.
    #[error("invalid base URL for provider `{provider}`: {reason}")]
    InvalidBaseUrl {
        /// Provider name.
        provider: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting for a provider that does not exist (custom providers need a kind).
    #[error("unknown provider `{0}`; declare custom providers with their kind and base URL")]
    UnknownProvider(String),
}

/// One provider: its name (the `provider/` prefix of model strings), protocol, base URL and
/// the operator's own key, if any.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct ProviderConfig {
    /// Lower-case name, e.g. `openai`, `groq`, `my_llamacpp`.
    pub name: String,
    /// Wire protocol.
    pub kind: ProviderKind,
    /// Base URL from configuration only (never from a request). OpenAI-compatible: the part
    /// before `/chat/completions` (e.g. `https://api.openai.com/v1`). Anthropic: the host
    /// (`https://api.anthropic.com`); `/v1/messages` is appended (or `/messages` when the URL
    /// already ends in `/v1`). Empty for `offline`.
    #[serde(default)]
    pub base_url: String,
    /// The operator's key for this provider, used when the caller brings none.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// Whether a call without any key is refused up front (`false` for e.g. `ollama`).
    #[serde(default = "default_requires_key")]
    pub requires_key: bool,
    /// How to ask this provider for JSON first; `None`: the protocol's default
    /// ([`ProviderKind::default_dialect`]). Refusals step down from here automatically.
    #[serde(default)]
    pub structured: Option<StructuredDialect>,
}

fn default_requires_key() -> bool {
    true
}

impl ProviderConfig {
    /// An OpenAI-compatible provider that requires a key.
    pub fn openai_compatible(name: impl Into<String>, base_url: impl Into<String>) -> Self {
        ProviderConfig {
            name: name.into(),
            kind: ProviderKind::OpenAi,
            base_url: base_url.into(),
            api_key: None,
            requires_key: true,
            structured: None,
        }
    }

    /// An Anthropic-protocol provider that requires a key.
    pub fn anthropic(name: impl Into<String>, base_url: impl Into<String>) -> Self {
        ProviderConfig {
            kind: ProviderKind::Anthropic,
            ..ProviderConfig::openai_compatible(name, base_url)
        }
    }

    /// The built-in `offline` provider.
    pub fn offline() -> Self {
        ProviderConfig {
            name: "offline".into(),
            kind: ProviderKind::Offline,
            base_url: String::new(),
            api_key: None,
            requires_key: false,
            structured: None,
        }
    }

    /// Sets the operator's key.
    pub fn with_api_key(mut self, key: Secret) -> Self {
        self.api_key = Some(key);
        self
    }

    /// Sets the structured-output dialect asked first.
    pub fn with_structured(mut self, dialect: StructuredDialect) -> Self {
        self.structured = Some(dialect);
        self
    }

    /// The dialect to ask first: the configured one if this protocol can take it, else the
    /// protocol's default.
    pub fn first_dialect(&self) -> StructuredDialect {
        self.structured
            .filter(|d| self.kind.accepts(*d))
            .unwrap_or_else(|| self.kind.default_dialect())
    }

    /// Sets whether a key is required.
    pub fn with_requires_key(mut self, requires_key: bool) -> Self {
        self.requires_key = requires_key;
        self
    }

    /// Checks the name and base URL, lower-cases the name and drops a trailing `/` from the URL.
    pub fn normalized(mut self) -> Result<Self, ProviderConfigError> {
        self.name = self.name.trim().to_ascii_lowercase();
        let name_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            return Err(ProviderConfigError::InvalidName(self.name));
        }
        if self.kind == ProviderKind::Offline {
            self.base_url.clear();
            return Ok(self);
        }
        let bad = |reason: &str| ProviderConfigError::InvalidBaseUrl {
            provider: self.name.clone(),
            reason: reason.to_owned(),
        };
        let trimmed = self.base_url.trim().trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&trimmed).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("the URL has no host"));
        }
        if url.fragment().is_some() || url.query().is_some() {
            return Err(bad("the URL must not have a query or fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("put credentials in api_key, not in the URL"));
        }
        self.base_url = trimmed;
        Ok(self)
    }

    /// The key to send: the caller's (if non-empty), else the operator's.
    pub fn effective_key<'a>(&'a self, caller_key: Option<&'a Secret>) -> Option<&'a Secret> {
        caller_key
            .filter(|k| !k.is_empty())
            .or(self.api_key.as_ref().filter(|k| !k.is_empty()))
    }
}

/// The built-in providers and their documented endpoints.
const DEFAULTS: [(&str, ProviderKind, &str, bool); 10] = [
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
];

/// Bare model-name prefixes routed to `openai`.
const OPENAI_BARE_PREFIXES: [&str; 5] = ["gpt-", "o1", "o3", "o4", "chatgpt-"];

/// Longest model string accepted (it comes from a request header).
const MAX_MODEL_LEN: usize = 256;

/// A resolved model: which provider to call and the model name to send it.
#[derive(Clone, Debug)]
pub struct Route {
    /// The provider (shared with the registry).
    pub provider: Arc<ProviderConfig>,
    /// The model name as the provider knows it (the part after `provider/`).
    pub model: String,
}

impl Route {
    /// The provider's name.
    pub fn provider_name(&self) -> &str {
        &self.provider.name
    }

    /// The provider's protocol.
    pub fn kind(&self) -> ProviderKind {
        self.provider.kind
    }

    /// Whether this is the built-in offline provider (to be answered without a network call).
    pub fn is_offline(&self) -> bool {
        self.provider.kind == ProviderKind::Offline
    }

    /// The key a call would use (the caller's, else the operator's), or
    /// [`LlmError::KeyRequired`] when the provider needs one and there is none. Lets the server
    /// reject a request with 400 before starting any work.
    pub fn key<'a>(
        &'a self,
        caller_key: Option<&'a Secret>,
    ) -> Result<Option<&'a Secret>, LlmError> {
        match self.provider.effective_key(caller_key) {
            None if self.provider.requires_key && !self.is_offline() => {
                Err(LlmError::KeyRequired {
                    provider: self.provider.name.clone(),
                })
            }
            key => Ok(key),
        }
    }
}

impl fmt::Display for Route {
    /// `provider/model`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider.name, self.model)
    }
}

/// The configured providers: the built-in defaults, overridden and extended by configuration.
#[derive(Clone, Debug)]
pub struct Providers {
    by_name: BTreeMap<String, Arc<ProviderConfig>>,
}

impl Default for Providers {
    fn default() -> Self {
        Providers::with_defaults()
    }
}

impl Providers {
    /// The built-in providers with their default base URLs and no operator keys.
    pub fn with_defaults() -> Self {
        let mut by_name = BTreeMap::new();
        for (name, kind, base_url, requires_key) in DEFAULTS {
            let config = ProviderConfig {
                name: name.to_owned(),
                kind,
                base_url: base_url.to_owned(),
                api_key: None,
                requires_key,
                structured: None,
            };
            by_name.insert(name.to_owned(), Arc::new(config));
        }
        let offline = ProviderConfig::offline();
        by_name.insert(offline.name.clone(), Arc::new(offline));
        Providers { by_name }
    }

    /// The defaults plus `configs`; a config with a built-in name replaces that built-in.
    pub fn from_configs<I>(configs: I) -> Result<Self, ProviderConfigError>
    where
        I: IntoIterator<Item = ProviderConfig>,
    {
        let mut providers = Providers::with_defaults();
        for config in configs {
            providers.insert(config)?;
        }
        Ok(providers)
    }

    /// Adds or replaces a provider.
    pub fn insert(&mut self, config: ProviderConfig) -> Result<(), ProviderConfigError> {
        let config = config.normalized()?;
        self.by_name.insert(config.name.clone(), Arc::new(config));
        Ok(())
    }

    /// Changes an existing provider's base URL (e.g. from `FOIL_PROVIDER_<NAME>_BASE_URL`).
    pub fn set_base_url(&mut self, name: &str, base_url: &str) -> Result<(), ProviderConfigError> {
        let mut config = self.existing(name)?;
        config.base_url = base_url.to_owned();
        self.insert(config)
    }

    /// Sets an existing provider's operator key (e.g. from `FOIL_PROVIDER_<NAME>_API_KEY`).
    pub fn set_api_key(&mut self, name: &str, key: Secret) -> Result<(), ProviderConfigError> {
        let mut config = self.existing(name)?;
        config.api_key = Some(key);
        self.insert(config)
    }

    /// Sets the structured-output dialect a provider is asked first.
    pub fn set_structured(
        &mut self,
        name: &str,
        dialect: StructuredDialect,
    ) -> Result<(), ProviderConfigError> {
        let mut config = self.existing(name)?;
        config.structured = Some(dialect);
        self.insert(config)
    }

    /// Removes a provider; its models then resolve to [`LlmError::UnknownModel`].
    pub fn remove(&mut self, name: &str) -> bool {
        self.by_name.remove(name).is_some()
    }

    fn existing(&self, name: &str) -> Result<ProviderConfig, ProviderConfigError> {
        self.get(name)
            .map(|c| ProviderConfig::clone(c))
            .ok_or_else(|| ProviderConfigError::UnknownProvider(name.to_owned()))
    }

    /// A provider by name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Arc<ProviderConfig>> {
        match self.by_name.get(name) {
            Some(config) => Some(config),
            None => self.by_name.get(&name.to_ascii_lowercase()),
        }
    }

    /// Every provider, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<ProviderConfig>> {
        self.by_name.values()
    }

    /// Routes a LiteLLM-style model string: `provider/model` splits at the first `/`
    /// (`openrouter/meta-llama/llama-3` → `openrouter`, `meta-llama/llama-3`); bare `gpt-*`,
    /// `o1*`, `o3*`, `o4*`, `chatgpt-*` go to `openai`, `claude-*` to `anthropic`, and `offline`
    /// to `offline`. Anything else is [`LlmError::UnknownModel`].
    pub fn resolve(&self, model: &str) -> Result<Route, LlmError> {
        let model = model.trim();
        let unknown = || LlmError::unknown_model(model);
        if model.is_empty() || model.len() > MAX_MODEL_LEN || model.chars().any(char::is_control) {
            return Err(unknown());
        }
        let (provider_name, model_name) = match model.split_once('/') {
            Some((prefix, rest)) => {
                let provider = self.get(prefix).ok_or_else(unknown)?;
                let rest = rest.trim();
                if rest.is_empty() && provider.kind != ProviderKind::Offline {
                    return Err(unknown());
                }
                return Ok(Route {
                    provider: provider.clone(),
                    model: rest.to_owned(),
                });
            }
            None if model == "offline" => ("offline", model),
            None if OPENAI_BARE_PREFIXES.iter().any(|p| model.starts_with(p)) => ("openai", model),
            None if model.starts_with("claude-") => ("anthropic", model),
            None => return Err(unknown()),
        };
        let provider = self.get(provider_name).ok_or_else(unknown)?;
        Ok(Route {
            provider: provider.clone(),
            model: model_name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_validation() {
        assert!(ProviderConfig::openai_compatible("x", "ftp://a")
            .normalized()
            .is_err());
        assert!(ProviderConfig::openai_compatible("x", "not a url")
            .normalized()
            .is_err());
        assert!(ProviderConfig::openai_compatible("x", "http://a/v1?k=1")
            .normalized()
            .is_err());
        assert!(ProviderConfig::openai_compatible("x", "http://u:p@a/v1")
            .normalized()
            .is_err());
        assert!(ProviderConfig::openai_compatible("a/b", "http://a")
            .normalized()
            .is_err());
        let ok = ProviderConfig::openai_compatible("My_LLM", "http://127.0.0.1:8080/v1/")
            .normalized()
            .unwrap();
        assert_eq!(ok.name, "my_llm");
        assert_eq!(ok.base_url, "http://127.0.0.1:8080/v1");
    }

    #[test]
    fn kind_parsing() {
        assert_eq!(
            "OpenAI".parse::<ProviderKind>().unwrap(),
            ProviderKind::OpenAi
        );
        assert_eq!(
            "anthropic".parse::<ProviderKind>().unwrap(),
            ProviderKind::Anthropic
        );
        assert!("gemini".parse::<ProviderKind>().is_err());
    }

    #[test]
    fn overrides_apply_to_builtins_only() {
        let mut providers = Providers::with_defaults();
        providers
            .set_base_url("openai", "http://127.0.0.1:9/v1")
            .unwrap();
        assert_eq!(
            providers.get("openai").unwrap().base_url,
            "http://127.0.0.1:9/v1"
        );
        assert!(providers.set_base_url("nope", "http://a").is_err());
        providers.set_api_key("groq", Secret::new("k")).unwrap();
        assert_eq!(
            providers
                .get("groq")
                .unwrap()
                .api_key
                .as_ref()
                .unwrap()
                .expose(),
            "k"
        );
    }
}
