//! Supabase-compatible JWT verification (api.md §2.1) and self-hosted token issuing.
//!
//! Self-issued tokens are not Supabase tokens: they are signed with a key derived from the
//! configured secret (HMAC-SHA256 of a fixed label), carry `iss` [`SELF_ISSUER`] and `kid`
//! [`SELF_KID`], and only verify on that path. So even when the configured secret is a Supabase
//! project's, nothing we mint is accepted by Supabase's own services.
//!
//! The configuration decides which algorithms are accepted, never the token: HS256 only when
//! a shared secret is configured, ES256/RS256 only through the JWKS. A JWKS token's key is
//! found by `kid`, and the token's `alg` must be the one that key's type implies, so a public
//! key never serves as an HMAC secret (algorithm confusion) and `none` never verifies.
//!
//! JWKS keys are cached by `kid`. An unknown `kid` (a key rotation) triggers a refetch, and so
//! does a cache older than ten minutes (so that revoked keys stop verifying); either way the
//! endpoint is contacted at most once a minute, however many made-up `kid`s arrive.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Tokens longer than this are rejected before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Upper bound of [`JwtConfig::leeway_secs`]; larger values are capped to it.
pub const MAX_LEEWAY_SECS: u64 = 60;
/// Shortest accepted HS256 secret: RFC 7518 §3.2 wants a key at least as long as the hash.
pub const MIN_SECRET_BYTES: usize = 32;
/// Longest accepted lifetime of issued tokens (one week, Supabase's own maximum).
pub const MAX_TOKEN_TTL_SECS: u64 = 7 * 24 * 3600;

/// Unknown `kid`s and stale caches refetch the JWKS at most this often.
const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Cached JWKS keys older than this are refreshed, so that a revoked key stops verifying.
const JWKS_MAX_AGE: Duration = Duration::from_secs(600);
const JWKS_TIMEOUT: Duration = Duration::from_secs(5);
/// A JWKS is a few hundred bytes; anything this large is not one.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// `iss` of every self-issued token (never the configured Supabase issuer).
pub const SELF_ISSUER: &str = "foil-server";
/// `kid` of every self-issued token: it selects the derived key, nothing else does.
pub const SELF_KID: &str = "foil-self-v1";
/// Label the self-issuing key is derived under (changing it signs everyone out).
const SELF_KEY_LABEL: &[u8] = b"foil-server self-issued access tokens v1";
/// Same bound as display names chosen at sign-up (`user_metadata` is user-editable in Supabase).
const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// Verification and issuing settings.
#[derive(Clone)]
pub struct JwtConfig {
    /// HS256 shared secret (Supabase's legacy JWT secret, or our own), at least
    /// [`MIN_SECRET_BYTES`] long. Without it HS256 tokens are rejected and none can be issued.
    pub secret: Option<String>,
    /// URL of a JWKS (Supabase signing keys, ES256/RS256). Without it only HS256 is accepted.
    pub jwks_url: Option<String>,
    /// Required `aud` (a token's `aud` may also be an array containing it).
    pub audience: String,
    /// Required `iss`, when set.
    pub issuer: Option<String>,
    /// Clock skew allowed for `exp` and `nbf`; capped at [`MAX_LEEWAY_SECS`].
    pub leeway_secs: u64,
    /// Lifetime of issued tokens, 1..=[`MAX_TOKEN_TTL_SECS`].
    pub token_ttl_secs: u64,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            secret: None,
            jwks_url: None,
            audience: "authenticated".into(),
            issuer: None,
            leeway_secs: MAX_LEEWAY_SECS,
            token_ttl_secs: 3600,
        }
    }
}

impl fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

/// The user a valid token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser {
    /// `sub`.
    pub id: Uuid,
    /// `email`; `None` when absent or empty (Supabase's anonymous users have `""`).
    pub email: Option<String>,
    /// `user_metadata.full_name`, else `user_metadata.name`, else the email's local part.
    pub display_name: Option<String>,
    /// `is_anonymous: true` (Supabase anonymous sign-in).
    pub is_anonymous: bool,
}

/// A token issued by [`JwtVerifier::issue`].
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The HS256 JWT.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Why a token was rejected or could not be issued. Every rejection is a 401 at the HTTP layer;
/// the variants exist for logs. Messages never contain the token or a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Longer than [`MAX_TOKEN_BYTES`]; not parsed at all.
    #[error("token longer than {MAX_TOKEN_BYTES} bytes")]
    TooLarge,
    /// Not three base64url parts, or a header or payload that is not the expected JSON.
    #[error("malformed token")]
    Malformed,
    /// The header names an algorithm the configuration does not accept, or one that does not
    /// match the JWKS key named by `kid`. Holds the algorithm when it is short and printable.
    #[error("algorithm `{0}` is not accepted")]
    AlgorithmNotAccepted(String),
    /// No `kid`, or no usable JWKS key with that `kid` (also while refetches are rate-limited).
    #[error("token names no known signing key")]
    UnknownKey,
    /// The JWKS was needed but could not be fetched.
    #[error("signing keys unavailable: {0}")]
    Jwks(String),
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// `exp` is past, beyond the leeway.
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future, beyond the leeway.
    #[error("token not valid yet")]
    NotYetValid,
    /// `aud` does not contain the configured audience.
    #[error("wrong audience")]
    BadAudience,
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    BadIssuer,
    /// A required claim (`exp`, `aud`, or `iss` when an issuer is configured) is missing or not
    /// of the right type.
    #[error("required claim `{0}` missing")]
    MissingClaim(String),
    /// `sub` is missing or not a hyphenated UUID.
    #[error("`sub` is not a UUID")]
    BadSubject,
    /// `role` is not `authenticated` (e.g. Supabase's `anon` or `service_role` keys).
    #[error("`role` is not `authenticated`")]
    BadRole,
    /// [`JwtVerifier::new`] was given an unusable configuration.
    #[error("invalid JWT configuration: {0}")]
    Config(&'static str),
    /// [`JwtVerifier::issue`] without a configured secret.
    #[error("no JWT secret configured for issuing tokens")]
    NoSecret,
    /// Encoding an issued token failed.
    #[error("token could not be signed")]
    Sign,
}

/// Verifies tokens and issues self-hosted ones. Cloning is cheap and clones share the JWKS
/// cache.
#[derive(Clone)]
pub struct JwtVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    audience: String,
    issuer: Option<String>,
    leeway_secs: u64,
    token_ttl_secs: u64,
    /// Verifies external (Supabase) HS256 tokens; never signs.
    hs256: Option<Arc<DecodingKey>>,
    /// Signs and verifies self-issued tokens, derived from the same secret.
    self_issued: Option<Hs256Keys>,
    jwks: Option<Jwks>,
}

struct Hs256Keys {
    decoding: Arc<DecodingKey>,
    encoding: EncodingKey,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("JwtVerifier")
            .field("audience", &inner.audience)
            .field("issuer", &inner.issuer)
            .field("leeway_secs", &inner.leeway_secs)
            .field("token_ttl_secs", &inner.token_ttl_secs)
            .field("hs256", &inner.hs256.as_ref().map(|_| "<redacted>"))
            .field("jwks_url", &inner.jwks.as_ref().map(|j| j.url.as_str()))
            .finish()
    }
}

