//! Who is calling: JWTs (Supabase-compatible and self-issued), passwords and API keys, and the
//! extractors that turn request headers into an authenticated caller.
pub mod api_key;
pub mod extract;
pub mod jwt;
pub mod password;
