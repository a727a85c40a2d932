//! The HTTP side: accept loop with per-connection fault control, and the request handler.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::{Extension, Router};
use bytes::Bytes;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::record::{MockStats, Protocol, RecordedRequest};
use crate::reply::{Fault, FaultPoint, Reply};
use crate::wire;
use crate::{Responder, StepKey};

/// Largest request body the mock accepts.
const MAX_REQUEST_BODY: usize = 32 * 1024 * 1024;

/// Settings that tests may change while the mock runs.
pub(crate) struct Settings {
    pub latency: Duration,
    pub chunk_delay: Duration,
    pub default_reply: Reply,
    pub responder: Option<Responder>,
    pub step_key: StepKey,
    pub accepted_keys: Option<Vec<String>>,
    pub record_limit: usize,
}

#[derive(Default)]
struct Queues {
    any: VecDeque<Reply>,
    per_step: HashMap<String, VecDeque<Reply>>,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    in_flight: AtomicU64,
    open_streams: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
    cancelled_streams: AtomicU64,
    connections_open: AtomicU64,
    connections_total: AtomicU64,
}

/// State shared by the handle, the accept loop and every request.
pub(crate) struct Shared {
    pub settings: Mutex<Settings>,
    queues: Mutex<Queues>,
    requests: Mutex<VecDeque<RecordedRequest>>,
    counters: Counters,
    /// Woken on every counter change, so tests can wait without sleeping in a loop.
    pub changed: Notify,
}

/// Locks a mutex, ignoring poisoning: a panicking test thread must not break the mock.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(settings: Settings) -> Self {
        Shared {
            settings: Mutex::new(settings),
            queues: Mutex::default(),
            requests: Mutex::default(),
            counters: Counters::default(),
            changed: Notify::new(),
        }
    }

    pub(crate) fn push_reply(&self, step: Option<String>, reply: Reply) {
        let mut queues = lock(&self.queues);
        match step {
            Some(step) => queues.per_step.entry(step).or_default().push_back(reply),
            None => queues.any.push_back(reply),
        }
    }

    pub(crate) fn clear_replies(&self) {
        *lock(&self.queues) = Queues::default();
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).iter().cloned().collect()
    }

    pub(crate) fn last_request(&self) -> Option<RecordedRequest> {
        lock(&self.requests).back().cloned()
    }

    pub(crate) fn clear_requests(&self) {
        lock(&self.requests).clear();
    }

    pub(crate) fn stats(&self) -> MockStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        MockStats {
            requests: get(&c.requests),
            in_flight: get(&c.in_flight),
            open_streams: get(&c.open_streams),
            completed: get(&c.completed),
            cancelled: get(&c.cancelled),
            cancelled_streams: get(&c.cancelled_streams),
            connections_open: get(&c.connections_open),
            connections_total: get(&c.connections_total),
        }
    }

    fn bump(&self, counter: &AtomicU64, up: bool) {
        if up {
            counter.fetch_add(1, Ordering::SeqCst);
        } else {
            counter.fetch_sub(1, Ordering::SeqCst);
        }
        self.changed.notify_waiters();
    }

    /// Scripted reply for this request: its step's queue, then the shared queue, then the
    /// responder, then the default reply.
    fn next_reply(&self, req: &RecordedRequest) -> Reply {
        {
            let mut queues = lock(&self.queues);
            if let Some(step) = &req.step {
                if let Some(reply) = queues.per_step.get_mut(step).and_then(VecDeque::pop_front) {
                    return reply;
                }
            }
            if let Some(reply) = queues.any.pop_front() {
                return reply;
            }
        }
        let (responder, default) = {
            let settings = lock(&self.settings);
            (settings.responder.clone(), settings.default_reply.clone())
        };
        match responder {
            Some(responder) => responder(req),
            None => default,
        }
    }

    fn record(&self, req: &RecordedRequest) {
        let limit = lock(&self.settings).record_limit;
        if limit > 0 {
            let mut requests = lock(&self.requests);
            while requests.len() >= limit {
                requests.pop_front();
            }
            requests.push_back(req.clone());
        }
        self.bump(&self.counters.requests, true);
    }
}

/// Tracks one request from arrival until its response is finished or abandoned.
struct RequestGuard {
    shared: Arc<Shared>,
    stream: bool,
    done: bool,
}