impl JwtVerifier {
    /// Checks the configuration and prepares the keys. `http` fetches the JWKS (the request gets
    /// its own 5 s timeout). Fails on a secret shorter than [`MIN_SECRET_BYTES`], a JWKS URL that
    /// is not http(s), an empty audience, or a token lifetime outside 1..=[`MAX_TOKEN_TTL_SECS`].
    /// With neither a secret nor a JWKS URL every token is rejected.
    pub fn new(config: JwtConfig, http: reqwest::Client) -> Result<Self, JwtError> {
        let (hs256, self_issued) = match config.secret {
            Some(secret) if secret.len() < MIN_SECRET_BYTES => {
                return Err(JwtError::Config("the JWT secret must be at least 32 bytes"));
            }
            Some(secret) => {
                let derived = super::derive_key(secret.as_bytes(), SELF_KEY_LABEL);
                (
                    Some(Arc::new(DecodingKey::from_secret(secret.as_bytes()))),
                    Some(Hs256Keys {
                        decoding: Arc::new(DecodingKey::from_secret(&derived)),
                        encoding: EncodingKey::from_secret(&derived),
                    }),
                )
            }
            None => (None, None),
        };
        let jwks = match config.jwks_url {
            Some(url) => {
                // Signing keys over plain http could be swapped by anyone on the path: https,
                // or http only to this machine (a local GoTrue, tests).
                let url = reqwest::Url::parse(&url)
                    .ok()
                    .filter(|u| u.scheme() == "https" || (u.scheme() == "http" && is_loopback(u)))
                    .ok_or(JwtError::Config(
                        "the JWKS URL must be https (http only for loopback addresses)",
                    ))?;
                Some(Jwks::new(url, http))
            }
            None => None,
        };
        if config.audience.is_empty() {
            return Err(JwtError::Config("the JWT audience must not be empty"));
        }
        if !(1..=MAX_TOKEN_TTL_SECS).contains(&config.token_ttl_secs) {
            return Err(JwtError::Config(
                "the token lifetime must be between 1 s and one week",
            ));
        }
        Ok(JwtVerifier {
            inner: Arc::new(Inner {
                audience: config.audience,
                issuer: config.issuer,
                leeway_secs: config.leeway_secs.min(MAX_LEEWAY_SECS),
                token_ttl_secs: config.token_ttl_secs,
                hs256,
                self_issued,
                jwks,
            }),
        })
    }

    /// Verifies `token` (signature, `exp`, `nbf`, `aud`, `iss`, `sub`, `role`) and returns the
    /// user it names. May fetch the JWKS.
    pub async fn verify(&self, token: &str) -> Result<AuthenticatedUser, JwtError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::TooLarge);
        }
        let header = read_header(token)?;
        let alg = accepted_algorithm(&header.alg)?;
        if header.kid.as_deref() == Some(SELF_KID) {
            let keys = self
                .inner
                .self_issued
                .as_ref()
                .ok_or(JwtError::UnknownKey)?;
            if alg != Algorithm::HS256 {
                return Err(not_accepted(alg));
            }
            let validation = self.validation(alg, Some(SELF_ISSUER));
            let data = jsonwebtoken::decode::<Claims>(token, &keys.decoding, &validation)
                .map_err(rejection)?;
            return data.claims.into_user();
        }
        let key = self.key_for(alg, header.kid.as_deref()).await?;
        let validation = self.validation(alg, self.inner.issuer.as_deref());
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(rejection)?;
        data.claims.into_user()
    }

    /// The key a token with this `alg` (and `kid`) must verify with.
    async fn key_for(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<Arc<DecodingKey>, JwtError> {
        if alg == Algorithm::HS256 {
            return match &self.inner.hs256 {
                Some(key) => Ok(key.clone()),
                None => Err(not_accepted(alg)),
            };
        }
        let jwks = self.inner.jwks.as_ref().ok_or_else(|| not_accepted(alg))?;
        let kid = kid.ok_or(JwtError::UnknownKey)?;
        let key = jwks.key(kid).await?;
        // The key's type fixed its algorithm when it was loaded; the header may only agree.
        if key.alg != alg {
            return Err(not_accepted(alg));
        }
        Ok(key.key)
    }

    /// `issuer`: the `iss` a token must carry (not checked when `None`).
    fn validation(&self, alg: Algorithm, issuer: Option<&str>) -> Validation {
        let mut validation = Validation::new(alg);
        validation.leeway = self.inner.leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_audience(&[self.inner.audience.as_str()]);
        // `sub` is checked by `Claims::into_user`, to tell a bad one apart.
        match issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                // jsonwebtoken checks `iss` only when present unless it is required.
                validation.set_required_spec_claims(&["exp", "aud", "iss"]);
            }
            None => validation.set_required_spec_claims(&["exp", "aud"]),
        }
        validation
    }

    /// Issues an HS256 token for a self-hosted account, with the claims Supabase puts in its
    /// access tokens (so the rest of the server treats both alike) but signed with the derived
    /// key, `iss` [`SELF_ISSUER`] and `kid` [`SELF_KID`], so Supabase never accepts it. Fails
    /// with [`JwtError::NoSecret`] when no secret is configured.
    pub fn issue(
        &self,
        user_id: Uuid,
        email: &str,
        display_name: Option<&str>,
    ) -> Result<IssuedToken, JwtError> {
        let keys = self.inner.self_issued.as_ref().ok_or(JwtError::NoSecret)?;
        let now = chrono::Utc::now().timestamp();
        let ttl = self.inner.token_ttl_secs;
        let display_name = display_name.map(str::trim).filter(|n| !n.is_empty());
        let claims = IssuedClaims {
            sub: user_id,
            aud: &self.inner.audience,
            // `ttl` is at most a week (checked in `new`), so this cannot overflow.
            exp: now + ttl as i64,
            iat: now,
            iss: SELF_ISSUER,
            email,
            role: "authenticated",
            is_anonymous: false,
            app_metadata: AppMetadata {
                provider: "email",
                providers: ["email"],
            },
            user_metadata: UserMetadata {
                full_name: display_name,
                name: display_name,
            },
        };
        let header = Header {
            kid: Some(SELF_KID.into()),
            ..Header::new(Algorithm::HS256)
        };
        let access_token =
            jsonwebtoken::encode(&header, &claims, &keys.encoding).map_err(|_| JwtError::Sign)?;
        Ok(IssuedToken {
            access_token,
            expires_in: ttl,
        })
    }
}

#[derive(Deserialize)]
struct TokenHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// Reads the header ourselves (jsonwebtoken cannot represent `none`), to choose the key and
/// to log which algorithm was refused. jsonwebtoken parses it again and checks that its `alg`
/// is the one we chose.
fn read_header(token: &str) -> Result<TokenHeader, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| JwtError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| JwtError::Malformed)
}

