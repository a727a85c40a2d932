//! Supabase-compatible JWT verification (api.md §2.1) and self-hosted token issuing.
//!
//! Accepted algorithms are decided by configuration, never by the token: HS256 only when a
//! shared secret is configured, ES256/RS256 only through the JWKS, with the key picked by `kid`
//! and its type required to match the token's `alg` (no algorithm confusion, never `none`).
//! JWKS keys are cached; an unknown `kid` triggers a refetch at most once a minute.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};
use uuid::Uuid;

/// Verification and issuing settings.
#[derive(Clone)]
pub struct JwtConfig {
    /// HS256 shared secret (Supabase's legacy JWT secret, or ours).
    pub secret: Option<String>,
    /// Supabase JWKS URL (ES256/RS256 signing keys).
    pub jwks_url: Option<String>,
    /// Required `aud`.
    pub audience: String,
    /// Required `iss`, when set.
    pub issuer: Option<String>,
    /// Clock skew allowed for `exp`/`nbf` (at most 60 s).
    pub leeway_secs: u64,
    /// Lifetime of issued tokens.
    pub token_ttl_secs: u64,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            secret: None,
            jwks_url: None,
            audience: "authenticated".into(),
            issuer: None,
            leeway_secs: 60,
            token_ttl_secs: 3600,
        }
    }
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("jwks_url", &self.jwks_url)
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .field("leeway_secs", &self.leeway_secs)
            .field("token_ttl_secs", &self.token_ttl_secs)
            .finish()
    }
}

/// Who a valid token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser {
    pub id: Uuid,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub is_anonymous: bool,
}

/// A token issued for a self-hosted account.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
}

/// Why a token was rejected. Every variant is a 401; the distinction is for logs. Messages
/// never contain the token or a secret.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("token larger than {MAX_TOKEN_BYTES} bytes")]
    TooLarge,
    #[error("malformed token")]
    Malformed,
    #[error("algorithm {0} is not accepted")]
    AlgorithmNotAccepted(String),
    #[error("no signing key with this kid")]
    UnknownKey,
    #[error("signing keys unavailable: {0}")]
    Jwks(String),
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("`sub` is not a UUID")]
    BadSubject,
    #[error("`role` is not `authenticated`")]
    BadRole,
    #[error("no JWT secret configured for issuing tokens")]
    NoSecret,
    #[error("token could not be signed")]
    Sign,
}

/// Tokens above this size are rejected before parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Unknown `kid`s trigger a JWKS refetch at most this often.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    is_anonymous: Option<bool>,
    #[serde(default)]
    user_metadata: Option<serde_json::Value>,
}

struct Jwks {
    url: String,
    http: reqwest::Client,
    keys: RwLock<HashMap<String, (Algorithm, DecodingKey)>>,
    last_fetch: Mutex<Option<Instant>>,
}

impl Jwks {
    async fn key(&self, kid: &str) -> Result<(Algorithm, DecodingKey), JwtError> {
        if let Some(found) = self.keys.read().await.get(kid) {
            return Ok(found.clone());
        }
        {
            let mut last = self.last_fetch.lock().await;
            if last.is_some_and(|t| t.elapsed() < JWKS_REFETCH_INTERVAL) {
                // Someone fetched recently (or is throttled): an attacker's random kids do not
                // make us hammer the JWKS endpoint.
                return self
                    .keys
                    .read()
                    .await
                    .get(kid)
                    .cloned()
                    .ok_or(JwtError::UnknownKey);
            }
            *last = Some(Instant::now());
            let fetched = self.fetch().await?;
            *self.keys.write().await = fetched;
        }
        self.keys
            .read()
            .await
            .get(kid)
            .cloned()
            .ok_or(JwtError::UnknownKey)
    }

    async fn fetch(&self) -> Result<HashMap<String, (Algorithm, DecodingKey)>, JwtError> {
        let response = self
            .http
            .get(&self.url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| JwtError::Jwks(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(JwtError::Jwks(format!("HTTP {}", response.status())));
        }
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| JwtError::Jwks(e.without_url().to_string()))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            // The key type fixes the algorithm: the token cannot pick another one.
            let alg = match &jwk.algorithm {
                AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                _ => continue,
            };
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, (alg, key));
            }
        }
        tracing::info!(keys = keys.len(), "JWKS fetched");
        Ok(keys)
    }
}

