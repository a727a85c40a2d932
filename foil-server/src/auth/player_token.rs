//! Player tokens: short-lived credentials a game backend mints for one player, so a game build
//! never has to carry a long-lived API key (docs/player-tokens.md).
//!
//! A token is `pt_` + an HS256 JWT signed with a key derived from the JWT secret for this one
//! purpose (so it is neither a user access token nor anything Supabase accepts), with `iss`
//! [`ISSUER`] and `aud` [`AUDIENCE`]. It names the account, the `mint` key that minted it (its
//! revocation ends the token at once), the player's `user_session_id` and optionally the personas
//! it may reach. The prefix lets `X-API-Key` carry either a key or a token, so the official SDKs
//! work unchanged with a token in place of a key.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Every player token starts with this.
pub const TOKEN_PREFIX: &str = "pt_";
/// `iss` of every player token.
pub const ISSUER: &str = "foil-server";
/// `aud` of every player token: no other kind of token carries it.
pub const AUDIENCE: &str = "foil-player";
/// Lifetime when the backend asks for none: one hour.
pub const DEFAULT_TTL_SECS: u64 = 3600;
/// The longest lifetime a token may have: one day.
pub const MAX_TTL_SECS: u64 = 24 * 3600;
/// The shortest lifetime a token may have.
pub const MIN_TTL_SECS: u64 = 60;
/// Most personas one token may name.
pub const MAX_PERSONAS: usize = 100;
/// Tokens longer than this are refused before any parsing.
const MAX_TOKEN_BYTES: usize = 4096;
const KEY_LABEL: &[u8] = b"foil-server player tokens v1";

/// What a valid token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerGrant {
    /// The account whose published personas the token reaches.
    pub account: Uuid,
    /// The `mint` key that minted it; the token is refused once that key is revoked.
    pub mint_key: Uuid,
    /// The only player the token may act for.
    pub user_session_id: String,
    /// The only personas it may reach; `None`: all of the account's published personas.
    pub persona_ids: Option<Vec<Uuid>>,
    /// Seconds since the epoch.
    pub expires_at: i64,
}

impl PlayerGrant {
    /// Whether the token may reach `persona`.
    pub fn allows_persona(&self, persona: Uuid) -> bool {
        self.persona_ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&persona))
    }
}

/// Why a presented token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Genuine, but past its expiry.
    #[error("the player token has expired")]
    Expired,
    /// Not a token this server signed (or malformed).
    #[error("invalid player token")]
    Invalid,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    /// The player's `user_session_id`.
    sub: String,
    /// The account.
    acc: Uuid,
    /// The minting key.
    key: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    personas: Option<Vec<Uuid>>,
    iat: i64,
    exp: i64,
}

/// Signs and checks player tokens with the key derived from the JWT secret.
#[derive(Clone)]
pub struct PlayerTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for PlayerTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlayerTokens(<redacted>)")
    }
}

impl PlayerTokens {
    /// Keys derived from the server's JWT secret (shared by every instance).
    pub fn new(jwt_secret: &str) -> Self {
        let key = super::derive_key(jwt_secret.as_bytes(), KEY_LABEL);
        PlayerTokens {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
        }
    }

    /// A token for `grant`, valid until `grant.expires_at`.
    pub fn mint(&self, grant: &PlayerGrant) -> String {
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: grant.user_session_id.clone(),
            acc: grant.account,
            key: grant.mint_key,
            personas: grant.persona_ids.clone(),
            iat: chrono::Utc::now().timestamp(),
            exp: grant.expires_at,
        };
        let jwt = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail");
        format!("{TOKEN_PREFIX}{jwt}")
    }

    /// The grant of a presented token: signature, `iss`, `aud` and `exp` (no leeway) checked.
    pub fn verify(&self, token: &str) -> Result<PlayerGrant, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        let jwt = token
            .strip_prefix(TOKEN_PREFIX)
            .ok_or(TokenError::Invalid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<Claims>(jwt, &self.decoding, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?
            .claims;
        Ok(PlayerGrant {
            account: claims.acc,
            mint_key: claims.key,
            user_session_id: claims.sub,
            persona_ids: claims.personas,
            expires_at: claims.exp,
        })
    }
}

/// Whether `credential` (an `X-API-Key` value) has the shape of a player token.
pub fn is_player_token(credential: &str) -> bool {
    credential.starts_with(TOKEN_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "unit-test-hs256-secret-0123456789abcdef";

    fn grant(expires_in: i64) -> PlayerGrant {
        PlayerGrant {
            account: Uuid::new_v4(),
            mint_key: Uuid::new_v4(),
            user_session_id: "player-1".into(),
            persona_ids: Some(vec![Uuid::new_v4()]),
            expires_at: chrono::Utc::now().timestamp() + expires_in,
        }
    }

    #[test]
    fn minted_tokens_verify_to_their_grant() {
        let tokens = PlayerTokens::new(SECRET);
        let grant = grant(600);
        let token = tokens.mint(&grant);
        assert!(is_player_token(&token));
        assert_eq!(tokens.verify(&token), Ok(grant.clone()));
        assert!(grant.allows_persona(grant.persona_ids.as_ref().unwrap()[0]));
        assert!(!grant.allows_persona(Uuid::new_v4()));
        let unrestricted = PlayerGrant {
            persona_ids: None,
            ..grant
        };
        assert!(unrestricted.allows_persona(Uuid::new_v4()));
    }

    #[test]
    fn expired_forged_and_foreign_tokens_are_refused() {
        let tokens = PlayerTokens::new(SECRET);
        assert_eq!(
            tokens.verify(&tokens.mint(&grant(-1))),
            Err(TokenError::Expired)
        );
        // Another server's secret.
        let other = PlayerTokens::new("another-secret-0123456789abcdef-0123456789");
        assert_eq!(
            tokens.verify(&other.mint(&grant(600))),
            Err(TokenError::Invalid)
        );
        // A changed payload keeps the signature of the original.
        let token = tokens.mint(&grant(600));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged_payload = {
            use base64::Engine as _;
            let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let mut claims: serde_json::Value =
                serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
            claims["sub"] = "someone-else".into();
            engine.encode(serde_json::to_vec(&claims).unwrap())
        };
        parts[1] = &forged_payload;
        assert_eq!(tokens.verify(&parts.join(".")), Err(TokenError::Invalid));
        // A token signed with the raw secret (as user tokens of Supabase are) is not ours.
        let raw = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "p", "acc": Uuid::new_v4(),
                "key": Uuid::new_v4(), "iat": 0, "exp": chrono::Utc::now().timestamp() + 600}),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert_eq!(
            tokens.verify(&format!("{TOKEN_PREFIX}{raw}")),
            Err(TokenError::Invalid)
        );
        for junk in ["", "pt_", "pt_a.b.c", "pk_live_0123", &"pt_x".repeat(2000)] {
            assert_eq!(tokens.verify(junk), Err(TokenError::Invalid), "{junk:.20}");
        }
    }
}
