//! When a credential expires, for scheduling its refresh.
//!
//! A game may authenticate with a long-lived API key (`pk_live_...`) or with a short-lived
//! *player token* that its backend mints (`pt_` + a JWT, docs/player-tokens.md). A token's
//! JWT payload carries its expiry (`exp`) and issue time (`iat`); the functions here read them
//! **without checking the signature** — only the server can, and does on every request. Use
//! them only to decide when to ask the backend for a new token, never to trust a token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

/// Every player token starts with this (an API key never does).
pub const PLAYER_TOKEN_PREFIX: &str = "pt_";

/// The longest a refresh is asked for ahead of a token's expiry: one minute (shorter for
/// tokens that live less than ten minutes, see [`credential_refresh_time`]).
pub const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Longer credentials are not parsed (the server refuses tokens over 4 KiB anyway).
const MAX_CREDENTIAL_BYTES: usize = 8 * 1024;

/// Whether `credential` has the shape of a player token (`pt_...`).
pub fn is_player_token(credential: &str) -> bool {
    credential.trim().starts_with(PLAYER_TOKEN_PREFIX)
}

/// When the player token `credential` expires: the `exp` claim of its JWT payload. `None` for
/// an API key and for anything that does not parse as a token with an `exp`.
///
/// The signature is **not** checked: this is only for scheduling a refresh (the server checks
/// every token it receives).
pub fn credential_expiry(credential: &str) -> Option<SystemTime> {
    claims(credential).map(|c| c.expires_at)
}

/// When to get a new token to replace `credential`: `expires_at - min(60 s, lifetime / 10)`,
/// where the lifetime runs from the token's `iat` (or from now, without one) to its `exp`.
/// So a one-hour token is refreshed a minute early, a 60-second one 6 s early. The moment may
/// already have passed (an old token): then refresh at once. `None` when
/// [`credential_expiry`] is `None`; the signature is not checked either.
pub fn credential_refresh_time(credential: &str) -> Option<SystemTime> {
    let claims = claims(credential)?;
    let from = claims.issued_at.unwrap_or_else(SystemTime::now);
    let lifetime = claims
        .expires_at
        .duration_since(from)
        .unwrap_or(Duration::ZERO);
    let margin = (lifetime / 10).min(MAX_REFRESH_MARGIN);
    Some(
        claims
            .expires_at
            .checked_sub(margin)
            .unwrap_or(claims.expires_at),
    )
}

/// When a client should announce that its credential needs replacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshSchedule {
    /// The token's expiry, in seconds since the epoch (the event's payload).
    pub expires_at_unix: u64,
    /// How long from now to wait before announcing it; zero when it is due already.
    pub wait: Duration,
}

/// The [`RefreshSchedule`] of `credential` as of now: `None` for an API key or anything
/// without a readable expiry. The signature is not checked (see [`credential_expiry`]).
pub fn refresh_schedule(credential: &str) -> Option<RefreshSchedule> {
    let expires_at = credential_expiry(credential)?;
    let refresh_at = credential_refresh_time(credential)?;
    Some(RefreshSchedule {
        expires_at_unix: expires_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        wait: refresh_at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    })
}

struct Claims {
    expires_at: SystemTime,
    issued_at: Option<SystemTime>,
}

/// `exp` (required) and `iat` (optional) of a `pt_` token's JWT payload.
fn claims(credential: &str) -> Option<Claims> {
    let credential = credential.trim();
    if credential.len() > MAX_CREDENTIAL_BYTES {
        return None;
    }
    let jwt = credential.strip_prefix(PLAYER_TOKEN_PREFIX)?;
    let mut parts = jwt.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let payload: serde_json::Value = serde_json::from_slice(&base64url_decode(payload)?).ok()?;
    let payload = payload.as_object()?;
    Some(Claims {
        expires_at: unix_time(payload.get("exp")?)?,
        issued_at: payload.get("iat").and_then(unix_time),
    })
}

/// A JWT NumericDate (seconds since the epoch, possibly fractional) as a time.
fn unix_time(value: &serde_json::Value) -> Option<SystemTime> {
    let secs = value.as_f64().filter(|s| s.is_finite() && *s >= 0.0)?;
    UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(secs).ok()?)
}

