//! HTTP calls of the load generator: to the server (SDK and creator routes) and straight to the
//! mock. One `reqwest` client (HTTP/1.1, `TCP_NODELAY`, pooled) serves both, so "through the
//! server" and "direct to the mock" are measured by the same client code.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{json, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::server::PROVIDER_KEY;

/// An HTTP client for the benchmark. `timeout` bounds whole requests (`None` for held streams).
pub(crate) fn http(timeout: Option<Duration>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .http1_only()
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(10));
    if let Some(t) = timeout {
        builder = builder.timeout(t);
    }
    builder.build().expect("HTTP client")
}

/// A player's session on the benchmark persona.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub user_session_id: String,
    pub machine_id: String,
}

/// Everything a request needs to reach the server and the mock.
#[derive(Clone)]
pub(crate) struct Target {
    pub http: reqwest::Client,
    pub base: String,
    pub api_key: String,
    pub jwt: String,
    pub persona_id: String,
    pub mock_base: String,
}

fn error_of(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect error".into()
    } else if e.is_body() || e.is_decode() {
        "body error".into()
    } else {
        "transport error".into()
    }
}

fn status_error(status: reqwest::StatusCode) -> String {
    format!("HTTP {}", status.as_u16())
}

/// Reads a whole response, failing on a non-2xx status.
async fn finish(response: Result<reqwest::Response, reqwest::Error>) -> Result<Bytes, String> {
    let response = response.map_err(|e| error_of(&e))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| error_of(&e))?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(status_error(status))
    }
}

impl Target {
    pub(crate) fn with_http(&self, http: reqwest::Client) -> Target {
        Target {
            http,
            ..self.clone()
        }
    }

    fn sdk(&self, path: &str) -> String {
        format!("{}/api/v1/sdk{path}", self.base)
    }

    /// `init-session` for a new player; returns the session.
    pub(crate) async fn init_session(&self, user_session_id: String) -> Result<Session, String> {
        let body = json!({
            "user_session_id": user_session_id,
            "player_name": "Bench",
            "player_gender": "female",
        });
        let response = self
            .http
            .post(self.sdk(&format!("/chat/{}/init-session", self.persona_id)))
            .header("x-api-key", &self.api_key)
            .json(&body)
            .send()
            .await;
        let bytes = finish(response).await?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| "bad JSON".to_string())?;
        let machine_id = value["machine_id"]
            .as_str()
            .ok_or("no machine_id")?
            .to_string();
        Ok(Session {
            user_session_id,
            machine_id,
        })
    }

    fn message_request(
        &self,
        session: &Session,
        message: &str,
        stream: bool,
    ) -> reqwest::RequestBuilder {
        let path = if stream { "message/stream" } else { "message" };
        self.http
            .post(self.sdk(&format!(
                "/chat/{}/{path}?machine_id={}",
                self.persona_id, session.machine_id
            )))
            .header("x-api-key", &self.api_key)
            .json(&json!({"message": message, "user_session_id": session.user_session_id}))
    }

    /// One whole chat turn.
    pub(crate) async fn turn(&self, session: &Session, message: &str) -> Result<(), String> {
        finish(self.message_request(session, message, false).send().await)
            .await
            .map(drop)
    }

    /// One streamed chat turn: returns when the first `text_delta` arrived, and the rest of
    /// the stream (read to its `done` frame by awaiting the returned future).
    pub(crate) async fn stream_turn(
        &self,
        session: &Session,
        message: &str,
    ) -> Result<(Instant, SseRest), String> {
        let response = self
            .message_request(session, message, true)
            .send()
            .await
            .map_err(|e| error_of(&e))?;
        if !response.status().is_success() {
            return Err(status_error(response.status()));
        }
        let mut rest = SseRest {
            response,
            buffer: Vec::new(),
        };
        loop {
            if contains(&rest.buffer, b"event: text_delta\n") {
                return Ok((Instant::now(), rest));
            }
            if contains(&rest.buffer, b"event: error\n") {
                return Err("stream error event".into());
            }
            match rest.response.chunk().await.map_err(|e| error_of(&e))? {
                Some(chunk) => rest.buffer.extend_from_slice(&chunk),
                None => return Err("stream ended before any text".into()),
            }
        }
    }

    /// Through the server: one generation call (one LLM hop, JWT auth, no database write).
    pub(crate) async fn generate_persona(&self) -> Result<(), String> {
        let response = self
            .http
            .post(format!("{}/api/v1/creator/generate/persona", self.base))
            .bearer_auth(&self.jwt)
            .json(&json!({"brief": "A grumpy barista in a busy cafe who secretly loves poetry."}))
            .send()
            .await;
        finish(response).await.map(drop)
    }

    /// Through the server: `validate-llm-key` (one `GET models` hop, API-key auth).
    pub(crate) async fn validate_llm_key(&self) -> Result<(), String> {
        let response = self
            .http
            .post(self.sdk("/validate-llm-key"))
            .header("x-api-key", &self.api_key)
            .json(&json!({}))
            .send()
            .await;
        let bytes = finish(response).await?;
        if bytes.windows(12).any(|w| w == b"\"valid\":true") {
            Ok(())
        } else {
            Err("validate-llm-key said invalid".into())
        }
    }

    /// Through the server: `GET sdk/personas`.
    pub(crate) async fn list_personas(&self) -> Result<(), String> {
        let response = self
            .http
            .get(self.sdk("/personas"))
            .header("x-api-key", &self.api_key)
            .send()
            .await;
        finish(response).await.map(drop)
    }

    /// Direct: a chat completion with exactly this body, as the server would send it.
    pub(crate) async fn direct_completion(&self, body: Bytes) -> Result<(), String> {
        let response = self
            .http
            .post(format!("{}/chat/completions", self.mock_base))
            .header(AUTHORIZATION, bearer())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body)
            .send()
            .await;
        finish(response).await.map(drop)
    }

    /// Direct: `GET models`, as `validate-llm-key` does.
    pub(crate) async fn direct_models(&self) -> Result<(), String> {
        let response = self
            .http
            .get(format!("{}/models", self.mock_base))
            .header(AUTHORIZATION, bearer())
            .send()
            .await;
        finish(response).await.map(drop)
    }

    /// Direct: a streaming completion; returns when the first content delta arrived, then
    /// reads the stream to its end.
    pub(crate) async fn direct_stream(&self, body: Bytes) -> Result<Instant, String> {
        let mut response = self
            .http
            .post(format!("{}/chat/completions", self.mock_base))
            .header(AUTHORIZATION, bearer())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body)
            .send()
            .await
            .map_err(|e| error_of(&e))?;
        if !response.status().is_success() {
            return Err(status_error(response.status()));
        }
        let mut buffer = Vec::new();
        let mut first = None;
        while let Some(chunk) = response.chunk().await.map_err(|e| error_of(&e))? {
            buffer.extend_from_slice(&chunk);
            if first.is_none() && has_content_delta(&buffer) {
                first = Some(Instant::now());
            }
        }
        if !contains(&buffer, b"data: [DONE]") {
            return Err("direct stream incomplete".into());
        }
        first.ok_or_else(|| "direct stream had no content".into())
    }
}

