//! foil-server's checks of presented credentials:
//! [`foil_server::auth::jwt::JwtVerifier::verify`] (HS256 secret configured, no JWKS, so no
//! network), [`foil_server::auth::api_key::is_well_formed`] and
//! [`foil_server::auth::api_key::KeyHasher`].
//!
//! Input: the first byte picks how the rest becomes a token:
//! - 0: the rest is the token text as sent;
//! - 1 and 2: the rest is `header JSON` 0xFF `claims JSON`, base64url-encoded and signed
//!   (HMAC-SHA256) with the configured secret (1) or with the key self-issued tokens use (2),
//!   so that the claim checks behind the signature are reached;
//! - 3: a token issued by `JwtVerifier::issue` for a name and email from the rest (within the
//!   sign-up bounds);
//! - 0xF0 and above: a player token minted by [`foil_server::auth::player_token::PlayerTokens::mint`] for a
//!   `user_session_id` and persona ids from the rest.
//!
//! Every input's text is also presented as a player token (as is, and behind `pt_`).
//!
//! The rest, as text, is also checked as an API key. Invariants:
//! - an accepted token has the header `alg` HS256 and claims `role: "authenticated"` and a
//!   36-character `sub` equal to the user's id; the user's email is not blank and the display
//!   name is trimmed, free of control characters and at most 100 characters;
//! - a token signed with the key its `kid` does not select (the secret for `foil-self-v1`, the
//!   derived key otherwise), or with its signature changed, is refused;
//! - an issued token verifies, for the id it was issued for;
//! - a player token verifies only if it starts with `pt_` and its JWT carries `iss`
//!   `foil-server` and `aud` `foil-player`; a minted one verifies to its grant, and with its
//!   signature changed it does not; no player token is accepted as a user token, and no user
//!   token (or token signed with the secret or the self-issuing key) as a player token;
//! - a well-formed API key is `pk_live_` + 32 lowercase hex digits; its hash is 64 lowercase
//!   hex digits that `matches` accepts, the peppered hash differs from the plain one.

#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use foil_server::auth::api_key::{self, KeyHasher};
use foil_server::auth::jwt::{AuthenticatedUser, JwtConfig, JwtVerifier, SELF_KID};
use foil_server::auth::player_token::{PlayerGrant, PlayerTokens, TOKEN_PREFIX};
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use uuid::Uuid;

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes!!";
/// The label foil-server derives its self-issuing key under (auth/jwt.rs, `SELF_KEY_LABEL`).
const SELF_KEY_LABEL: &[u8] = b"foil-server self-issued access tokens v1";

struct Fixture {
    runtime: tokio::runtime::Runtime,
    verifier: JwtVerifier,
    plain: KeyHasher,
    peppered: KeyHasher,
    players: PlayerTokens,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime");
        let config = JwtConfig {
            secret: Some(SECRET.into()),
            ..JwtConfig::default()
        };
        let verifier = JwtVerifier::new(config, reqwest::Client::new()).expect("a valid config");
        Fixture {
            runtime,
            verifier,
            plain: KeyHasher::new(None),
            peppered: KeyHasher::new(Some("fuzz-pepper")),
            players: PlayerTokens::new(SECRET),
        }
    })
}

fn verify(token: &str) -> Option<AuthenticatedUser> {
    let f = fixture();
    f.runtime.block_on(f.verifier.verify(token)).ok()
}