impl RequestGuard {
    fn new(shared: Arc<Shared>, stream: bool) -> Self {
        shared.bump(&shared.counters.in_flight, true);
        if stream {
            shared.bump(&shared.counters.open_streams, true);
        }
        RequestGuard {
            shared,
            stream,
            done: false,
        }
    }

    /// The response (or its scripted fault) was delivered; dropping now is not a cancellation.
    fn complete(&mut self) {
        self.done = true;
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let c = &self.shared.counters;
        if self.done {
            c.completed.fetch_add(1, Ordering::SeqCst);
        } else {
            c.cancelled.fetch_add(1, Ordering::SeqCst);
            if self.stream {
                c.cancelled_streams.fetch_add(1, Ordering::SeqCst);
            }
        }
        if self.stream {
            c.open_streams.fetch_sub(1, Ordering::SeqCst);
        }
        self.shared.bump(&c.in_flight, false);
    }
}

/// How a connection is to be killed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kill {
    /// Close with FIN.
    Close = 1,
    /// Close with RST (`SO_LINGER` 0).
    Reset = 2,
}

/// Per-connection control a handler uses to kill its own connection.
#[derive(Default)]
pub(crate) struct ConnCtl {
    kill: AtomicU8,
    notify: Notify,
}

impl ConnCtl {
    fn kill(&self, how: Kill) {
        self.kill.store(how as u8, Ordering::SeqCst);
        self.notify.notify_one();
    }

    fn should_reset(&self) -> bool {
        self.kill.load(Ordering::SeqCst) == Kill::Reset as u8
    }