fn bearer() -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {PROVIDER_KEY}")).expect("valid header")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// An OpenAI chunk with a non-empty `content` delta.
fn has_content_delta(buffer: &[u8]) -> bool {
    const MARK: &[u8] = b"\"delta\":{\"content\":\"";
    buffer
        .windows(MARK.len() + 1)
        .any(|w| &w[..MARK.len()] == MARK && w[MARK.len()] != b'"')
}

/// The unread rest of a server stream.
pub(crate) struct SseRest {
    response: reqwest::Response,
    buffer: Vec<u8>,
}

impl SseRest {
    /// Reads to the end; succeeds when the `done` frame came.
    pub(crate) async fn finish(mut self) -> Result<(), String> {
        while let Some(chunk) = self.response.chunk().await.map_err(|e| error_of(&e))? {
            self.buffer.extend_from_slice(&chunk);
        }
        if contains(&self.buffer, b"event: done\n") {
            Ok(())
        } else if contains(&self.buffer, b"event: error\n") {
            Err("stream error event".into())
        } else {
            Err("stream ended without done".into())
        }
    }
}

/// A pool of sessions: a turn takes a free one (waiting if none is free: that wait counts in
/// its latency), so no session ever has two turns at once (which would be `session_busy`).
pub(crate) struct Pool {
    permits: Arc<Semaphore>,
    free: Mutex<Vec<Session>>,
}

impl Pool {
    pub(crate) fn new(sessions: Vec<Session>) -> Arc<Pool> {
        Arc::new(Pool {
            permits: Arc::new(Semaphore::new(sessions.len())),
            free: Mutex::new(sessions),
        })
    }

    pub(crate) async fn take(self: &Arc<Self>) -> (Session, OwnedSemaphorePermit) {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("pool open");
        let session = self
            .free
            .lock()
            .unwrap()
            .pop()
            .expect("a permit means a session");
        (session, permit)
    }

    pub(crate) fn give(&self, session: Session, permit: OwnedSemaphorePermit) {
        self.free.lock().unwrap().push(session);
        drop(permit);
    }
}

/// Creates `count` sessions (tagged `tag`), `concurrency` at a time.
pub(crate) async fn create_sessions(
    target: &Target,
    tag: &str,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<Session>> {
    let results = crate::load::closed_loop(count, concurrency, |i| {
        let target = target.clone();
        let usid = format!("bench-{tag}-{i}");
        async move { target.init_session(usid).await }
    })
    .await;
    let mut sessions = Vec::with_capacity(count);
    let mut errors = std::collections::BTreeMap::<String, usize>::new();
    for r in results {
        match r {
            Ok(s) => sessions.push(s),
            Err(e) => *errors.entry(e).or_default() += 1,
        }
    }
    if !errors.is_empty() {
        anyhow::bail!("creating {count} sessions failed: {errors:?}");
    }
    Ok(sessions)
}

/// A JSON body with its `model` replaced (for a gateway that routes by model name).
pub(crate) fn with_model(body: &Value, model: &str) -> Bytes {
    let mut body = body.clone();
    body["model"] = Value::String(model.to_string());
    Bytes::from(serde_json::to_vec(&body).expect("JSON"))
}

/// A JSON body with `suffix` appended to the content of its last message.
pub(crate) fn with_suffix(body: &Value, suffix: &str) -> Bytes {
    let mut body = body.clone();
    if let Some(last) = body
        .get_mut("messages")
        .and_then(Value::as_array_mut)
        .and_then(|m| m.last_mut())
    {
        if let Some(Value::String(content)) = last.get_mut("content") {
            content.push_str(suffix);
        }
    }
    Bytes::from(serde_json::to_vec(&body).expect("JSON"))
}