fn sign(key: &[u8], signing_input: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(signing_input.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A token part's JSON. Invalid UTF-8 is replaced first: serde_json (and so jsonwebtoken)
/// does not check the bytes of values it skips, so an accepted token may hold some there.
fn decode_part(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_str(&String::from_utf8_lossy(&bytes)).ok()
}

/// What an accepted token must look like.
fn check_accepted(token: &str, user: &AuthenticatedUser) {
    let mut parts = token.split('.');
    let header = parts
        .next()
        .and_then(decode_part)
        .expect("an accepted header");
    let claims = parts.next().and_then(decode_part).expect("accepted claims");
    assert_eq!(
        header["alg"], "HS256",
        "accepted a token with header {header}"
    );
    assert_eq!(claims["role"], "authenticated", "accepted claims {claims}");
    let sub = claims["sub"].as_str().expect("a string sub");
    assert_eq!(sub.len(), 36, "accepted sub {sub:?}");
    assert_eq!(Uuid::parse_str(sub).ok(), Some(user.id));
    if let Some(email) = &user.email {
        assert!(!email.trim().is_empty(), "a blank email {email:?}");
    }
    if let Some(name) = &user.display_name {
        assert!(
            !name.is_empty() && name.trim() == name,
            "untrimmed name {name:?}"
        );
        assert!(name.chars().count() <= 100, "a long name {name:?}");
        assert!(
            !name.chars().any(char::is_control),
            "control characters in {name:?}"
        );
    }
}

/// Verifies `token`, checks what it accepted; whether it was accepted.
fn check_token(token: &str) -> bool {
    let Some(user) = verify(token) else {
        return false;
    };
    check_accepted(token, &user);
    // The same token with its signature's first character changed is refused. (Not the last
    // character: its low bits are padding that base64 decoders may ignore.)
    if let Some((signed, signature)) = token.rsplit_once('.') {
        let mut signature = signature.to_string();
        if let Some(first) = signature.chars().next() {
            let other = if first == 'A' { 'B' } else { 'A' };
            signature.replace_range(..first.len_utf8(), &other.to_string());
            let tampered = format!("{signed}.{signature}");
            assert!(verify(&tampered).is_none(), "a tampered signature verified");
        }
    }
    true
}

/// Presents `credential` as a player token; checks what it accepted.
fn check_player_token(credential: &str) {
    let Ok(grant) = fixture().players.verify(credential) else {
        return;
    };
    let jwt = credential
        .strip_prefix(TOKEN_PREFIX)
        .expect("accepted without the prefix");
    let claims = jwt
        .split('.')
        .nth(1)
        .and_then(decode_part)
        .expect("accepted claims");
    assert_eq!(claims["iss"], "foil-server", "accepted claims {claims}");
    assert_eq!(claims["aud"], "foil-player", "accepted claims {claims}");
    assert_eq!(claims["sub"].as_str(), Some(grant.user_session_id.as_str()));
    assert!(verify(jwt).is_none(), "a player token passed as a user token");
}

/// A minted token verifies to its grant, not as a user token, and not once altered.
fn check_minted(rest: &[u8], text: &str) {
    let players = &fixture().players;
    let id = |at: usize| {
        let mut bytes = [0u8; 16];
        for (slot, byte) in bytes.iter_mut().zip(rest.iter().skip(at)) {
            *slot = *byte;
        }
        Uuid::from_bytes(bytes)
    };
    let grant = PlayerGrant {
        account: id(0),
        mint_key: id(16),
        user_session_id: text.chars().take(128).collect(),
        persona_ids: (rest.len() % 2 == 1).then(|| vec![id(32)]),
        expires_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64
            + 600,
    };
    let token = players.mint(&grant);
    assert_eq!(players.verify(&token).as_ref(), Ok(&grant));
    check_player_token(&token);
    let jwt = token.strip_prefix(TOKEN_PREFIX).expect("minted with the prefix");
    assert!(verify(jwt).is_none(), "a player token passed as a user token");
    assert!(players.verify(jwt).is_err(), "accepted without the prefix");
    let (signed, signature) = token.rsplit_once('.').expect("a JWT");
    let first = signature.chars().next().expect("a signature");
    let other = if first == 'A' { 'B' } else { 'A' };
    let tampered = format!("{signed}.{other}{}", &signature[1..]);
    assert!(players.verify(&tampered).is_err(), "a tampered player token verified");
}

fn check_api_key(key: &str) {
    let f = fixture();
    if api_key::is_well_formed(key) {
        let rest = key.strip_prefix(api_key::KEY_PREFIX).expect("the prefix");
        assert_eq!(rest.len(), 32, "{key:?}");
        assert!(
            rest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
            "{key:?}"
        );
        // Shown in key listings; only ever called on well-formed keys.
        assert_eq!(api_key::hint(key), key[key.len() - 4..]);
    }
    let hash = f.plain.hash(key);
    assert_eq!(hash.len(), 64);
    assert!(hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    assert!(f.plain.matches(key, &hash));
    let peppered = f.peppered.hash(key);
    assert_ne!(peppered, hash);
    assert!(f.peppered.matches(key, &peppered));
    assert!(!f.peppered.matches(key, &hash));
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match if mode >= 0xF0 { 4 } else { mode % 4 } {
        0 => {
            check_token(&text);
        }
        4 => check_minted(rest, &text),
        1 | 2 => {
            let split = rest.iter().position(|&b| b == 0xFF).unwrap_or(rest.len());
            let header = &rest[..split];
            let claims = rest.get(split + 1..).unwrap_or_default();
            let signing_input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(claims)
            );
            let secret = SECRET.as_bytes().to_vec();
            let derived = foil_server::auth::derive_key(SECRET.as_bytes(), SELF_KEY_LABEL).to_vec();
            // Self-issued tokens (kid foil-self-v1) verify only with the derived key, every
            // other token only with the secret.
            let self_issued = serde_json::from_str::<Value>(&String::from_utf8_lossy(header))
                .ok()
                .is_some_and(|h| h.get("kid").and_then(Value::as_str) == Some(SELF_KID));
            let (right, wrong) = if self_issued {
                (&derived, &secret)
            } else {
                (&secret, &derived)
            };
            let key = if mode % 4 == 1 { &secret } else { &derived };
            let token = format!("{signing_input}.{}", sign(key, &signing_input));
            // Signed with neither of the player-token key's sources: never a player token.
            assert!(
                fixture()
                    .players
                    .verify(&format!("{TOKEN_PREFIX}{token}"))
                    .is_err(),
                "a token signed with the secret or the self-issuing key passed as a player token"
            );
            if check_token(&token) {
                assert_eq!(
                    key, right,
                    "a token verified with the wrong key (self-issued: {self_issued})"
                );
            }
            if key == right {
                let forged = format!("{signing_input}.{}", sign(wrong, &signing_input));
                assert!(
                    verify(&forged).is_none(),
                    "a token signed with the wrong key verified (self-issued: {self_issued})"
                );
            }
        }
        _ => {
            let (name, email) = match text.split_once('\n') {
                Some((name, email)) => (name, email),
                None => (text.as_ref(), "player@example.com"),
            };
            // Within the sign-up bounds (routes/auth.rs: 100-character names, 254-character
            // emails); far longer ones would make tokens over MAX_TOKEN_BYTES.
            let name: String = name.chars().take(100).collect();
            let email: String = email.chars().take(254).collect();
            let (name, email) = (name.as_str(), email.as_str());
            let id = Uuid::from_u128(u128::from_le_bytes({
                let mut bytes = [0u8; 16];
                for (slot, byte) in bytes.iter_mut().zip(rest.iter()) {
                    *slot = *byte;
                }
                bytes
            }));
            let issued = fixture()
                .verifier
                .issue(id, email, Some(name))
                .expect("issuing with a configured secret");
            let user = verify(&issued.access_token).expect("an issued token verifies");
            assert_eq!(user.id, id);
            check_accepted(&issued.access_token, &user);
        }
    }
    check_player_token(&text);
    check_player_token(&format!("{TOKEN_PREFIX}{text}"));
    check_api_key(&text);
});