fn accepted_algorithm(name: &str) -> Result<Algorithm, JwtError> {
    match name {
        "HS256" => Ok(Algorithm::HS256),
        "ES256" => Ok(Algorithm::ES256),
        "RS256" => Ok(Algorithm::RS256),
        // The name is attacker-chosen: only short plain ones reach the logs.
        other if other.len() <= 16 && other.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Err(JwtError::AlgorithmNotAccepted(other.to_string()))
        }
        _ => Err(JwtError::AlgorithmNotAccepted("<unprintable>".into())),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn not_accepted(alg: Algorithm) -> JwtError {
    JwtError::AlgorithmNotAccepted(format!("{alg:?}"))
}

fn rejection(error: jsonwebtoken::errors::Error) -> JwtError {
    match error.into_kind() {
        ErrorKind::ExpiredSignature => JwtError::Expired,
        ErrorKind::ImmatureSignature => JwtError::NotYetValid,
        ErrorKind::InvalidAudience => JwtError::BadAudience,
        ErrorKind::InvalidIssuer => JwtError::BadIssuer,
        ErrorKind::MissingRequiredClaim(claim) => JwtError::MissingClaim(claim),
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            JwtError::AlgorithmNotAccepted("<mismatch>".into())
        }
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => JwtError::Malformed,
        // InvalidSignature, and the key or signature bytes being unusable for the algorithm.
        _ => JwtError::BadSignature,
    }
}

/// The claims we read beyond those jsonwebtoken validates.
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<Value>,
    #[serde(default)]
    role: Option<Value>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    is_anonymous: Option<bool>,
    #[serde(default)]
    user_metadata: Option<Value>,
    /// Typed only so that a non-integer `nbf` is rejected: jsonwebtoken silently skips an `nbf`
    /// it cannot parse.
    #[serde(default, rename = "nbf")]
    _nbf: Option<u64>,
}

impl Claims {
    fn into_user(self) -> Result<AuthenticatedUser, JwtError> {
        let id = self
            .sub
            .as_ref()
            .and_then(Value::as_str)
            .and_then(parse_hyphenated_uuid)
            .ok_or(JwtError::BadSubject)?;
        if self.role.as_ref().and_then(Value::as_str) != Some("authenticated") {
            return Err(JwtError::BadRole);
        }
        let email = self.email.filter(|e| !e.trim().is_empty());
        let display_name = display_name(self.user_metadata.as_ref(), email.as_deref());
        Ok(AuthenticatedUser {
            id,
            email,
            display_name,
            is_anonymous: self.is_anonymous.unwrap_or(false),
        })
    }
}

/// Only the 36-character form Supabase uses: the braced, URN and unhyphenated spellings that
/// `Uuid` also parses would let two different `sub`s name the same user.
fn parse_hyphenated_uuid(sub: &str) -> Option<Uuid> {
    (sub.len() == 36)
        .then(|| Uuid::try_parse(sub).ok())
        .flatten()
}

fn display_name(user_metadata: Option<&Value>, email: Option<&str>) -> Option<String> {
    let from_metadata = user_metadata.and_then(|metadata| {
        ["full_name", "name"]
            .into_iter()
            .find_map(|key| metadata.get(key)?.as_str().and_then(clean_name))
    });
    from_metadata.or_else(|| {
        let (local, _domain) = email?.split_once('@')?;
        clean_name(local)
    })
}

/// Without control characters, trimmed, at most [`MAX_DISPLAY_NAME_CHARS`]; `None` if empty.
fn clean_name(raw: &str) -> Option<String> {
    let name: String = raw
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(MAX_DISPLAY_NAME_CHARS)
        .collect();
    let name = name.trim_end();
    (!name.is_empty()).then(|| name.to_string())
}

#[derive(Serialize)]
struct IssuedClaims<'a> {
    sub: Uuid,
    aud: &'a str,
    exp: i64,
    iat: i64,
    iss: &'static str,
    email: &'a str,
    role: &'static str,
    is_anonymous: bool,
    app_metadata: AppMetadata,
    user_metadata: UserMetadata<'a>,
}

#[derive(Serialize)]
struct AppMetadata {
    provider: &'static str,
    providers: [&'static str; 1],
}

#[derive(Serialize)]
struct UserMetadata<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    full_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

/// A JWKS key ready for verification, with the only algorithm it verifies.
#[derive(Clone)]
struct JwksKey {
    alg: Algorithm,
    key: Arc<DecodingKey>,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, JwksKey>,
    /// When the keys were last fetched successfully.
    fetched_at: Option<Instant>,
}

#[derive(Clone, Copy)]
struct FetchAttempt {
    started: Instant,
    succeeded: bool,
}

struct Jwks {
    url: reqwest::Url,
    http: reqwest::Client,
    /// Read on every verification, written after a fetch; never held across an await.
    cache: RwLock<KeyCache>,
    /// The last fetch attempt. Held during a fetch, so that concurrent misses wait for that one
    /// request rather than start their own.
    gate: tokio::sync::Mutex<Option<FetchAttempt>>,
}

impl Jwks {
    fn new(url: reqwest::Url, http: reqwest::Client) -> Self {
        Jwks {
            url,
            http,
            cache: RwLock::new(KeyCache::default()),
            gate: tokio::sync::Mutex::new(None),
        }
    }

    /// The cached key for `kid`, and whether the cache is due for a refresh.
    fn cached(&self, kid: &str) -> (Option<JwksKey>, bool) {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        let stale = cache
            .fetched_at
            .is_none_or(|at| at.elapsed() >= JWKS_MAX_AGE);
        (cache.keys.get(kid).cloned(), stale)
    }

    async fn key(&self, kid: &str) -> Result<JwksKey, JwtError> {
        match self.cached(kid) {
            (Some(key), false) => Ok(key),
            (Some(key), true) => {
                // A request never waits for another's refresh, and keeps working with the
                // cached keys while the endpoint is down.
                let Ok(mut gate) = self.gate.try_lock() else {
                    return Ok(key);
                };
                if !may_fetch(*gate) {
                    return Ok(key);
                }
                match self.refresh(&mut gate).await {
                    // The key may have been rotated out (revoked).
                    Ok(()) => self.cached(kid).0.ok_or(JwtError::UnknownKey),
                    Err(e) => {
                        tracing::warn!(error = %e, "JWKS refresh failed; keeping the cached keys");
                        Ok(key)
                    }
                }
            }
            (None, _) => {
                let mut gate = self.gate.lock().await;
                // A fetch that finished while we waited may have brought the key.
                if let (Some(key), _) = self.cached(kid) {
                    return Ok(key);
                }
                match *gate {
                    Some(last) if !may_fetch(Some(last)) => Err(if last.succeeded {
                        JwtError::UnknownKey
                    } else {
                        JwtError::Jwks("last fetch failed; retrying within a minute".into())
                    }),
                    _ => {
                        self.refresh(&mut gate).await?;
                        self.cached(kid).0.ok_or(JwtError::UnknownKey)
                    }
                }
            }
        }
    }

    /// Fetches the keys and replaces the cache; the caller holds the gate.
    async fn refresh(&self, gate: &mut Option<FetchAttempt>) -> Result<(), JwtError> {
        // Recorded before the request: a verification abandoned mid-fetch (client gone) still
        // counts against the rate limit.
        *gate = Some(FetchAttempt {
            started: Instant::now(),
            succeeded: false,
        });
        let keys = self.fetch().await?;
        tracing::debug!(keys = keys.len(), "JWKS fetched");
        *self.cache.write().unwrap_or_else(PoisonError::into_inner) = KeyCache {
            keys,
            fetched_at: Some(Instant::now()),
        };
        if let Some(attempt) = gate.as_mut() {
            attempt.succeeded = true;
        }
        Ok(())
    }

