//! API keys: `pk_live_` + 32 lowercase hex characters (128 random bits).
//!
//! Only a hash is stored: SHA-256 of the key, or HMAC-SHA256 keyed with the operator's pepper
//! when one is configured. The hash is both the indexed lookup value and, compared in constant
//! time, the check; the plaintext exists only in the creation response.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a key may do.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum KeyScope {
    /// The SDK routes for any player: the key a game build carries (the default).
    #[default]
    Full,
    /// Only `POST /api/v1/sdk/player-tokens`: the key a game's backend keeps.
    Mint,
}

impl KeyScope {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::Full => "full",
            KeyScope::Mint => "mint",
        }
    }

    /// `None` for [`KeyScope::Full`]: answers name a scope only when it is not the default, so
    /// an ordinary key's answers keep the exact shape of api.md §2.2.
    pub fn if_not_full(self) -> Option<KeyScope> {
        (self != KeyScope::Full).then_some(self)
    }

    /// The scope spelled `raw`, if any.
    pub fn parse(raw: &str) -> Option<KeyScope> {
        match raw {
            "full" => Some(KeyScope::Full),
            "mint" => Some(KeyScope::Mint),
            _ => None,
        }
    }
}

/// Every key starts with this; `key_prefix` in API responses.
pub const KEY_PREFIX: &str = "pk_live_";
const RANDOM_HEX_LEN: usize = 32;

/// A fresh random key.
pub fn generate() -> String {
    let mut bytes = [0u8; RANDOM_HEX_LEN / 2];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

/// A key derived from `secret` and `label`: the same on every start, never stored in plain
/// text (used for `serve --demo`'s key, so restarts do not pile up keys).
pub fn derived(secret: &[u8], label: &str) -> String {
    let bytes = super::derive_key(secret, label.as_bytes());
    format!("{KEY_PREFIX}{}", hex::encode(&bytes[..RANDOM_HEX_LEN / 2]))
}

/// Whether `key` has the shape of a key; anything else is rejected before a database lookup.
pub fn is_well_formed(key: &str) -> bool {
    key.strip_prefix(KEY_PREFIX).is_some_and(|rest| {
        rest.len() == RANDOM_HEX_LEN
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The last four characters, shown in key listings so owners can tell keys apart.
pub fn hint(key: &str) -> String {
    key[key.len().saturating_sub(4)..].to_string()
}

/// Hashes keys for storage and lookup.
#[derive(Clone)]
pub struct KeyHasher {
    pepper: Option<Vec<u8>>,
}

impl KeyHasher {
    /// A hasher mixing in `pepper` (HMAC-SHA256), or plain SHA-256 without one.
    pub fn new(pepper: Option<&str>) -> Self {
        KeyHasher {
            pepper: pepper.map(|p| p.as_bytes().to_vec()),
        }
    }

    /// Lowercase hex of the key's (peppered) SHA-256.
    pub fn hash(&self, key: &str) -> String {
        match &self.pepper {
            Some(pepper) => {
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(pepper).expect("HMAC accepts any key length");
                mac.update(key.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
            None => hex::encode(Sha256::digest(key.as_bytes())),
        }
    }

    /// Constant-time comparison of a presented key with a stored hash.
    pub fn matches(&self, key: &str, stored_hash: &str) -> bool {
        self.hash(key)
            .as_bytes()
            .ct_eq(stored_hash.as_bytes())
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_well_formed_and_distinct() {
        let a = generate();
        let b = generate();
        assert!(is_well_formed(&a) && is_well_formed(&b));
        assert_ne!(a, b);
        assert_eq!(a.len(), KEY_PREFIX.len() + 32);
    }

    #[test]
    fn malformed_keys_are_rejected() {
        for bad in [
            "",
            "pk_live_",
            "pk_test_0123456789abcdef0123456789abcdef",
            "pk_live_0123456789ABCDEF0123456789abcdef",
            "pk_live_0123456789abcdef0123456789abcde",
            "pk_live_0123456789abcdef0123456789abcdef0",
            "pk_live_0123456789abcdef0123456789abcdeg",
        ] {
            assert!(!is_well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn hashes_match_only_their_key_and_depend_on_the_pepper() {
        let key = generate();
        let plain = KeyHasher::new(None);
        let peppered = KeyHasher::new(Some("pepper"));
        let stored = plain.hash(&key);
        assert!(plain.matches(&key, &stored));
        assert!(!plain.matches(&generate(), &stored));
        assert_ne!(peppered.hash(&key), stored);
        assert!(!stored.contains(&key[KEY_PREFIX.len()..]));
        assert_eq!(hint(&key), key[key.len() - 4..]);
    }
}
