//! quality.md R8: JWT verification against every negative case, with HS256 and with a real
//! JWKS (ES256 and RS256) served on loopback.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine;
use foil_server::auth::jwt::{JwtConfig, JwtError, JwtVerifier};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use uuid::Uuid;

const SECRET: &str = "hs256-test-secret-0123456789abcdef0123456789";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture")
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
        "email": "player@example.com",
    })
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

fn verifier(config: JwtConfig) -> JwtVerifier {
    JwtVerifier::new(config, reqwest::Client::new()).unwrap()
}

fn hs_verifier() -> JwtVerifier {
    verifier(JwtConfig {
        secret: Some(SECRET.into()),
        ..JwtConfig::default()
    })
}

/// Serves the fixture JWKS on loopback and counts fetches.
async fn jwks_server() -> (String, Arc<AtomicUsize>) {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = fetches.clone();
    let jwks: Value = serde_json::from_slice(&fixture("jwks.json")).unwrap();
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let jwks = jwks.clone();
            async move { axum::Json(jwks) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, fetches)
}

fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(&fixture("ec_private.pem")).unwrap()
}

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap()
}

#[tokio::test]
async fn hs256_token_is_accepted_and_names_the_user() {
    let mut c = claims();
    c["user_metadata"] = json!({"full_name": "Ada Lovelace"});
    c["is_anonymous"] = json!(true);
    let user = hs_verifier().verify(&hs256(&c)).await.unwrap();
    assert_eq!(user.id.to_string(), c["sub"]);
    assert_eq!(user.display_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(user.email.as_deref(), Some("player@example.com"));
    assert!(user.is_anonymous);

    // Without a name, the email's local part.
    let user = hs_verifier().verify(&hs256(&claims())).await.unwrap();
    assert_eq!(user.display_name.as_deref(), Some("player"));
    assert!(!user.is_anonymous);
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    for alg in ["none", "None", "NONE"] {
        let token = format!(
            "{}.{}.",
            b64(&json!({"alg": alg, "typ": "JWT"})),
            b64(&claims())
        );
        assert!(hs_verifier().verify(&token).await.is_err(), "{alg}");
    }
}

#[tokio::test]
async fn alg_confusion_is_rejected() {
    // An HS256 token "signed" with the RSA public key, hoping it is used as an HMAC secret.
    let public_pem = fixture("rsa_public.pem");
    let forged = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(&public_pem),
        Some("rsa-key-1"),
        &claims(),
    );
    let (url, _) = jwks_server().await;
    let jwks_only = verifier(JwtConfig {
        jwks_url: Some(url.clone()),
        ..JwtConfig::default()
    });
    assert!(matches!(
        jwks_only.verify(&forged).await,
        Err(JwtError::AlgorithmNotAccepted(_))
    ));
    let both = verifier(JwtConfig {
        secret: Some(SECRET.into()),
        jwks_url: Some(url),
        ..JwtConfig::default()
    });
    assert!(both.verify(&forged).await.is_err(), "wrong HMAC secret");

    // An ES256/RS256 token when no JWKS is configured.
    let es = sign(Algorithm::ES256, &ec_key(), Some("ec-key-1"), &claims());
    assert!(matches!(
        hs_verifier().verify(&es).await,
        Err(JwtError::AlgorithmNotAccepted(_))
    ));
}

#[tokio::test]
async fn jwks_es256_and_rs256_tokens_are_accepted_by_kid() {
    let (url, fetches) = jwks_server().await;
    let v = verifier(JwtConfig {
        jwks_url: Some(url),
        ..JwtConfig::default()
    });
    let es = sign(Algorithm::ES256, &ec_key(), Some("ec-key-1"), &claims());
    let rs = sign(Algorithm::RS256, &rsa_key(), Some("rsa-key-1"), &claims());
    v.verify(&es).await.unwrap();
    v.verify(&rs).await.unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "keys are cached");

    // The key type decides the algorithm: an RS256 token naming the EC key fails.
    let mismatched = sign(Algorithm::RS256, &rsa_key(), Some("ec-key-1"), &claims());
    assert!(v.verify(&mismatched).await.is_err());
    // No kid at all.
    let no_kid = sign(Algorithm::ES256, &ec_key(), None, &claims());
    assert!(matches!(v.verify(&no_kid).await, Err(JwtError::UnknownKey)));
}

#[tokio::test]
async fn unknown_kids_refetch_at_most_once_a_minute() {
    let (url, fetches) = jwks_server().await;
    let v = verifier(JwtConfig {
        jwks_url: Some(url),
        ..JwtConfig::default()
    });
    for i in 0..5 {
        let token = sign(
            Algorithm::ES256,
            &ec_key(),
            Some(&format!("unknown-{i}")),
            &claims(),
        );
        assert!(matches!(v.verify(&token).await, Err(JwtError::UnknownKey)));
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "one fetch for five unknown kids"
    );
}

