//! Helpers for tests that run the real `foil-server` binary as a process (kill -9, several
//! instances, the browser tests): a free port, waiting for readiness, the demo's credentials.

use std::process::Child;
use std::time::{Duration, Instant};

/// A port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Polls `url` until it answers 2xx; panics after 60 s.
pub(crate) async fn wait_ready(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(res) = http.get(url).send().await {
            if res.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not become ready");
}

/// The demo's API key and first persona id, read from the stdout of `serve --demo`.
pub(crate) fn demo_credentials(child: &mut Child) -> (String, String) {
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().expect("stdout piped");
    let (mut key, mut persona) = (None, None);
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["API", "key:", k, ..] => key = Some(k.to_string()),
            [id, name, ..] if persona.is_none() && id.len() == 36 && !name.is_empty() => {
                persona = Some(id.to_string())
            }
            _ => {}
        }
        if line.contains("try: curl") {
            break;
        }
    }
    (
        key.expect("API key printed"),
        persona.expect("persona printed"),
    )
}
