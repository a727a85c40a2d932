//! The HTTP client.

use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use eventsource_stream::{EventStreamError, Eventsource};
use foil_types::wire::{
    ChatHistory, ChatResponse, InitSessionRequest, MachineInfo, Persona, ResetResult,
    SendMessageRequest, SessionInit, SessionStatus, StreamError, StreamMetadata, TextDelta,
    ValidateLlmKeyRequest, ValidateLlmKeyResult,
};
use futures_util::{Stream, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Url};
use serde::de::DeserializeOwned;

use crate::config::{api_key_header, ClientConfig};
use crate::error::ClientError;
use crate::validate;

/// Statuses worth retrying (api.md §1: rate limited, server error, upstream failures,
/// database unavailable).
const RETRY_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

/// A `Retry-After` longer than this is not waited for: the error is returned at once (with
/// its `retry_after`), so a game never sits on a request for minutes without knowing.
pub const MAX_RETRY_AFTER_SECS: u64 = 60;

/// One item of a streamed reply (api.md §5), in the order the server sends them.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The turn's result without the text, before any text.
    Metadata(StreamMetadata),
    /// A piece of the NPC's reply, yielded as soon as it arrives.
    TextDelta(String),
    /// The full response; the last item of a successful stream.
    Done(ChatResponse),
    /// The server reported a failure after the stream began (`event: error`); the last item.
    /// The turn was not stored, so the message can be sent again.
    Error(String),
}

/// An async client of the Foil Engine Game SDK routes (`/api/v1/sdk/...`).
///
/// Cheap to clone (clones share the connection pool and the persona cache) and usable from
/// any number of tasks at once. Every method checks its arguments first (see
/// [`validate`](crate::validate)) and fails with [`ClientError::InvalidArgument`] without
/// sending anything. Ordinary requests are retried on 429/500/502/503/504 and transport
/// errors, up to [`ClientConfig::max_retries`] times, waiting `Retry-After` when the server
/// gives one (at most [`MAX_RETRY_AFTER_SECS`]) and a jittered exponential backoff
/// (`2^attempt × 0.5 × (0.5 + rand × 0.5)` s) otherwise. Streams are never retried.
///
/// Dropping a returned future (or stream) cancels the request.
///
/// The credential (`X-API-Key`: an API key or a player token) can be replaced at any time
/// with [`Client::set_api_key`]; each request (and each retry) sends the one current when it
/// starts.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// As given to [`Client::new`]; its `api_key` is outdated after a `set_api_key`.
    config: ClientConfig,
    base: Url,
    http: reqwest::Client,
    /// The current credential.
    api_key: RwLock<Credential>,
    personas: Mutex<Option<(Instant, Vec<Persona>)>>,
}

/// The credential sent as `X-API-Key`: its text (trimmed) and its header value (marked
/// sensitive). Its `Debug` shows neither.
struct Credential {
    text: String,
    header: HeaderValue,
}

impl Credential {
    fn new(api_key: &str) -> Result<Credential, ClientError> {
        Ok(Credential {
            text: api_key.trim().to_string(),
            header: api_key_header(api_key)?,
        })
    }
}

// Keys and tokens never reach logs.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

type SseStream = Pin<
    Box<
        dyn Stream<Item = Result<eventsource_stream::Event, EventStreamError<reqwest::Error>>>
            + Send,
    >,
>;

/// State of a streamed reply.
enum StreamState {
    /// Not sent yet: the request, or why it was refused.
    Start(Box<Result<RequestBuilder, ClientError>>, Duration),
    Streaming(SseStream),
    Finished,
}