/// JWT parts are unpadded base64url (RFC 7515); trailing `=` is tolerated.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    BASE64URL.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base64url(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn token(payload: &str) -> String {
        format!(
            "pt_{}.{}.c2lnbmF0dXJl",
            base64url(br#"{"alg":"HS256","typ":"JWT"}"#),
            base64url(payload.as_bytes())
        )
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn base64url_round_trips() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let encoded = base64url(&bytes);
            assert_eq!(base64url_decode(&encoded).as_deref(), Some(&bytes[..]));
        }
        assert_eq!(base64url_decode("aGk=").as_deref(), Some(&b"hi"[..]));
        assert_eq!(base64url_decode("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
        for bad in ["a", "abcde", "ab!c", "ab.c", "ab c", "+/8"] {
            assert_eq!(base64url_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_expiry_of_a_player_token() {
        let minted = token(
            r#"{"iss":"foil-server","aud":"foil-player","sub":"player-1","acc":"a","key":"k","iat":1796569200,"exp":1796572800}"#,
        );
        assert!(is_player_token(&minted));
        assert_eq!(credential_expiry(&minted), Some(at(1_796_572_800)));
        // A one-hour token: a minute early.
        assert_eq!(credential_refresh_time(&minted), Some(at(1_796_572_740)));
        // Surrounding whitespace (a pasted token) is ignored, as when it is sent.
        assert_eq!(
            credential_expiry(&format!(" {minted}\n")),
            Some(at(1_796_572_800))
        );
        // A 60-second token: 6 s early; a 5-second one: half a second early.
        let short = token(r#"{"iat":1000,"exp":1060}"#);
        assert_eq!(credential_refresh_time(&short), Some(at(1054)));
        let tiny = token(r#"{"iat":1000,"exp":1005}"#);
        assert_eq!(
            credential_refresh_time(&tiny),
            Some(at(1005) - Duration::from_millis(500))
        );
        // A fractional `exp`; an `iat` after `exp` (no margin).
        let fractional = token(r#"{"exp":1060.5,"iat":2000}"#);
        assert_eq!(
            credential_expiry(&fractional),
            Some(at(1060) + Duration::from_millis(500))
        );
        assert_eq!(
            credential_refresh_time(&fractional),
            credential_expiry(&fractional)
        );
    }

    #[test]
    fn without_iat_the_lifetime_runs_from_now() {
        let exp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 100;
        let refresh = credential_refresh_time(&token(&format!(r#"{{"exp":{exp}}}"#))).unwrap();
        let margin = at(exp).duration_since(refresh).unwrap();
        assert!(
            margin > Duration::from_secs(9) && margin <= Duration::from_secs(10),
            "{margin:?}"
        );
        // Expired long ago: the refresh time has passed too.
        let old = credential_refresh_time(&token(r#"{"exp":1000}"#)).unwrap();
        assert_eq!(old, at(1000));
    }

    #[test]
    fn keys_and_malformed_tokens_have_no_expiry() {
        let long_payload = format!(r#"{{"exp":1,"pad":"{}"}}"#, "x".repeat(9000));
        for credential in [
            "pk_live_0123456789abcdef0123456789abcdef".to_string(),
            String::new(),
            "pt_".into(),
            "pt_a.b".into(),
            "pt_a.b.c.d".into(),
            "pt_!!!.e30.sig".into(),
            token("not json"),
            token("[1,2]"),
            token(r#"{"iat":1}"#),
            token(r#"{"exp":"1796572800"}"#),
            token(r#"{"exp":-5}"#),
            token(r#"{"exp":1e300}"#),
            token(&long_payload),
            // The token's shape without the prefix: an API key, as far as the client knows.
            token(r#"{"exp":1}"#).trim_start_matches("pt_").to_string(),
        ] {
            assert_eq!(credential_expiry(&credential), None, "{credential:.60}");
            assert_eq!(credential_refresh_time(&credential), None);
        }
        assert!(!is_player_token("pk_live_x"));
    }
}