    async fn killed(&self) {
        loop {
            let notified = self.notify.notified();
            if self.kill.load(Ordering::SeqCst) != 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The accepted socket; on drop it turns the close into a reset when asked to.
struct KillableStream {
    inner: TcpStream,
    ctl: Arc<ConnCtl>,
}

impl Drop for KillableStream {
    fn drop(&mut self) {
        if self.ctl.should_reset() {
            // Zero linger makes the kernel answer the close with RST instead of FIN.
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Counts an open connection for as long as it lives.
struct ConnGuard(Arc<Shared>);

impl ConnGuard {
    fn new(shared: Arc<Shared>) -> Self {
        shared.bump(&shared.counters.connections_total, true);
        shared.bump(&shared.counters.connections_open, true);
        ConnGuard(shared)
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.bump(&self.0.counters.connections_open, false);
    }
}

/// Accepts connections until the task is aborted; aborting drops (and so closes) every
/// connection, because they live in this task's `JoinSet`.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let router = Router::new().fallback(handle).with_state(shared.clone());
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            // Reap finished connection tasks so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors or similar: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Nagle would hold back small SSE events.
        let _ = stream.set_nodelay(true);
        let ctl = Arc::new(ConnCtl::default());
        let guard = ConnGuard::new(shared.clone());
        let io = TokioIo::new(KillableStream {
            inner: stream,
            ctl: ctl.clone(),
        });
        let router = router.clone();
        let svc_ctl = ctl.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(svc_ctl.clone());
                router.clone().oneshot(req.map(Body::new))
            });
        connections.spawn(async move {
            let _guard = guard;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new());
            let conn = builder.serve_connection(io, service);
            tokio::pin!(conn);
            // Connection first: whatever a handler wrote before asking for the kill is flushed
            // in the same poll that noticed it.
            tokio::select! {
                biased;
                _ = &mut conn => {}
                _ = ctl.killed() => {}
            }
        });
    }
}

fn header_pairs(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Which endpoint a request hit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Chat,
    Messages,
    Models,
    OpenRouterKey,
    Unknown,
}

fn endpoint(method: &Method, path: &str, headers: &axum::http::HeaderMap) -> (Endpoint, Protocol) {
    let path = path.trim_end_matches('/');
    let anthropic_headers =
        headers.contains_key("anthropic-version") || headers.contains_key("x-api-key");
    if method == Method::POST && path.ends_with("/chat/completions") {
        (Endpoint::Chat, Protocol::OpenAi)
    } else if method == Method::POST && path.ends_with("/messages") {
        (Endpoint::Messages, Protocol::Anthropic)
    } else if method == Method::GET && path.ends_with("/models") {
        let protocol = if anthropic_headers {
            Protocol::Anthropic
        } else {
            Protocol::OpenAi
        };
        (Endpoint::Models, protocol)
    } else if method == Method::GET && path.ends_with("/key") {
        (Endpoint::OpenRouterKey, Protocol::OpenAi)
    } else if anthropic_headers {
        (Endpoint::Unknown, Protocol::Anthropic)
    } else {
        (Endpoint::Unknown, Protocol::OpenAi)
    }
}

fn json_response(status: u16, protocol: Protocol, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let id_header = match protocol {
        Protocol::Anthropic => "request-id",
        _ => "x-request-id",
    };
    headers.insert(id_header, HeaderValue::from_static("req_foilmock"));
    response
}

fn error_response(
    protocol: Protocol,
    status: u16,
    message: &str,
    req: &RecordedRequest,
    retry_after: Option<&str>,
) -> Response {
    let mut response = json_response(
        status,
        protocol,
        wire::error_body(protocol, status, message, req),
    );
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(v).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// One piece of a response body being sent.
enum Part {
    /// Bytes, sent after waiting this long.
    Data(Duration, Bytes),
    /// Kill the connection (the scripted fault is then delivered).
    Kill(Kill),
    /// Send nothing more, ever.
    Stall,
}

/// A response body that plays `parts` in order, keeping the request's guard alive until the
/// body is finished or dropped (a client disconnect drops it).
fn body_of(parts: VecDeque<Part>, guard: RequestGuard, ctl: Arc<ConnCtl>) -> Body {
    let stream = futures_util::stream::unfold(
        (parts, guard, ctl),
        |(mut parts, mut guard, ctl)| async move {
            match parts.pop_front() {
                None => {
                    guard.complete();
                    None
                }
                Some(Part::Data(delay, bytes)) => {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    Some((Ok::<_, io::Error>(bytes), (parts, guard, ctl)))
                }
                Some(Part::Kill(how)) => {
                    guard.complete();
                    ctl.kill(how);
                    std::future::pending().await
                }
                Some(Part::Stall) => std::future::pending().await,
            }
        },
    );
    Body::from_stream(stream)
}

fn fault_part(fault: &Fault) -> Option<Part> {
    match fault {
        Fault::Reset(_) => Some(Part::Kill(Kill::Reset)),
        Fault::Close(_) => Some(Part::Kill(Kill::Close)),
        Fault::Stall(_) => Some(Part::Stall),
        _ => None,
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Extension(ctl): Extension<Arc<ConnCtl>>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let (endpoint, protocol) = endpoint(&parts.method, parts.uri.path(), &parts.headers);
    let bytes = axum::body::to_bytes(body, MAX_REQUEST_BODY)
        .await
        .unwrap_or_default();
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    let (step_key, latency, chunk_delay, accepted) = {
        let settings = lock(&shared.settings);
        (
            settings.step_key.clone(),
            settings.latency,
            settings.chunk_delay,
            settings.accepted_keys.clone(),
        )
    };
    let mut record = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: header_pairs(&parts.headers),
        body: parsed.clone().unwrap_or(Value::Null),
        protocol,
        step: None,
    };
    if matches!(endpoint, Endpoint::Chat | Endpoint::Messages) {
        record.step = step_key(&record);
    }
    shared.record(&record);
    let stream = record.is_stream() && matches!(endpoint, Endpoint::Chat | Endpoint::Messages);
    let mut guard = RequestGuard::new(shared.clone(), stream);

    // Request validation, in the order the real APIs check things.
    if protocol == Protocol::Anthropic && record.header("anthropic-version").is_none() {
        guard.complete();
        return error_response(
            protocol,
            400,
            "anthropic-version: header is required",
            &record,
            None,
        );
    }
    if let Some(accepted) = &accepted {
        let key = record.api_key();
        if !key.is_some_and(|k| accepted.iter().any(|a| a == k)) {
            guard.complete();
            let message = match (protocol, key) {
                (Protocol::Anthropic, None) => "x-api-key header is required",
                _ => "",
            };
            return error_response(protocol, 401, message, &record, None);
        }
    }
    match endpoint {
        Endpoint::Models => {
            guard.complete();
            return json_response(200, protocol, wire::models_body(protocol));
        }
        Endpoint::OpenRouterKey => {
            guard.complete();
            return json_response(200, protocol, wire::openrouter_key_body());
        }
        Endpoint::Unknown => {
            guard.complete();
            let message = format!("Unknown request URL: {} {}", record.method, record.path);
            return error_response(protocol, 404, &message, &record, None);
        }
        Endpoint::Chat | Endpoint::Messages => {}
    }
    let Some(body) = parsed else {
        guard.complete();
        return error_response(
            protocol,
            400,
            "We could not parse the JSON body of your request.",
            &record,
            None,
        );
    };
    let valid = match protocol {
        Protocol::Anthropic => wire::validate_anthropic(&body),
        _ => wire::validate_openai(&body),
    };
    if let Err(message) = valid {
        guard.complete();
        return error_response(protocol, 400, &message, &record, None);
    }

    let reply = shared.next_reply(&record);
    let latency = reply.latency.unwrap_or(latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let n = shared.stats().requests;

    // Faults that strike before the body.
    match &reply.fault {
        Some(Fault::Status {
            status,
            retry_after,
            message,
        }) => {
            guard.complete();
            return error_response(protocol, *status, message, &record, retry_after.as_deref());
        }
        Some(Fault::StreamError {
            status, message, ..
        }) if !stream => {
            guard.complete();
            return error_response(protocol, *status, message, &record, None);
        }
        Some(
            fault @ (Fault::Reset(FaultPoint::BeforeHeaders)
            | Fault::Close(FaultPoint::BeforeHeaders)),
        ) => {
            guard.complete();
            if let Some(Part::Kill(how)) = fault_part(fault) {
                ctl.kill(how);
            }
            return std::future::pending().await;
        }
        Some(Fault::Stall(FaultPoint::BeforeHeaders)) => {
            // The guard stays open: only the client giving up ends this request.
            return std::future::pending().await;
        }
        _ => {}
    }

    if stream {
        let plan = wire::stream_plan(protocol, &record, &reply, n);
        let delay = reply.chunk_delay.unwrap_or(chunk_delay);
        let mut parts: VecDeque<Part> = plan
            .preamble
            .into_iter()
            .map(|b| Part::Data(Duration::ZERO, b))
            .collect();
        // Where the fault cuts in, counted in content deltas.
        let cut = match &reply.fault {
            Some(Fault::Reset(FaultPoint::AfterChunks(n)))
            | Some(Fault::Close(FaultPoint::AfterChunks(n)))
            | Some(Fault::Stall(FaultPoint::AfterChunks(n)))
            | Some(Fault::Truncated { after_chunks: n })
            | Some(Fault::StreamError {
                after_chunks: n, ..
            }) => Some(*n),
            Some(Fault::MalformedJson) => Some(1),
            _ => None,
        };
        let mut deltas: VecDeque<Part> = plan
            .deltas
            .into_iter()
            .enumerate()
            .map(|(i, delta)| Part::Data(if i == 0 { Duration::ZERO } else { delay }, delta))
            .collect();
        let after_cut = deltas.split_off(cut.unwrap_or(deltas.len()).min(deltas.len()));
        parts.extend(deltas);
        let closing = plan
            .closing
            .into_iter()
            .map(|b| Part::Data(Duration::ZERO, b));
        match &reply.fault {
            None => parts.extend(closing),
            Some(Fault::MalformedJson) => {
                parts.push_back(Part::Data(delay, wire::malformed_event(protocol)));
                // The rest of the stream follows the broken event, as if nothing happened.
                parts.extend(after_cut);
                parts.extend(closing);
            }
            Some(Fault::Truncated { .. }) => {}
            Some(Fault::StreamError {
                status, message, ..
            }) => {
                parts.push_back(Part::Data(
                    delay,
                    wire::error_event(protocol, *status, message),
                ));
            }
            // Reset, close or stall: after the last delta at the latest, before the proper end.
            Some(fault) => parts.extend(fault_part(fault)),
        }
        let mut response = Response::new(body_of(parts, guard, ctl));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return response;
    }

    let full = wire::json_body(protocol, &record, &reply, n);
    let half = full.slice(..full.len() / 2);
    let (parts, length) = match &reply.fault {
        None => {
            guard.complete();
            return json_response(200, protocol, full);
        }
        Some(Fault::MalformedJson) => {
            guard.complete();
            return json_response(200, protocol, wire::malformed_json_body());
        }
        Some(Fault::Truncated { .. }) => {
            guard.complete();
            return json_response(200, protocol, half);
        }
        Some(fault) => {
            let mut parts = VecDeque::from([Part::Data(Duration::ZERO, half)]);
            parts.extend(fault_part(fault));
            (parts, full.len())
        }
    };
    let mut response = json_response(200, protocol, Bytes::new());
    *response.body_mut() = body_of(parts, guard, ctl);
    // Announce the full length so the client knows the body is cut short.
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}