impl Client {
    /// Validates `config` (an API key is present, `base_url` is an `http(s)` URL, header
    /// values are legal) and builds the client. No request is made.
    pub fn new(config: ClientConfig) -> Result<Client, ClientError> {
        let base = config.validated_base_url()?;
        let base = Url::parse(&base).expect("validated above");
        let api_key = Credential::new(&config.api_key)?;
        let http = reqwest::Client::builder()
            .default_headers(config.default_headers()?)
            .user_agent(concat!("foil-client/", env!("CARGO_PKG_VERSION")))
            .tcp_nodelay(true)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| ClientError::Transport(describe(&e)))?;
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                base,
                http,
                api_key: RwLock::new(api_key),
                personas: Mutex::new(None),
            }),
        })
    }

    /// The configuration the client was built with, with the API key currently in use (the
    /// last one given to [`Client::set_api_key`], trimmed).
    pub fn config(&self) -> ClientConfig {
        ClientConfig {
            api_key: read(&self.inner.api_key).text.clone(),
            ..self.inner.config.clone()
        }
    }

    /// Replaces the credential sent as `X-API-Key` (an API key, or a fresh player token from
    /// the game's backend) for every request started from now on, by this client and its
    /// clones; requests already sent keep the old one. Checked like the key given to
    /// [`Client::new`]: blank, or characters not allowed in a header, fail with
    /// [`ClientError::InvalidArgument`] and change nothing. A different key empties the
    /// persona cache (another key or token may reach other personas).
    pub fn set_api_key(&self, api_key: &str) -> Result<(), ClientError> {
        let credential = Credential::new(api_key)?;
        let changed = {
            let mut current = write(&self.inner.api_key);
            let changed = current.text != credential.text;
            *current = credential;
            changed
        };
        if changed {
            self.invalidate_persona_cache();
        }
        Ok(())
    }

    /// `GET /api/v1/sdk/personas`: the published personas the API key reaches. Answered from
    /// a cache for [`ClientConfig::persona_cache_ttl`] after a successful fetch.
    pub async fn list_personas(&self) -> Result<Vec<Persona>, ClientError> {
        let ttl = self.inner.config.persona_cache_ttl;
        if !ttl.is_zero() {
            let cache = lock(&self.inner.personas);
            if let Some((at, personas)) = cache.as_ref() {
                if at.elapsed() < ttl {
                    return Ok(personas.clone());
                }
            }
        }
        let url = self.url(&["personas"]);
        let personas: Vec<Persona> = self.json(|| self.request(Method::GET, url.clone())).await?;
        if !ttl.is_zero() {
            *lock(&self.inner.personas) = Some((Instant::now(), personas.clone()));
        }
        Ok(personas)
    }

    /// Empties the persona cache, so the next [`Client::list_personas`] asks the server.
    pub fn invalidate_persona_cache(&self) {
        *lock(&self.inner.personas) = None;
    }

    /// `GET /api/v1/sdk/chat/{persona_id}/machines`: the machines (scenarios) this player
    /// can play now.
    pub async fn list_machines(
        &self,
        persona_id: &str,
        user_session_id: &str,
    ) -> Result<Vec<MachineInfo>, ClientError> {
        validate::list_machines(persona_id, user_session_id)?;
        let url = self.chat_url(persona_id, &["machines"]);
        self.json(|| {
            self.request(Method::GET, url.clone())
                .query(&[("user_session_id", user_session_id)])
        })
        .await
    }

    /// `POST /api/v1/sdk/chat/{persona_id}/init-session`: starts (or starts over) a session
    /// and returns the NPC's greeting. `player_gender` is `female`, `male` or `non-binary`.
    /// Without `machine_id` the persona's primary machine is used.
    pub async fn init_session(
        &self,
        persona_id: &str,
        user_session_id: &str,
        player_name: &str,
        player_gender: &str,
        machine_id: Option<&str>,
    ) -> Result<SessionInit, ClientError> {
        validate::init_session(
            persona_id,
            user_session_id,
            player_name,
            player_gender,
            machine_id,
        )?;
        let machine_id = validate::optional_id("machine_id", machine_id)?;
        let url = self.chat_url(persona_id, &["init-session"]);
        let body = InitSessionRequest {
            user_session_id: user_session_id.to_string(),
            player_name: player_name.to_string(),
            player_gender: player_gender.to_string(),
        };
        self.json(|| with_machine(self.request(Method::POST, url.clone()), machine_id).json(&body))
            .await
    }

    /// `POST /api/v1/sdk/chat/{persona_id}/message`: one turn; returns the NPC's reply and
    /// the state machine's verdict. Without `machine_id` the player's most recently active
    /// session of the persona is used.
    pub async fn send_message(
        &self,
        persona_id: &str,
        user_session_id: &str,
        message: &str,
        machine_id: Option<&str>,
    ) -> Result<ChatResponse, ClientError> {
        validate::send_message(persona_id, user_session_id, message, machine_id)?;
        let machine_id = validate::optional_id("machine_id", machine_id)?;
        let url = self.chat_url(persona_id, &["message"]);
        let body = SendMessageRequest {
            message: message.to_string(),
            user_session_id: user_session_id.to_string(),
        };
        self.json(|| with_machine(self.request(Method::POST, url.clone()), machine_id).json(&body))
            .await
    }

    /// `POST /api/v1/sdk/chat/{persona_id}/message/stream`: one turn with the reply streamed.
    ///
    /// Yields [`StreamEvent::Metadata`], then [`StreamEvent::TextDelta`]s as they arrive,
    /// then [`StreamEvent::Done`] (or [`StreamEvent::Error`] if the server failed mid-way),
    /// and ends. A failure before the stream began (bad arguments, an HTTP error, a broken
    /// connection) is a single `Err` item; a connection that breaks mid-way ends the stream
    /// with an `Err`. Nothing is sent until the stream is first polled; it is never retried,
    /// and the whole stream is bounded by [`ClientConfig::stream_timeout`]. Dropping the
    /// stream closes the connection, which makes the server cancel and roll back the turn.
    pub fn send_message_stream(
        &self,
        persona_id: &str,
        user_session_id: &str,
        message: &str,
        machine_id: Option<&str>,
    ) -> impl Stream<Item = Result<StreamEvent, ClientError>> + Send + 'static {
        let checked = validate::send_message(persona_id, user_session_id, message, machine_id)
            .and_then(|()| validate::optional_id("machine_id", machine_id));
        let request = checked.map_err(ClientError::from).map(|machine_id| {
            let url = self.chat_url(persona_id, &["message/stream"]);
            with_machine(self.request(Method::POST, url), machine_id)
                .header(ACCEPT, "text/event-stream")
                .json(&SendMessageRequest {
                    message: message.to_string(),
                    user_session_id: user_session_id.to_string(),
                })
        });
        let state = StreamState::Start(Box::new(request), self.inner.config.stream_timeout);
        futures_util::stream::unfold(state, next_stream_item)
    }

    /// `GET /api/v1/sdk/chat/{persona_id}/session`: the session's status (404 when there is
    /// none).
    pub async fn get_session(
        &self,
        persona_id: &str,
        user_session_id: &str,
        machine_id: Option<&str>,
    ) -> Result<SessionStatus, ClientError> {
        self.session_call(
            Method::GET,
            "session",
            persona_id,
            user_session_id,
            machine_id,
        )
        .await
    }

    /// `GET /api/v1/sdk/chat/{persona_id}/history`: the session with all its messages.
    pub async fn get_history(
        &self,
        persona_id: &str,
        user_session_id: &str,
        machine_id: Option<&str>,
    ) -> Result<ChatHistory, ClientError> {
        self.session_call(
            Method::GET,
            "history",
            persona_id,
            user_session_id,
            machine_id,
        )
        .await
    }

    /// `POST /api/v1/sdk/chat/{persona_id}/reset`: starts the session over in its initial
    /// state with an empty history (same `session_id`).
    pub async fn reset(
        &self,
        persona_id: &str,
        user_session_id: &str,
        machine_id: Option<&str>,
    ) -> Result<ResetResult, ClientError> {
        self.session_call(
            Method::POST,
            "reset",
            persona_id,
            user_session_id,
            machine_id,
        )
        .await
    }

    /// `POST /api/v1/sdk/validate-llm-key`: checks the configured `X-LLM-*` key against
    /// `model` (or the configured/server default model). Always `Ok` when the server
    /// answered; see [`ValidateLlmKeyResult::valid`].
    pub async fn validate_llm_key(
        &self,
        model: Option<&str>,
    ) -> Result<ValidateLlmKeyResult, ClientError> {
        validate::validate_llm_key(model)?;
        let body = ValidateLlmKeyRequest {
            model: validate::optional("model", model)?.map(str::to_string),
        };
        let url = self.url(&["validate-llm-key"]);
        self.json(|| self.request(Method::POST, url.clone()).json(&body))
            .await
    }

    async fn session_call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        persona_id: &str,
        user_session_id: &str,
        machine_id: Option<&str>,
    ) -> Result<T, ClientError> {
        validate::session(persona_id, user_session_id, machine_id)?;
        let machine_id = validate::optional_id("machine_id", machine_id)?;
        let url = self.chat_url(persona_id, &[path]);
        self.json(|| {
            let mut query = vec![("user_session_id", user_session_id)];
            if let Some(machine) = machine_id {
                query.push(("machine_id", machine));
            }
            self.request(method.clone(), url.clone()).query(&query)
        })
        .await
    }

    /// `{base}/api/v1/sdk/{segments...}`; `segments` may contain `/`.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        {
            let mut path = url.path_segments_mut().expect("http(s) URLs have a path");
            path.pop_if_empty().extend(["api", "v1", "sdk"]);
            for s in segments {
                path.extend(s.split('/'));
            }
        }
        url
    }

    /// `{base}/api/v1/sdk/chat/{persona_id}/{rest}` (persona_id was validated as a UUID).
    fn chat_url(&self, persona_id: &str, rest: &[&str]) -> Url {
        let mut url = self.url(&["chat"]);
        url.path_segments_mut()
            .expect("http(s) URLs have a path")
            .push(persona_id.trim());
        url.path_segments_mut()
            .expect("http(s) URLs have a path")
            .extend(rest.iter().flat_map(|s| s.split('/')));
        url
    }

    /// A request with the current credential.
    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let api_key = read(&self.inner.api_key).header.clone();
        self.inner
            .http
            .request(method, url)
            .header(X_API_KEY, api_key)
    }

    /// Sends with retries and decodes a JSON body.
    async fn json<T: DeserializeOwned>(
        &self,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<T, ClientError> {
        let config = &self.inner.config;
        let mut attempt: u32 = 0;
        loop {
            let retries_left = attempt < config.max_retries;
            let error = match attempt_once(build().timeout(config.timeout)).await {
                Ok(bytes) => {
                    return serde_json::from_slice(&bytes)
                        .map_err(|e| ClientError::Decode(e.to_string()))
                }
                Err(error) => error,
            };
            let wait = match &error {
                ClientError::Http {
                    status,
                    retry_after,
                    ..
                } if retries_left && RETRY_STATUSES.contains(status) => match retry_after {
                    Some(secs) if *secs > MAX_RETRY_AFTER_SECS => return Err(error),
                    Some(secs) => Duration::from_secs(*secs),
                    None => backoff(attempt),
                },
                ClientError::Transport(_) | ClientError::Timeout if retries_left => {
                    backoff(attempt)
                }
                _ => return Err(error),
            };
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// One attempt: the body of a 2xx answer, or the error.
async fn attempt_once(request: RequestBuilder) -> Result<bytes::Bytes, ClientError> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(transport)?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(http_error(status.as_u16(), &headers, &body))
    }
}

/// Produces the next item of a streamed reply.
async fn next_stream_item(
    state: StreamState,
) -> Option<(Result<StreamEvent, ClientError>, StreamState)> {
    let mut events = match state {
        StreamState::Finished => return None,
        StreamState::Start(request, timeout) => match *request {
            Err(error) => return Some((Err(error), StreamState::Finished)),
            Ok(request) => {
                let response = match request.timeout(timeout).send().await {
                    Ok(response) => response,
                    Err(e) => return Some((Err(transport(e)), StreamState::Finished)),
                };
                let status = response.status();
                if !status.is_success() {
                    let headers = response.headers().clone();
                    let error = match response.bytes().await {
                        Ok(body) => http_error(status.as_u16(), &headers, &body),
                        Err(e) => transport(e),
                    };
                    return Some((Err(error), StreamState::Finished));
                }
                let events: SseStream = Box::pin(response.bytes_stream().eventsource());
                events
            }
        },
        StreamState::Streaming(events) => events,
    };
    loop {
        let event = match events.next().await {
            None => {
                return Some((
                    Err(ClientError::Transport(
                        "the stream ended before the reply was complete".into(),
                    )),
                    StreamState::Finished,
                ))
            }
            Some(Err(EventStreamError::Transport(e))) => {
                return Some((Err(transport(e)), StreamState::Finished))
            }
            Some(Err(e)) => {
                return Some((
                    Err(ClientError::Decode(format!("malformed event stream: {e}"))),
                    StreamState::Finished,
                ))
            }
            Some(Ok(event)) => event,
        };
        let item = match event.event.as_str() {
            "metadata" => decode::<StreamMetadata>(&event.data).map(StreamEvent::Metadata),
            "text_delta" => {
                decode::<TextDelta>(&event.data).map(|d| StreamEvent::TextDelta(d.text))
            }
            "done" => {
                let item = decode::<ChatResponse>(&event.data).map(StreamEvent::Done);
                return Some((item, StreamState::Finished));
            }
            "error" => {
                let item = decode::<StreamError>(&event.data).map(|e| StreamEvent::Error(e.error));
                return Some((item, StreamState::Finished));
            }
            // Unknown event names (keep-alives, later additions) are skipped.
            _ => continue,
        };
        return match item {
            Ok(item) => Some((Ok(item), StreamState::Streaming(events))),
            Err(e) => Some((Err(e), StreamState::Finished)),
        };
    }
}

fn decode<T: DeserializeOwned>(data: &str) -> Result<T, ClientError> {
    serde_json::from_str(data).map_err(|e| ClientError::Decode(format!("{e}: {data:.200}")))
}

fn with_machine(request: RequestBuilder, machine_id: Option<&str>) -> RequestBuilder {
    match machine_id {
        Some(machine) => request.query(&[("machine_id", machine)]),
        None => request,
    }
}

/// The error of a non-2xx answer: api.md §1 bodies (`{"error": {"message", "code"}}`) and
/// 429 bodies (`{"error": "..."}`), with `Retry-After` in whole seconds.
fn http_error(status: u16, headers: &HeaderMap, body: &[u8]) -> ClientError {
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let (message, code) = match error {
        Some(serde_json::Value::String(message)) => (Some(message.clone()), None),
        Some(serde_json::Value::Object(detail)) => (
            detail
                .get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string),
            detail
                .get("code")
                .and_then(|c| c.as_str())
                .map(str::to_string),
        ),
        _ => (None, None),
    };
    let message = message.unwrap_or_else(|| {
        reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP status {status}"))
    });
    ClientError::Http {
        status,
        code,
        message,
        retry_after,
    }
}