#[tokio::test]
async fn unreachable_jwks_rejects_without_panicking() {
    let v = verifier(JwtConfig {
        jwks_url: Some("http://127.0.0.1:1/jwks.json".into()),
        ..JwtConfig::default()
    });
    let token = sign(Algorithm::ES256, &ec_key(), Some("ec-key-1"), &claims());
    assert!(matches!(v.verify(&token).await, Err(JwtError::Jwks(_))));
}

#[tokio::test]
async fn time_claims_are_enforced_with_bounded_leeway() {
    let v = hs_verifier();
    let mut expired = claims();
    expired["exp"] = json!(now() - 120);
    assert!(
        v.verify(&hs256(&expired)).await.is_err(),
        "expired beyond leeway"
    );
    let mut within = claims();
    within["exp"] = json!(now() - 30);
    assert!(
        v.verify(&hs256(&within)).await.is_ok(),
        "within the 60 s leeway"
    );
    let mut future_nbf = claims();
    future_nbf["nbf"] = json!(now() + 300);
    assert!(
        v.verify(&hs256(&future_nbf)).await.is_err(),
        "not yet valid"
    );
    let mut no_exp = claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert!(v.verify(&hs256(&no_exp)).await.is_err(), "exp is required");
    // A configured leeway above 60 s is capped.
    let lax = verifier(JwtConfig {
        secret: Some(SECRET.into()),
        leeway_secs: 3600,
        ..JwtConfig::default()
    });
    assert!(lax.verify(&hs256(&expired)).await.is_err());
}

#[tokio::test]
async fn audience_issuer_subject_and_role_are_checked() {
    let v = hs_verifier();
    let mut wrong_aud = claims();
    wrong_aud["aud"] = json!("anon");
    assert!(v.verify(&hs256(&wrong_aud)).await.is_err());
    let mut aud_list = claims();
    aud_list["aud"] = json!(["other", "authenticated"]);
    assert!(v.verify(&hs256(&aud_list)).await.is_ok());

    let with_iss = verifier(JwtConfig {
        secret: Some(SECRET.into()),
        issuer: Some("https://project.supabase.co/auth/v1".into()),
        ..JwtConfig::default()
    });
    let mut wrong_iss = claims();
    wrong_iss["iss"] = json!("https://evil.example/auth/v1");
    assert!(with_iss.verify(&hs256(&wrong_iss)).await.is_err());
    assert!(
        with_iss.verify(&hs256(&claims())).await.is_err(),
        "iss missing"
    );
    let mut right_iss = claims();
    right_iss["iss"] = json!("https://project.supabase.co/auth/v1");
    assert!(with_iss.verify(&hs256(&right_iss)).await.is_ok());

    let mut bad_sub = claims();
    bad_sub["sub"] = json!("not-a-uuid");
    assert!(matches!(
        v.verify(&hs256(&bad_sub)).await,
        Err(JwtError::BadSubject)
    ));
    let mut anon_role = claims();
    anon_role["role"] = json!("anon");
    assert!(matches!(
        v.verify(&hs256(&anon_role)).await,
        Err(JwtError::BadRole)
    ));
    let mut service_role = claims();
    service_role["role"] = json!("service_role");
    assert!(v.verify(&hs256(&service_role)).await.is_err());
}

#[tokio::test]
async fn bad_signatures_garbage_and_oversized_tokens_are_rejected() {
    let v = hs_verifier();
    let other_secret = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"some other secret entirely"),
        None,
        &claims(),
    );
    assert!(v.verify(&other_secret).await.is_err());

    // Payload swapped under a valid signature.
    let good = hs256(&claims());
    let mut parts: Vec<String> = good.split('.').map(String::from).collect();
    let mut evil = claims();
    evil["sub"] = json!(Uuid::new_v4().to_string());
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(evil.to_string());
    assert!(v.verify(&parts.join(".")).await.is_err());

    for garbage in ["", "a.b", "a.b.c", "....", "not a token at all"] {
        assert!(v.verify(garbage).await.is_err(), "{garbage:?}");
    }
    let mut big = claims();
    big["padding"] = json!("x".repeat(9000));
    assert!(matches!(
        v.verify(&hs256(&big)).await,
        Err(JwtError::TooLarge)
    ));
}

#[tokio::test]
async fn issued_tokens_verify_and_secrets_stay_out_of_debug() {
    let v = hs_verifier();
    let id = Uuid::new_v4();
    let issued = v.issue(id, "me@example.com", Some("Me")).unwrap();
    assert_eq!(issued.expires_in, 3600);
    let user = v.verify(&issued.access_token).await.unwrap();
    assert_eq!((user.id, user.display_name.as_deref()), (id, Some("Me")));

    let jwks_only = verifier(JwtConfig::default());
    assert!(matches!(
        jwks_only.issue(id, "me@example.com", None),
        Err(JwtError::NoSecret)
    ));

    let debug = format!(
        "{:?}",
        JwtConfig {
            secret: Some(SECRET.into()),
            ..JwtConfig::default()
        }
    );
    assert!(!debug.contains(SECRET), "{debug}");
}
