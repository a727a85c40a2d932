//! Client settings for the test servers, for tests that build clients themselves (the engine's
//! and the Godot binding's); kept apart from `mod.rs`, which crates without `foil-client` share.

use std::time::Duration;

use foil_client::ClientConfig;

use crate::support::{SilentServer, TestServer};

/// Client settings for tests: no retries, short timeouts.
pub(crate) trait TestConfig {
    fn config(&self) -> ClientConfig;
}

impl TestConfig for TestServer {
    fn config(&self) -> ClientConfig {
        ClientConfig {
            max_retries: 0,
            timeout: Duration::from_secs(20),
            ..ClientConfig::new(&self.api_key).with_base_url(&self.base_url)
        }
    }
}

impl TestConfig for SilentServer {
    fn config(&self) -> ClientConfig {
        ClientConfig {
            max_retries: 0,
            timeout: Duration::from_secs(30),
            stream_timeout: Duration::from_secs(30),
            ..ClientConfig::new("pk_live_00000000000000000000000000000000")
                .with_base_url(&self.base_url)
        }
    }
}