    async fn fetch(&self) -> Result<HashMap<String, JwksKey>, JwtError> {
        let mut response = self
            .http
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(JWKS_TIMEOUT)
            .send()
            .await
            .map_err(unavailable)?;
        if !response.status().is_success() {
            return Err(JwtError::Jwks(format!(
                "HTTP status {}",
                response.status().as_u16()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(JwtError::Jwks("response too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        #[derive(Deserialize)]
        struct RawSet {
            keys: Vec<Value>,
        }
        let set: RawSet = serde_json::from_slice(&body)
            .map_err(|_| JwtError::Jwks("response is not a JWK set".into()))?;
        let mut keys = HashMap::new();
        // Parsed one by one: a key we cannot use (another algorithm, a future key type) must
        // not take the others down with it.
        for raw in set.keys {
            if let Some((kid, key)) = serde_json::from_value::<Jwk>(raw)
                .ok()
                .and_then(|jwk| verification_key(&jwk))
            {
                keys.entry(kid).or_insert(key);
            }
        }
        Ok(keys)
    }
}

fn may_fetch(last: Option<FetchAttempt>) -> bool {
    last.is_none_or(|last| last.started.elapsed() >= JWKS_REFETCH_INTERVAL)
}

/// Describes a failed JWKS request without its URL or any response content.
fn unavailable(error: reqwest::Error) -> JwtError {
    let what = if error.is_timeout() {
        "request timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "response body unreadable"
    } else {
        "request failed"
    };
    JwtError::Jwks(what.into())
}

/// The `kid` and verification key of a JWK we accept: a P-256 EC key (ES256) or an RSA key
/// (RS256), meant for signatures, whose declared `alg`, if any, agrees with its type.
/// Symmetric (`oct`) keys are never taken from a JWKS: HS256 uses the configured secret only.
fn verification_key(jwk: &Jwk) -> Option<(String, JwksKey)> {
    let kid = jwk.common.key_id.clone()?;
    let common = &jwk.common;
    if common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
        || common
            .key_operations
            .as_ref()
            .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return None;
    }
    let (alg, declared) = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            (Algorithm::ES256, KeyAlgorithm::ES256)
        }
        AlgorithmParameters::RSA(_) => (Algorithm::RS256, KeyAlgorithm::RS256),
        _ => return None,
    };
    if common.key_algorithm.is_some_and(|a| a != declared) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((
        kid,
        JwksKey {
            alg,
            key: Arc::new(key),
        },
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use axum::http::StatusCode;
    use serde_json::json;

    use super::*;

    const SECRET: &str = "unit-test-hs256-secret-0123456789abcdef";
    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture")
    }

    fn fixture_json(name: &str) -> Value {
        serde_json::from_slice(&fixture(name)).unwrap()
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn claims() -> Value {
        json!({
            "sub": Uuid::new_v4().to_string(),
            "aud": "authenticated",
            "role": "authenticated",
            "exp": now() + 600,
            "iat": now(),
            "email": "player@example.com",
        })
    }

    fn with(mut claims: Value, key: &str, value: Value) -> Value {
        claims[key] = value;
        claims
    }

    fn without(mut claims: Value, key: &str) -> Value {
        claims.as_object_mut().unwrap().remove(key);
        claims
    }

    fn sign(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(String::from);
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn hs256(claims: &Value) -> String {
        sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(SECRET.as_bytes()),
            None,
            claims,
        )
    }

    fn ec_key() -> EncodingKey {
        EncodingKey::from_ec_pem(&fixture("ec_private.pem")).unwrap()
    }

    fn ec_other_key() -> EncodingKey {
        EncodingKey::from_ec_pem(&fixture("ec_other_private.pem")).unwrap()
    }

    fn rsa_key() -> EncodingKey {
        EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap()
    }

    fn es256(kid: &str, claims: &Value) -> String {
        sign(Algorithm::ES256, &ec_key(), Some(kid), claims)
    }

    /// A token with an arbitrary header, the given payload and signature part.
    fn raw_token(header: &Value, payload: &Value, signature: &str) -> String {
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.{signature}", b64(header), b64(payload))
    }

    fn verifier(config: JwtConfig) -> JwtVerifier {
        JwtVerifier::new(config, reqwest::Client::new()).unwrap()
    }

    fn hs_verifier() -> JwtVerifier {
        verifier(JwtConfig {
            secret: Some(SECRET.into()),
            ..JwtConfig::default()
        })
    }

    fn jwks_verifier(url: &str) -> JwtVerifier {
        verifier(JwtConfig {
            jwks_url: Some(url.into()),
            ..JwtConfig::default()
        })
    }

    /// A JWKS endpoint on loopback whose document and status the test controls, counting
    /// requests.
    struct JwksServer {
        url: String,
        fetches: Arc<AtomicUsize>,
        response: Arc<Mutex<(StatusCode, String)>>,
    }

    impl JwksServer {
        async fn start(document: Value) -> Self {
            let fetches = Arc::new(AtomicUsize::new(0));
            let response = Arc::new(Mutex::new((StatusCode::OK, document.to_string())));
            let (count, current) = (fetches.clone(), response.clone());
            let app = axum::Router::new().route(
                "/jwks.json",
                axum::routing::get(move || {
                    count.fetch_add(1, Ordering::SeqCst);
                    let response = current.lock().unwrap().clone();
                    async move { response }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            JwksServer {
                url,
                fetches,
                response,
            }
        }

        fn fetches(&self) -> usize {
            self.fetches.load(Ordering::SeqCst)
        }

        fn serve(&self, status: StatusCode, body: impl Into<String>) {
            *self.response.lock().unwrap() = (status, body.into());
        }
    }

    fn jwks_with(keys: &[Value]) -> Value {
        json!({ "keys": keys })
    }

    fn fixture_keys() -> Vec<Value> {
        fixture_json("jwks.json")["keys"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn ec_key_1() -> Value {
        fixture_keys().remove(0)
    }

    /// Moves the JWKS clock back, as if the last fetch happened `by` earlier.
    fn backdate(verifier: &JwtVerifier, by: Duration) {
        let jwks = verifier.inner.jwks.as_ref().unwrap();
        let earlier = |t: Instant| t.checked_sub(by).unwrap();
        let mut cache = jwks.cache.write().unwrap();
        cache.fetched_at = cache.fetched_at.map(earlier);
        if let Some(attempt) = jwks.gate.try_lock().unwrap().as_mut() {
            attempt.started = earlier(attempt.started);
        }
    }

    const PAST_REFETCH_INTERVAL: Duration = Duration::from_secs(61);

    #[tokio::test]
    async fn hs256_token_names_the_user() {
        let c = with(
            claims(),
            "user_metadata",
            json!({"full_name": "Ada Lovelace"}),
        );
        let user = hs_verifier().verify(&hs256(&c)).await.unwrap();
        assert_eq!(
            user,
            AuthenticatedUser {
                id: c["sub"].as_str().unwrap().parse().unwrap(),
                email: Some("player@example.com".into()),
                display_name: Some("Ada Lovelace".into()),
                is_anonymous: false,
            }
        );

        let anonymous = with(
            with(claims(), "is_anonymous", json!(true)),
            "email",
            json!(""),
        );
        let user = hs_verifier().verify(&hs256(&anonymous)).await.unwrap();
        assert!(user.is_anonymous);
        assert_eq!((user.email, user.display_name), (None, None));
    }

    #[tokio::test]
    async fn alg_none_and_unconfigured_algorithms_are_rejected() {
        let v = hs_verifier();
        for alg in ["none", "None", "NONE", "nOnE"] {
            for signature in ["", "e30"] {
                let token = raw_token(&json!({"alg": alg, "typ": "JWT"}), &claims(), signature);
                assert_eq!(
                    v.verify(&token).await,
                    Err(JwtError::AlgorithmNotAccepted(alg.into()))
                );
            }
        }
        // Case matters in JOSE: `hs256` is not HS256.
        let token = raw_token(&json!({"alg": "hs256"}), &claims(), "x");
        assert_eq!(
            v.verify(&token).await,
            Err(JwtError::AlgorithmNotAccepted("hs256".into()))
        );
        // HS512/HS384 with the right secret: still not a configured algorithm.
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let token = sign(
                alg,
                &EncodingKey::from_secret(SECRET.as_bytes()),
                None,
                &claims(),
            );
            assert_eq!(
                v.verify(&token).await,
                Err(JwtError::AlgorithmNotAccepted(format!("{alg:?}")))
            );
        }
        let ps256 = sign(Algorithm::PS256, &rsa_key(), Some("rsa-key-1"), &claims());
        assert_eq!(
            v.verify(&ps256).await,
            Err(JwtError::AlgorithmNotAccepted("PS256".into()))
        );
        // No JWKS configured: ES256/RS256 are refused outright.
        let es = es256("ec-key-1", &claims());
        assert_eq!(
            v.verify(&es).await,
            Err(JwtError::AlgorithmNotAccepted("ES256".into()))
        );
    }

    #[tokio::test]
    async fn public_keys_are_never_hmac_secrets() {
        let server = JwksServer::start(fixture_json("jwks.json")).await;
        // The classic forgery: HS256 "signed" with the RSA public key, naming that key.
        let forged = sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(&fixture("rsa_public.pem")),
            Some("rsa-key-1"),
            &claims(),
        );
        assert_eq!(
            jwks_verifier(&server.url).verify(&forged).await,
            Err(JwtError::AlgorithmNotAccepted("HS256".into()))
        );
        // With a secret configured too, HS256 is checked against the secret only.
        let both = verifier(JwtConfig {
            secret: Some(SECRET.into()),
            jwks_url: Some(server.url.clone()),
            ..JwtConfig::default()
        });
        assert_eq!(both.verify(&forged).await, Err(JwtError::BadSignature));
        assert_eq!(
            server.fetches(),
            0,
            "an HS256 header never reaches the JWKS"
        );
        // ...while an HS256 token signed with the secret passes, kid or not.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("rsa-key-1".into());
        let genuine = jsonwebtoken::encode(
            &header,
            &claims(),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert!(both.verify(&genuine).await.is_ok());
    }

    #[tokio::test]
    async fn the_jwk_decides_the_algorithm() {
        // An `oct` key published in the JWKS is never an HMAC secret either.
        let oct = json!({
            "kty": "oct", "kid": "oct-1", "alg": "HS256", "use": "sig",
            "k": URL_SAFE_NO_PAD.encode(SECRET),
        });
        let mut keys = fixture_keys();
        keys.push(oct);
        let server = JwksServer::start(jwks_with(&keys)).await;
        let v = jwks_verifier(&server.url);
        // Each token is correctly signed by the key it names, but in the other key type's
        // algorithm (or names a key of the other type).
        let rs_naming_ec = sign(Algorithm::RS256, &rsa_key(), Some("ec-key-1"), &claims());
        assert_eq!(
            v.verify(&rs_naming_ec).await,
            Err(JwtError::AlgorithmNotAccepted("RS256".into()))
        );
        let es_naming_rsa = es256("rsa-key-1", &claims());
        assert_eq!(
            v.verify(&es_naming_rsa).await,
            Err(JwtError::AlgorithmNotAccepted("ES256".into()))
        );
        let hs_naming_oct = sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(SECRET.as_bytes()),
            Some("oct-1"),
            &claims(),
        );
        assert_eq!(
            v.verify(&hs_naming_oct).await,
            Err(JwtError::AlgorithmNotAccepted("HS256".into()))
        );
        assert_eq!(
            v.verify(&es256("oct-1", &claims())).await,
            Err(JwtError::UnknownKey)
        );
        assert_eq!(server.fetches(), 1);
    }

    #[tokio::test]
    async fn es256_and_rs256_verify_through_a_real_jwks() {
        let server = JwksServer::start(fixture_json("jwks.json")).await;
        let v = jwks_verifier(&server.url);
        let c = with(claims(), "user_metadata", json!({"name": "Grace"}));
        let es = es256("ec-key-1", &c);
        let rs = sign(Algorithm::RS256, &rsa_key(), Some("rsa-key-1"), &claims());
        let user = v.verify(&es).await.unwrap();
        assert_eq!(user.id.to_string(), c["sub"].as_str().unwrap());
        assert_eq!(user.display_name.as_deref(), Some("Grace"));
        assert!(v.verify(&rs).await.is_ok());
        assert!(
            v.clone().verify(&es).await.is_ok(),
            "clones share the cache"
        );
        assert_eq!(server.fetches(), 1, "keys are cached");

        // A valid ES256 signature by another key, under this kid.
        let wrong_key = sign(
            Algorithm::ES256,
            &ec_other_key(),
            Some("ec-key-1"),
            &claims(),
        );
        assert_eq!(v.verify(&wrong_key).await, Err(JwtError::BadSignature));
        // Claims still checked on JWKS tokens.
        let expired = es256("ec-key-1", &with(claims(), "exp", json!(now() - 3600)));
        assert_eq!(v.verify(&expired).await, Err(JwtError::Expired));
        // No kid: nothing to look up, and no fetch for it.
        let no_kid = sign(Algorithm::ES256, &ec_key(), None, &claims());
        assert_eq!(v.verify(&no_kid).await, Err(JwtError::UnknownKey));
        assert_eq!(server.fetches(), 1);
    }

    #[tokio::test]
    async fn unknown_kids_refetch_at_most_once_a_minute() {
        let server = JwksServer::start(jwks_with(&[ec_key_1()])).await;
        let v = jwks_verifier(&server.url);
        for i in 0..5 {
            let token = es256(&format!("unknown-{i}"), &claims());
            assert_eq!(v.verify(&token).await, Err(JwtError::UnknownKey));
        }
        assert_eq!(server.fetches(), 1, "one fetch for five unknown kids");

        // The key is rotated in; within the minute it is not seen yet.
        let rotated = [ec_key_1(), fixture_json("ec_other_public.jwk.json")];
        server.serve(StatusCode::OK, jwks_with(&rotated).to_string());
        let new_key = sign(
            Algorithm::ES256,
            &ec_other_key(),
            Some("ec-key-2"),
            &claims(),
        );
        assert_eq!(v.verify(&new_key).await, Err(JwtError::UnknownKey));
        assert_eq!(server.fetches(), 1);
        // A minute later the unknown kid refetches and the new key verifies.
        backdate(&v, PAST_REFETCH_INTERVAL);
        assert!(v.verify(&new_key).await.is_ok());
        assert!(v.verify(&es256("ec-key-1", &claims())).await.is_ok());
        assert_eq!(server.fetches(), 2);

        assert_eq!(
            v.verify(&es256("still-unknown", &claims())).await,
            Err(JwtError::UnknownKey)
        );
        assert_eq!(server.fetches(), 2, "rate-limited again after the refetch");
    }

    #[tokio::test]
    async fn concurrent_unknown_kids_share_one_fetch() {
        let server = JwksServer::start(fixture_json("jwks.json")).await;
        let v = jwks_verifier(&server.url);
        let tokens: Vec<String> = (0..16)
            .map(|i| {
                let kid = if i % 2 == 0 {
                    "ec-key-1".to_string()
                } else {
                    format!("bogus-{i}")
                };
                es256(&kid, &claims())
            })
            .collect();
        let results = futures_util::future::join_all(tokens.iter().map(|t| v.verify(t))).await;
        for (i, result) in results.into_iter().enumerate() {
            if i % 2 == 0 {
                assert!(result.is_ok(), "{i}: {result:?}");
            } else {
                assert_eq!(result, Err(JwtError::UnknownKey), "{i}");
            }
        }
        assert_eq!(server.fetches(), 1);
    }

    #[tokio::test]
    async fn jwks_failures_reject_without_panicking() {
        let server = JwksServer::start(fixture_json("jwks.json")).await;
        server.serve(StatusCode::INTERNAL_SERVER_ERROR, "oops");
        let v = jwks_verifier(&server.url);
        let token = es256("ec-key-1", &claims());
        assert_eq!(
            v.verify(&token).await,
            Err(JwtError::Jwks("HTTP status 500".into()))
        );
        // Failures are rate-limited too, and still reported as such.
        assert!(matches!(v.verify(&token).await, Err(JwtError::Jwks(_))));
        assert_eq!(server.fetches(), 1);

        for (body, expected) in [
            ("not json".to_string(), "response is not a JWK set"),
            (
                json!({"keys": "nope"}).to_string(),
                "response is not a JWK set",
            ),
            ("x".repeat(MAX_JWKS_BYTES + 1), "response too large"),
        ] {
            server.serve(StatusCode::OK, body);
            backdate(&v, PAST_REFETCH_INTERVAL);
            assert_eq!(v.verify(&token).await, Err(JwtError::Jwks(expected.into())));
        }
        // Once the endpoint is back, the next allowed fetch succeeds.
        server.serve(StatusCode::OK, fixture_json("jwks.json").to_string());
        backdate(&v, PAST_REFETCH_INTERVAL);
        assert!(v.verify(&token).await.is_ok());

        let unreachable = jwks_verifier("http://127.0.0.1:1/jwks.json");
        assert_eq!(
            unreachable.verify(&token).await,
            Err(JwtError::Jwks("connection failed".into()))
        );
    }

    #[tokio::test]
    async fn stale_keys_are_refreshed_so_revocations_apply() {
        let server = JwksServer::start(fixture_json("jwks.json")).await;
        let v = jwks_verifier(&server.url);
        let token = es256("ec-key-1", &claims());
        assert!(v.verify(&token).await.is_ok());

        // Ten minutes on, with the endpoint down, the cached keys keep working.
        server.serve(StatusCode::BAD_GATEWAY, "");
        backdate(&v, JWKS_MAX_AGE);
        assert!(v.verify(&token).await.is_ok());
        assert_eq!(server.fetches(), 2);
        assert!(v.verify(&token).await.is_ok());
        assert_eq!(server.fetches(), 2, "stale refreshes are rate-limited too");

        // Once the endpoint answers again without ec-key-1, that key is gone.
        server.serve(
            StatusCode::OK,
            jwks_with(&[fixture_json("ec_other_public.jwk.json")]).to_string(),
        );
        backdate(&v, JWKS_MAX_AGE);
        assert_eq!(v.verify(&token).await, Err(JwtError::UnknownKey));
        assert_eq!(server.fetches(), 3);
    }

    #[tokio::test]
    async fn unusable_jwks_entries_are_skipped() {
        // Every entry but the last carries ec-key-1's public point, so each would verify an
        // ES256 token from ec_private.pem if it were not filtered out.
        let ec = ec_key_1();
        let variant = |kid: &str, key: &str, value: Value| {
            with(with(ec.clone(), "kid", json!(kid)), key, value)
        };
        let keys = vec![
            variant("declared-rs256", "alg", json!("RS256")),
            variant("declared-es384", "alg", json!("ES384")),
            variant("encryption", "use", json!("enc")),
            variant("sign-only", "key_ops", json!(["sign"])),
            variant("p384", "crv", json!("P-384")),
            json!({"kty": "FUTURE", "kid": "future", "x": "?"}),
            without(with(ec.clone(), "kid", json!("no-alg")), "alg"),
            without(ec.clone(), "kid"),
            ec.clone(),
        ];
        let server = JwksServer::start(jwks_with(&keys)).await;
        let v = jwks_verifier(&server.url);
        for kid in [
            "declared-rs256",
            "declared-es384",
            "encryption",
            "sign-only",
            "p384",
            "future",
        ] {
            assert_eq!(
                v.verify(&es256(kid, &claims())).await,
                Err(JwtError::UnknownKey),
                "{kid}"
            );
        }
        // An entry without `alg` is fine, and one odd entry does not spoil the set.
        assert!(v.verify(&es256("no-alg", &claims())).await.is_ok());
        assert!(v.verify(&es256("ec-key-1", &claims())).await.is_ok());
        assert_eq!(server.fetches(), 1);
    }

    #[tokio::test]
    async fn exp_and_nbf_are_enforced_with_bounded_leeway() {
        let v = hs_verifier();
        let at = |key: &str, offset: i64| hs256(&with(claims(), key, json!(now() + offset)));
        assert_eq!(v.verify(&at("exp", -120)).await, Err(JwtError::Expired));
        assert!(
            v.verify(&at("exp", -30)).await.is_ok(),
            "within the 60 s leeway"
        );
        assert_eq!(v.verify(&at("nbf", 300)).await, Err(JwtError::NotYetValid));
        assert!(v.verify(&at("nbf", 30)).await.is_ok(), "within the leeway");
        assert!(v.verify(&at("nbf", -30)).await.is_ok());
        assert_eq!(
            v.verify(&hs256(&without(claims(), "exp"))).await,
            Err(JwtError::MissingClaim("exp".into()))
        );
        let string_exp = with(claims(), "exp", json!((now() + 600).to_string()));
        assert_eq!(
            v.verify(&hs256(&string_exp)).await,
            Err(JwtError::MissingClaim("exp".into()))
        );
        // jsonwebtoken would ignore an `nbf` it cannot read; we do not.
        let string_nbf = with(claims(), "nbf", json!((now() + 3600).to_string()));
        assert_eq!(
            v.verify(&hs256(&string_nbf)).await,
            Err(JwtError::Malformed)
        );

        // A configured leeway above 60 s is capped; a smaller one applies.
        let lax = verifier(JwtConfig {
            secret: Some(SECRET.into()),
            leeway_secs: 3600,
            ..JwtConfig::default()
        });
        assert_eq!(lax.verify(&at("exp", -120)).await, Err(JwtError::Expired));
        let strict = verifier(JwtConfig {
            secret: Some(SECRET.into()),
            leeway_secs: 0,
            ..JwtConfig::default()
        });
        assert_eq!(strict.verify(&at("exp", -30)).await, Err(JwtError::Expired));
    }

    #[tokio::test]
    async fn audience_and_issuer_are_checked() {
        let v = hs_verifier();
        let aud = |value: Value| hs256(&with(claims(), "aud", value));
        assert_eq!(
            v.verify(&aud(json!("anon"))).await,
            Err(JwtError::BadAudience)
        );
        assert_eq!(
            v.verify(&aud(json!(["anon", "other"]))).await,
            Err(JwtError::BadAudience)
        );
        assert!(v
            .verify(&aud(json!(["other", "authenticated"])))
            .await
            .is_ok());
        assert_eq!(
            v.verify(&hs256(&without(claims(), "aud"))).await,
            Err(JwtError::MissingClaim("aud".into()))
        );
        let custom = verifier(JwtConfig {
            secret: Some(SECRET.into()),
            audience: "foil".into(),
            ..JwtConfig::default()
        });
        assert_eq!(
            custom.verify(&aud(json!("authenticated"))).await,
            Err(JwtError::BadAudience)
        );
        assert!(custom.verify(&aud(json!("foil"))).await.is_ok());

        const ISSUER: &str = "https://project.supabase.co/auth/v1";
        let with_iss = verifier(JwtConfig {
            secret: Some(SECRET.into()),
            issuer: Some(ISSUER.into()),
            ..JwtConfig::default()
        });
        let iss = |value: Value| hs256(&with(claims(), "iss", value));
        assert_eq!(
            with_iss
                .verify(&iss(json!("https://evil.example/auth/v1")))
                .await,
            Err(JwtError::BadIssuer)
        );
        assert_eq!(
            with_iss.verify(&hs256(&claims())).await,
            Err(JwtError::MissingClaim("iss".into()))
        );
        assert!(with_iss.verify(&iss(json!(ISSUER))).await.is_ok());
        // Without a configured issuer, `iss` is not checked.
        assert!(v
            .verify(&iss(json!("https://anyone.example")))
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn subject_and_role_are_checked() {
        let v = hs_verifier();
        let id = Uuid::new_v4();
        for bad_sub in [
            json!("not-a-uuid"),
            json!(""),
            json!(42),
            json!(null),
            json!(id.simple().to_string()),
            json!(id.braced().to_string()),
            json!(id.urn().to_string()),
        ] {
            let token = hs256(&with(claims(), "sub", bad_sub.clone()));
            assert_eq!(
                v.verify(&token).await,
                Err(JwtError::BadSubject),
                "{bad_sub}"
            );
        }
        assert_eq!(
            v.verify(&hs256(&without(claims(), "sub"))).await,
            Err(JwtError::BadSubject)
        );
        let upper = hs256(&with(claims(), "sub", json!(id.to_string().to_uppercase())));
        assert_eq!(v.verify(&upper).await.unwrap().id, id);

        for bad_role in [
            json!("anon"),
            json!("service_role"),
            json!(""),
            json!(["authenticated"]),
        ] {
            let token = hs256(&with(claims(), "role", bad_role.clone()));
            assert_eq!(v.verify(&token).await, Err(JwtError::BadRole), "{bad_role}");
        }
        assert_eq!(
            v.verify(&hs256(&without(claims(), "role"))).await,
            Err(JwtError::BadRole)
        );
    }

    #[tokio::test]
    async fn bad_signatures_and_garbage_are_rejected() {
        let v = hs_verifier();
        let other_secret = sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(b"another secret, just as long as ours"),
            None,
            &claims(),
        );
        assert_eq!(v.verify(&other_secret).await, Err(JwtError::BadSignature));

        // Another payload under a valid signature.
        let good = hs256(&claims());
        let parts: Vec<&str> = good.split('.').collect();
        let swapped_payload = URL_SAFE_NO_PAD.encode(claims().to_string());
        let swapped = format!("{}.{swapped_payload}.{}", parts[0], parts[2]);
        assert_eq!(v.verify(&swapped).await, Err(JwtError::BadSignature));
        let truncated = &good[..good.len() - 2];
        assert_eq!(v.verify(truncated).await, Err(JwtError::BadSignature));
        let unsigned = format!("{}.{}.", parts[0], parts[1]);
        assert_eq!(v.verify(&unsigned).await, Err(JwtError::BadSignature));
        assert!(
            v.verify(&good).await.is_ok(),
            "the untouched token verifies"
        );

        for garbage in [
            "",
            "a.b",
            "a.b.c",
            "....",
            "not a token at all",
            &format!("{good}.extra"),
            &format!("!{good}"),
        ] {
            assert_eq!(
                v.verify(garbage).await,
                Err(JwtError::Malformed),
                "{garbage:?}"
            );
        }
        // A header that is not a JSON object with a string `alg`.
        for header in [json!([]), json!({"typ": "JWT"}), json!({"alg": 256})] {
            let token = raw_token(&header, &claims(), "sig");
            assert_eq!(v.verify(&token).await, Err(JwtError::Malformed), "{header}");
        }
        // A payload that is not a claims object.
        let token = sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(SECRET.as_bytes()),
            None,
            &json!(["not", "claims"]),
        );
        assert!(v.verify(&token).await.is_err());
    }

    #[tokio::test]
    async fn oversized_tokens_are_rejected_before_parsing() {
        let v = hs_verifier();
        assert_eq!(
            v.verify(&"x".repeat(MAX_TOKEN_BYTES + 1)).await,
            Err(JwtError::TooLarge),
            "not even split into parts"
        );
        // The largest valid token that fits passes; one byte more of padding does not.
        let padded = |len: usize| hs256(&with(claims(), "padding", json!("x".repeat(len))));
        let mut len = (MAX_TOKEN_BYTES - padded(0).len()) * 3 / 4;
        while padded(len + 1).len() <= MAX_TOKEN_BYTES {
            len += 1;
        }
        while padded(len).len() > MAX_TOKEN_BYTES {
            len -= 1;
        }
        assert!(v.verify(&padded(len)).await.is_ok());
        let mut over = len + 1;
        while padded(over).len() <= MAX_TOKEN_BYTES {
            over += 1;
        }
        assert_eq!(v.verify(&padded(over)).await, Err(JwtError::TooLarge));
    }

    #[tokio::test]
    async fn issued_tokens_have_supabases_shape_and_verify() {
        const ISSUER: &str = "https://foil.example/auth/v1";
        let v = verifier(JwtConfig {
            secret: Some(SECRET.into()),
            issuer: Some(ISSUER.into()),
            token_ttl_secs: 900,
            ..JwtConfig::default()
        });
        let id = Uuid::new_v4();
        let issued = v.issue(id, "me@example.com", Some("  Me  ")).unwrap();
        assert_eq!(issued.expires_in, 900);
        let user = v.verify(&issued.access_token).await.unwrap();
        assert_eq!(
            user,
            AuthenticatedUser {
                id,
                email: Some("me@example.com".into()),
                display_name: Some("Me".into()),
                is_anonymous: false,
            }
        );

        let header = jsonwebtoken::decode_header(&issued.access_token).unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.kid.as_deref(), Some(SELF_KID));
        let payload = issued.access_token.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        assert!((iat - now()).abs() <= 5);
        assert_eq!(exp - iat, 900);
        assert_eq!(claims["sub"], id.to_string());
        assert_eq!(claims["aud"], "authenticated");
        // Our own issuer, not the configured (Supabase) one that external tokens must carry.
        assert_eq!(claims["iss"], SELF_ISSUER);
        assert_eq!(claims["email"], "me@example.com");
        assert_eq!(claims["role"], "authenticated");
        assert_eq!(claims["is_anonymous"], false);
        assert_eq!(
            claims["user_metadata"],
            json!({"full_name": "Me", "name": "Me"})
        );
        assert_eq!(claims["app_metadata"]["provider"], "email");

        // No name: empty metadata, and the verifier falls back to the email.
        let issued = hs_verifier()
            .issue(id, "someone@example.com", None)
            .unwrap();
        let payload = issued.access_token.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(claims["user_metadata"], json!({}));
        assert_eq!(claims["iss"], SELF_ISSUER);
        let user = hs_verifier().verify(&issued.access_token).await.unwrap();
        assert_eq!(user.display_name.as_deref(), Some("someone"));
        // Another deployment's secret does not accept it.
        let other = verifier(JwtConfig {
            secret: Some(format!("{SECRET}-other")),
            ..JwtConfig::default()
        });
        assert_eq!(
            other.verify(&issued.access_token).await,
            Err(JwtError::BadSignature)
        );

        // Not a Supabase token: the raw secret (what Supabase's services check) rejects it.
        let mut supabase_check = Validation::new(Algorithm::HS256);
        supabase_check.set_audience(&["authenticated"]);
        assert!(jsonwebtoken::decode::<Value>(
            &issued.access_token,
            &DecodingKey::from_secret(SECRET.as_bytes()),
            &supabase_check,
        )
        .is_err());
        // Nor can the raw secret forge one of ours.
        let forged = sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(SECRET.as_bytes()),
            Some(SELF_KID),
            &with(self::claims(), "iss", json!(SELF_ISSUER)),
        );
        assert_eq!(
            hs_verifier().verify(&forged).await,
            Err(JwtError::BadSignature)
        );
        // Supabase's tokens (the raw secret, no `kid`) are still accepted.
        assert!(hs_verifier().verify(&hs256(&self::claims())).await.is_ok());

        let no_secret = verifier(JwtConfig {
            jwks_url: Some("https://project.supabase.co/auth/v1/.well-known/jwks.json".into()),
            ..JwtConfig::default()
        });
        assert!(matches!(
            no_secret.issue(id, "me@example.com", None),
            Err(JwtError::NoSecret)
        ));
    }

    #[test]
    fn display_names_come_from_metadata_then_email() {
        let name = |metadata: Value, email: Option<&str>| display_name(Some(&metadata), email);
        let email = Some("ada.l@example.com");
        assert_eq!(
            name(json!({"full_name": "Ada Lovelace", "name": "ada"}), email).as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(name(json!({"name": "ada"}), email).as_deref(), Some("ada"));
        assert_eq!(
            name(json!({"full_name": "  ", "name": " Ada "}), email).as_deref(),
            Some("Ada"),
            "a blank full name falls through"
        );
        assert_eq!(
            name(json!({"full_name": 7}), email).as_deref(),
            Some("ada.l")
        );
        assert_eq!(name(json!({}), email).as_deref(), Some("ada.l"));
        assert_eq!(display_name(None, email).as_deref(), Some("ada.l"));
        assert_eq!(display_name(None, Some("no-at-sign")), None);
        assert_eq!(display_name(None, Some("@example.com")), None);
        assert_eq!(display_name(None, None), None);
        assert_eq!(
            name(json!({"full_name": "Ada\u{0}\n Lovelace\u{7}"}), None).as_deref(),
            Some("Ada Lovelace")
        );
        let long = name(json!({"full_name": "é".repeat(500)}), None).unwrap();
        assert_eq!(long.chars().count(), MAX_DISPLAY_NAME_CHARS);
    }

    #[tokio::test]
    async fn secrets_and_tokens_stay_out_of_debug_and_errors() {
        let config = JwtConfig {
            secret: Some(SECRET.into()),
            ..JwtConfig::default()
        };
        let debug = format!("{config:?}");
        assert!(
            !debug.contains(SECRET) && debug.contains("<redacted>"),
            "{debug}"
        );
        let debug = format!("{:?}", verifier(config));
        assert!(
            !debug.contains(SECRET) && debug.contains("<redacted>"),
            "{debug}"
        );
        assert!(!format!("{:?}", JwtConfig::default()).contains("<redacted>"));

        let v = hs_verifier();
        let expired = hs256(&with(claims(), "exp", json!(now() - 3600)));
        let weird_alg = raw_token(&json!({"alg": format!("{SECRET} <script>")}), &claims(), "");
        for token in [
            expired,
            weird_alg,
            hs256(&with(claims(), "sub", json!("x"))),
        ] {
            let error = v.verify(&token).await.unwrap_err();
            for text in [error.to_string(), format!("{error:?}")] {
                assert!(!text.contains(&token) && !text.contains(SECRET), "{text}");
                for part in token.split('.').filter(|p| p.len() > 8) {
                    assert!(!text.contains(part), "{text}");
                }
            }
        }
    }

    #[test]
    fn unusable_configurations_are_refused() {
        let refused = |config: JwtConfig| {
            matches!(
                JwtVerifier::new(config, reqwest::Client::new()),
                Err(JwtError::Config(_))
            )
        };
        assert!(refused(JwtConfig {
            secret: Some("x".repeat(MIN_SECRET_BYTES - 1)),
            ..JwtConfig::default()
        }));
        assert!(!refused(JwtConfig {
            secret: Some("x".repeat(MIN_SECRET_BYTES)),
            ..JwtConfig::default()
        }));
        for url in [
            "not a url",
            "file:///etc/jwks.json",
            "ftp://example.com/jwks",
            "http://project.supabase.co/auth/v1/.well-known/jwks.json",
            "http://10.0.0.5/jwks.json",
        ] {
            assert!(
                refused(JwtConfig {
                    jwks_url: Some(url.into()),
                    ..JwtConfig::default()
                }),
                "{url}"
            );
        }
        for url in [
            "https://project.supabase.co/auth/v1/.well-known/jwks.json",
            "http://127.0.0.1:9999/jwks.json",
            "http://[::1]:9999/jwks.json",
            "http://localhost:9999/jwks.json",
        ] {
            assert!(
                !refused(JwtConfig {
                    jwks_url: Some(url.into()),
                    ..JwtConfig::default()
                }),
                "{url}"
            );
        }
        assert!(refused(JwtConfig {
            audience: String::new(),
            ..JwtConfig::default()
        }));
        for ttl in [0, MAX_TOKEN_TTL_SECS + 1] {
            assert!(refused(JwtConfig {
                token_ttl_secs: ttl,
                ..JwtConfig::default()
            }));
        }
    }
}
