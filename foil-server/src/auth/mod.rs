//! Who is calling: JWTs (Supabase-compatible and self-issued), passwords and API keys, and the
//! extractors that turn request headers into an authenticated caller.
pub mod api_key;
pub(crate) mod caches;
pub(crate) mod extract;
pub mod jwt;
pub(crate) mod password;
pub mod player_token;

use hmac::{Hmac, Mac};

/// A 32-byte key derived from `secret` for one purpose (HMAC-SHA256 of `label`): the
/// self-issuing JWT key and the demo API key come from the JWT secret without being it.
pub fn derive_key(secret: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}