fn transport(e: reqwest::Error) -> ClientError {
    if e.is_timeout() {
        ClientError::Timeout
    } else if e.is_decode() {
        ClientError::Decode(describe(&e))
    } else {
        ClientError::Transport(describe(&e))
    }
}

/// The error with its causes ("error sending request: connection refused").
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// `2^attempt × 0.5 × (0.5 + rand × 0.5)` seconds.
fn backoff(attempt: u32) -> Duration {
    let base = 0.5 * f64::from(1u32 << attempt.min(16));
    Duration::from_secs_f64(base * (0.5 + fastrand::f64() * 0.5))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The cache holds plain data; a panic elsewhere cannot leave it inconsistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

// The credential is replaced whole; a panic elsewhere cannot leave it half-written.
fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_jittered_exponential() {
        for attempt in 0..4 {
            let full = 0.5 * f64::from(1u32 << attempt);
            for _ in 0..50 {
                let d = backoff(attempt).as_secs_f64();
                assert!(d >= full * 0.5 - 1e-9 && d <= full + 1e-9, "{attempt}: {d}");
            }
        }
    }

    #[test]
    fn error_bodies() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "12".parse().unwrap());
        let e = http_error(
            429,
            &headers,
            br#"{"error": "Rate limit exceeded. Try again in 12 seconds."}"#,
        );
        assert_eq!(
            e,
            ClientError::Http {
                status: 429,
                code: None,
                message: "Rate limit exceeded. Try again in 12 seconds.".into(),
                retry_after: Some(12),
            }
        );
        let e = http_error(
            404,
            &HeaderMap::new(),
            br#"{"error": {"message": "No active session found", "code": "session_not_found"}}"#,
        );
        assert_eq!(e.code(), "session_not_found");
        assert_eq!(e.message(), "No active session found");
        let e = http_error(502, &HeaderMap::new(), b"<html>bad gateway</html>");
        assert_eq!(e.message(), "Bad Gateway");
        assert_eq!(e.code(), "http_error");
    }

    #[test]
    fn the_credential_is_replaceable_and_never_shown() {
        let client = Client::new(ClientConfig::new(" pk_live_secret0000 ")).unwrap();
        assert_eq!(client.config().api_key, "pk_live_secret0000");
        let header = |c: &Client| {
            let request = c
                .request(Method::GET, c.url(&["personas"]))
                .build()
                .unwrap();
            let value = request.headers().get("x-api-key").unwrap().clone();
            assert!(value.is_sensitive());
            value.to_str().unwrap().to_string()
        };
        assert_eq!(header(&client), "pk_live_secret0000");
        let clone = client.clone();
        client.set_api_key("pt_token.secret1111.sig\n").unwrap();
        assert_eq!(header(&clone), "pt_token.secret1111.sig", "clones share it");
        assert_eq!(clone.config().api_key, "pt_token.secret1111.sig");
        // Refused keys change nothing.
        for bad in ["", "  ", "a\r\nb"] {
            let err = client.set_api_key(bad).unwrap_err();
            assert!(
                matches!(&err, ClientError::InvalidArgument(e) if e.argument == "api_key"),
                "{err:?}"
            );
        }
        assert_eq!(header(&client), "pt_token.secret1111.sig");
        let text = format!("{client:?}");
        for secret in ["secret0000", "secret1111"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("<redacted>"), "{text}");
    }

    #[test]
    fn a_new_key_empties_the_persona_cache() {
        let client = Client::new(ClientConfig::new("k1")).unwrap();
        let cached = || lock(&client.inner.personas).is_some();
        *lock(&client.inner.personas) = Some((Instant::now(), Vec::new()));
        client.set_api_key(" k1 ").unwrap();
        assert!(cached(), "the same key keeps the cache");
        client.set_api_key("k2").unwrap();
        assert!(!cached(), "another key empties it");
    }

    #[test]
    fn urls() {
        let client =
            Client::new(ClientConfig::new("k").with_base_url("http://h:1/prefix/")).unwrap();
        assert_eq!(
            client.url(&["personas"]).as_str(),
            "http://h:1/prefix/api/v1/sdk/personas"
        );
        let id = "6f1c1a8e-2f7b-4c1e-9a53-3d2a4a7f0b11";
        assert_eq!(
            client.chat_url(id, &["message/stream"]).as_str(),
            format!("http://h:1/prefix/api/v1/sdk/chat/{id}/message/stream")
        );
    }
}