/// Verifies tokens and issues self-hosted ones.
pub struct JwtVerifier {
    config: JwtConfig,
    hs256: Option<(DecodingKey, EncodingKey)>,
    jwks: Option<Jwks>,
}

impl JwtVerifier {
    pub fn new(config: JwtConfig, http: reqwest::Client) -> Result<Self, JwtError> {
        let hs256 = config.secret.as_ref().map(|s| {
            (
                DecodingKey::from_secret(s.as_bytes()),
                EncodingKey::from_secret(s.as_bytes()),
            )
        });
        let jwks = config.jwks_url.clone().map(|url| Jwks {
            url,
            http,
            keys: RwLock::new(HashMap::new()),
            last_fetch: Mutex::new(None),
        });
        Ok(JwtVerifier {
            config,
            hs256,
            jwks,
        })
    }

    /// Verifies a token and returns the user it names.
    pub async fn verify(&self, token: &str) -> Result<AuthenticatedUser, JwtError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::TooLarge);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
        let key = match header.alg {
            Algorithm::HS256 => match &self.hs256 {
                Some((key, _)) => key.clone(),
                None => return Err(JwtError::AlgorithmNotAccepted("HS256".into())),
            },
            Algorithm::ES256 | Algorithm::RS256 => {
                let Some(jwks) = &self.jwks else {
                    return Err(JwtError::AlgorithmNotAccepted(format!("{:?}", header.alg)));
                };
                let kid = header.kid.as_deref().ok_or(JwtError::UnknownKey)?;
                let (alg, key) = jwks.key(kid).await?;
                if alg != header.alg {
                    return Err(JwtError::AlgorithmNotAccepted(format!("{:?}", header.alg)));
                }
                key
            }
            other => return Err(JwtError::AlgorithmNotAccepted(format!("{other:?}"))),
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.config.leeway_secs.min(60);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_audience(&[self.config.audience.as_str()]);
        match &self.config.issuer {
            // jsonwebtoken checks `iss` only when present unless it is required.
            Some(issuer) => {
                validation.set_issuer(&[issuer.as_str()]);
                validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
            }
            None => validation.set_required_spec_claims(&["exp", "sub", "aud"]),
        }
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map_err(|e| JwtError::Invalid(format!("{:?}", e.kind())))?;
        let claims = data.claims;
        let id = Uuid::parse_str(&claims.sub).map_err(|_| JwtError::BadSubject)?;
        if claims.role.as_deref() != Some("authenticated") {
            return Err(JwtError::BadRole);
        }
        let display_name = claims
            .user_metadata
            .as_ref()
            .and_then(|m| {
                ["full_name", "name"]
                    .iter()
                    .find_map(|k| m.get(*k).and_then(|v| v.as_str()))
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
            })
            .or_else(|| {
                claims
                    .email
                    .as_deref()
                    .and_then(|e| e.split('@').next())
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
            });
        Ok(AuthenticatedUser {
            id,
            email: claims.email,
            display_name,
            is_anonymous: claims.is_anonymous.unwrap_or(false),
        })
    }

    /// Issues an HS256 token with Supabase's claim shape.
    pub fn issue(
        &self,
        user_id: Uuid,
        email: &str,
        display_name: Option<&str>,
    ) -> Result<IssuedToken, JwtError> {
        let (_, key) = self.hs256.as_ref().ok_or(JwtError::NoSecret)?;
        let now = chrono::Utc::now().timestamp();
        let ttl = self.config.token_ttl_secs.max(1);
        let mut claims = serde_json::json!({
            "sub": user_id.to_string(),
            "aud": self.config.audience,
            "exp": now + ttl as i64,
            "iat": now,
            "email": email,
            "role": "authenticated",
            "is_anonymous": false,
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {"full_name": display_name, "name": display_name},
        });
        if let Some(issuer) = &self.config.issuer {
            claims["iss"] = issuer.clone().into();
        }
        let access_token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, key)
            .map_err(|_| JwtError::Sign)?;
        Ok(IssuedToken {
            access_token,
            expires_in: ttl,
        })
    }
}
