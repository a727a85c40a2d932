//! A wrapper that keeps API keys out of logs and error messages.

use std::fmt;

/// A provider API key. `Debug` and `Display` print `***`; it cannot be serialized, so it never
/// ends up in a JSON response or a structured log by accident. Read it with
/// [`Secret::expose`] only where it is sent to the provider.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a key.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The key itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the key is empty (an empty key counts as no key).
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// Keys can be read from configuration files; writing them back out is deliberately impossible.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_key() {
        let key = Secret::new("sk-live-1234567890abcdef");
        assert_eq!(format!("{key}"), "***");
        assert_eq!(format!("{key:?}"), "***");
        assert_eq!(format!("{:?}", Some(&key)), "Some(***)");
        assert_eq!(key.expose(), "sk-live-1234567890abcdef");
    }

    #[test]
    fn deserializes_from_a_string() {
        let key: Secret = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(key.expose(), "abc");
        assert!(Secret::new("  ").is_empty());
    }
}
