//! The node's exported properties as a [`ClientConfig`] (no Godot types, so it is testable
//! without the engine).

use std::time::Duration;

use foil_client::{ClientConfig, LlmHeaders};

/// The `FoilClient` properties, as plain values.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The server's URL, trimmed (default: the hosted service, [`foil_client::DEFAULT_BASE_URL`]).
    pub base_url: String,
    /// The game's API key (`pk_live_...`) or a player token (`pt_...`), trimmed and sent as
    /// `X-API-Key` (default empty; requests fail until it is set).
    pub api_key: String,
    /// `X-LLM-Model`: the model of every pipeline step (default empty: no header).
    pub llm_model: String,
    /// `X-LLM-API-Key`: the provider key of every step (default empty: no header).
    pub llm_api_key: String,
    /// `X-LLM-Eval-Model`: the model of the evaluation step (default empty: no header).
    pub llm_eval_model: String,
    /// `X-LLM-Response-Model`: the model of the reply step (default empty: no header).
    pub llm_response_model: String,
    /// `X-LLM-Summarization-Model`: the model of the summarization step (default empty: no
    /// header).
    pub llm_summarization_model: String,
    /// `X-LLM-Eval-API-Key`: the provider key of the evaluation step (default empty: no
    /// header).
    pub llm_eval_api_key: String,
    /// `X-LLM-Response-API-Key`: the provider key of the reply step (default empty: no header).
    pub llm_response_api_key: String,
    /// `X-LLM-Summarization-API-Key`: the provider key of the summarization step (default
    /// empty: no header).
    pub llm_summarization_api_key: String,
    /// Time limit of each attempt of an ordinary request, in seconds (default 30; not a
    /// positive number: the default).
    pub timeout_seconds: f64,
    /// Time limit of a whole streamed reply, in seconds (default 120; not a positive number:
    /// the default).
    pub stream_timeout_seconds: f64,
    /// Retries on 429/500/502/503/504 and connection failures; streams are never retried
    /// (default 3; negative: 0).
    pub max_retries: i64,
    /// How long `list_personas` answers from its cache, in seconds (default 60; 0 or
    /// negative: no cache).
    pub persona_cache_seconds: f64,
}

impl Default for Settings {
    /// The client's defaults (hosted service, 30 s / 120 s, 3 retries, 60 s cache).
    fn default() -> Self {
        let defaults = ClientConfig::default();
        Settings {
            base_url: defaults.base_url,
            api_key: String::new(),
            llm_model: String::new(),
            llm_api_key: String::new(),
            llm_eval_model: String::new(),
            llm_response_model: String::new(),
            llm_summarization_model: String::new(),
            llm_eval_api_key: String::new(),
            llm_response_api_key: String::new(),
            llm_summarization_api_key: String::new(),
            timeout_seconds: defaults.timeout.as_secs_f64(),
            stream_timeout_seconds: defaults.stream_timeout.as_secs_f64(),
            max_retries: i64::from(defaults.max_retries),
            persona_cache_seconds: defaults.persona_cache_ttl.as_secs_f64(),
        }
    }
}

impl Settings {
    /// The client configuration: blank LLM fields send no header; a timeout that is not a
    /// positive number of seconds is the default; negative retries or cache time are 0.
    pub fn client_config(&self) -> ClientConfig {
        let defaults = ClientConfig::default();
        let positive = |secs: f64, default: Duration| {
            Duration::try_from_secs_f64(secs)
                .ok()
                .filter(|d| !d.is_zero())
                .unwrap_or(default)
        };
        ClientConfig {
            base_url: self.base_url.trim().to_string(),
            api_key: self.api_key.trim().to_string(),
            llm: LlmHeaders {
                api_key: optional(&self.llm_api_key),
                model: optional(&self.llm_model),
                eval_model: optional(&self.llm_eval_model),
                response_model: optional(&self.llm_response_model),
                summarization_model: optional(&self.llm_summarization_model),
                eval_api_key: optional(&self.llm_eval_api_key),
                response_api_key: optional(&self.llm_response_api_key),
                summarization_api_key: optional(&self.llm_summarization_api_key),
            },
            timeout: positive(self.timeout_seconds, defaults.timeout),
            stream_timeout: positive(self.stream_timeout_seconds, defaults.stream_timeout),
            max_retries: u32::try_from(self.max_retries.max(0)).unwrap_or(u32::MAX),
            persona_cache_ttl: Duration::try_from_secs_f64(self.persona_cache_seconds.max(0.0))
                .unwrap_or(Duration::ZERO),
        }
    }
}

/// `None` for an empty or blank string, else the trimmed string.
pub fn optional(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_client() {
        let config = Settings {
            api_key: "k".into(),
            ..Settings::default()
        }
        .client_config();
        assert_eq!(config, ClientConfig::new("k"));
    }

    #[test]
    fn blank_fields_send_nothing_and_bad_numbers_fall_back() {
        let settings = Settings {
            base_url: " http://127.0.0.1:8000 ".into(),
            api_key: " pk_live_x ".into(),
            llm_model: "openai/gpt-4o-mini".into(),
            llm_api_key: "   ".into(),
            llm_eval_api_key: "sk-eval".into(),
            timeout_seconds: 0.0,
            stream_timeout_seconds: f64::NAN,
            max_retries: -4,
            persona_cache_seconds: -1.0,
            ..Settings::default()
        };
        let config = settings.client_config();
        assert_eq!(config.base_url, "http://127.0.0.1:8000");
        assert_eq!(config.api_key, "pk_live_x");
        assert_eq!(config.llm.model.as_deref(), Some("openai/gpt-4o-mini"));
        assert_eq!(config.llm.api_key, None);
        assert_eq!(config.llm.eval_api_key.as_deref(), Some("sk-eval"));
        assert_eq!(config.llm.response_model, None);
        assert_eq!(config.timeout, foil_client::DEFAULT_TIMEOUT);
        assert_eq!(config.stream_timeout, foil_client::DEFAULT_STREAM_TIMEOUT);
        assert_eq!(config.max_retries, 0);
        assert_eq!(config.persona_cache_ttl, Duration::ZERO);
        let quick = Settings {
            timeout_seconds: 2.5,
            max_retries: 7,
            ..Settings::default()
        }
        .client_config();
        assert_eq!(quick.timeout, Duration::from_millis(2500));
        assert_eq!(quick.max_retries, 7);
    }

    #[test]
    fn optional_trims() {
        assert_eq!(optional(""), None);
        assert_eq!(optional(" \t"), None);
        assert_eq!(optional(" a "), Some("a".into()));
    }
}
