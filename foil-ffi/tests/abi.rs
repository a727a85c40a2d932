//! The C ABI called directly (through the rlib), as a game would call it: bad input of every
//! kind, misuse that is detectable, concurrency, non-blocking behaviour, and end-to-end runs
//! against a real `foil-server` on loopback.

#[path = "../../foil-client/tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_void};
use std::ptr::{null, null_mut};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use foil::*;
use serde_json::Value;
use support::{unix_now, unsigned_player_token, Answer, ScriptedServer, SilentServer, TestServer};

/// A request call under test.
type Call<'a> = Box<dyn Fn() -> u64 + 'a>;

const SOME_ID: &str = "6f1c1a8e-2f7b-4c1e-9a53-3d2a4a7f0b11";

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// A copied event (its payload freed through the API).
#[derive(Debug, Clone)]
struct Owned {
    id: u64,
    kind: FoilEventKind,
    status: u16,
    payload: String,
}

impl Owned {
    fn json(&self) -> Value {
        serde_json::from_str(&self.payload)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.payload))
    }
}

/// Copies an event and frees it with foil_event_free().
fn take(event: &mut FoilEvent) -> Owned {
    assert!(!event.payload.is_null());
    // SAFETY: the library hands out NUL-terminated payloads of `payload_len` bytes.
    let bytes =
        unsafe { std::slice::from_raw_parts(event.payload.cast::<u8>(), event.payload_len + 1) };
    assert_eq!(bytes[event.payload_len], 0, "NUL-terminated");
    let text = std::str::from_utf8(&bytes[..event.payload_len]).expect("UTF-8");
    assert!(!text.contains('\0'));
    let owned = Owned {
        id: event.request_id,
        kind: event.kind,
        status: event.http_status,
        payload: text.to_string(),
    };
    // SAFETY: a valid event from the library.
    unsafe { foil_event_free(event) };
    assert!(event.payload.is_null());
    assert_eq!(event.kind, FoilEventKind::NONE);
    owned
}

fn last_error(client: *const FoilClient) -> String {
    // SAFETY: NULL or a handle; buffer sized by the first call.
    unsafe {
        let len = foil_last_error(client, null_mut(), 0);
        let mut buf = vec![0u8; len + 1];
        let again = foil_last_error(client, buf.as_mut_ptr().cast(), buf.len());
        assert_eq!(again, len);
        CStr::from_bytes_with_nul(&buf)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    }
}

fn last_status(client: *const FoilClient) -> FoilStatus {
    // SAFETY: NULL or a handle.
    unsafe { foil_last_status(client) }
}

/// Waits for a request's finishing event.
fn wait(client: *mut FoilClient, id: u64) -> Owned {
    assert!(id > 0, "request refused: {}", last_error(client));
    let mut event = FoilEvent::EMPTY;
    // SAFETY: live client, valid out pointer.
    let status = unsafe { foil_wait(client, id, 60_000, &mut event) };
    assert_eq!(status, FoilStatus::Ok, "{}", last_error(client));
    take(&mut event)
}

/// Everything queued now.
fn drain(client: *mut FoilClient) -> Vec<Owned> {
    let mut out = Vec::new();
    let mut event = FoilEvent::EMPTY;
    // SAFETY: live client, valid out pointer.
    while unsafe { foil_poll_event(client, &mut event) } {
        out.push(take(&mut event));
    }
    out
}

/// Polls until the request's finishing event arrived (or the deadline), returning every
/// event seen in order.
fn poll_until_finished(client: *mut FoilClient, id: u64) -> Vec<Owned> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let batch = drain(client);
        let done = batch.iter().any(|e| e.id == id && is_finishing(e.kind));
        seen.extend(batch);
        if done {
            // Game events are queued together with the finishing event.
            seen.extend(drain(client));
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "request {id} never finished: {seen:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn is_finishing(kind: FoilEventKind) -> bool {
    matches!(
        kind,
        FoilEventKind::RESPONSE | FoilEventKind::STREAM_DONE | FoilEventKind::ERROR
    )
}

/// A client for `base_url`; `tweak` adjusts the config (its strings must outlive the call).
fn client_with(
    base_url: &str,
    api_key: &str,
    tweak: impl FnOnce(&mut FoilClientConfig),
) -> *mut FoilClient {
    let base = cs(base_url);
    let key = cs(api_key);
    let mut config = unsafe_config();
    config.base_url = base.as_ptr();
    config.api_key = key.as_ptr();
    tweak(&mut config);
    let mut client = null_mut();
    // SAFETY: valid config and out pointer; the strings outlive the call.
    let status = unsafe { foil_client_new(&config, &mut client) };
    assert_eq!(status, FoilStatus::Ok, "{}", last_error(null()));
    assert!(!client.is_null());
    client
}

fn unsafe_config() -> FoilClientConfig {
    let mut config = std::mem::MaybeUninit::<FoilClientConfig>::uninit();
    // SAFETY: foil_client_config_init writes the whole struct.
    unsafe {
        foil_client_config_init(config.as_mut_ptr());
        config.assume_init()
    }
}

fn free(client: *mut FoilClient) {
    // SAFETY: a handle (or a freed one, which is ignored).
    unsafe { foil_client_free(client) };
}

#[test]
fn config_defaults() {
    let config = unsafe_config();
    assert!(config.base_url.is_null() && config.api_key.is_null() && config.llm_model.is_null());
    assert_eq!(config.timeout_ms, 30_000);
    assert_eq!(config.stream_timeout_ms, 120_000);
    assert_eq!(config.max_retries, 3);
    assert_eq!(config.persona_cache_ttl_ms, 60_000);
}

#[test]
fn null_pointers_are_refused() {
    let scripted = ScriptedServer::start(vec![Answer::json(200, "[]")]);
    let client = client_with(&scripted.base_url, "pk_live_x", |_| {});
    let (id, player, text) = (cs(SOME_ID), cs("p"), cs("hi"));
    let null_c: *const c_char = null();
    // SAFETY: every pointer passed is either NULL, which every function's contract allows
    // (required arguments are refused; foil_last_error accepts a NULL `buf` with any
    // `buf_len`), or valid: `client` comes from foil_client_new (client_with) and is freed
    // only after this block; `id`, `player` and `text` are NUL-terminated CStrings that
    // outlive it; `config` is filled by foil_client_config_init; the out pointers (`&mut out`,
    // `&mut event`) point to live locals. `sentinel` is only stored in `out` and compared,
    // never dereferenced.
    unsafe {
        foil_client_config_init(null_mut());
        assert_eq!(last_status(null()), FoilStatus::NullArgument);

        let sentinel = 0x1234usize as *mut FoilClient;
        let mut out = sentinel;
        assert_eq!(foil_client_new(null(), &mut out), FoilStatus::NullArgument);
        assert_eq!(out, sentinel, "out written only on success");
        let config = unsafe_config();
        assert_eq!(
            foil_client_new(&config, null_mut()),
            FoilStatus::NullArgument
        );
        assert_eq!(
            foil_client_new(&config, &mut out),
            FoilStatus::NullArgument,
            "api_key NULL"
        );
        assert!(
            last_error(null()).contains("api_key"),
            "{}",
            last_error(null())
        );
        assert_eq!(out, sentinel);
        foil_client_free(null_mut());

        // Requests with a NULL client.
        let nc = null_mut();
        assert_eq!(foil_list_personas(nc), 0);
        assert_eq!(last_status(null()), FoilStatus::NullArgument);
        assert_eq!(foil_list_machines(nc, id.as_ptr(), player.as_ptr()), 0);
        assert_eq!(
            foil_init_session(
                nc,
                id.as_ptr(),
                player.as_ptr(),
                text.as_ptr(),
                text.as_ptr(),
                null_c
            ),
            0
        );
        assert_eq!(
            foil_send_message(nc, id.as_ptr(), player.as_ptr(), text.as_ptr(), null_c),
            0
        );
        assert_eq!(
            foil_send_message_stream(nc, id.as_ptr(), player.as_ptr(), text.as_ptr(), null_c),
            0
        );
        assert_eq!(
            foil_get_session(nc, id.as_ptr(), player.as_ptr(), null_c),
            0
        );
        assert_eq!(
            foil_get_history(nc, id.as_ptr(), player.as_ptr(), null_c),
            0
        );
        assert_eq!(
            foil_reset_session(nc, id.as_ptr(), player.as_ptr(), null_c),
            0
        );
        assert_eq!(foil_validate_llm_key(nc, null_c), 0);
        assert_eq!(last_status(null()), FoilStatus::NullArgument);
        assert_eq!(foil_cancel(nc, 1), FoilStatus::NullArgument);
        let mut event = FoilEvent::EMPTY;
        assert!(!foil_poll_event(nc, &mut event));
        assert_eq!(foil_wait(nc, 1, 0, &mut event), FoilStatus::NullArgument);
        assert_eq!(
            foil_set_event_callback(nc, None, null_mut()),
            FoilStatus::NullArgument
        );
        foil_event_free(null_mut());
        assert_eq!(
            foil_last_error(null(), null_mut(), 100),
            last_error(null()).len()
        );

        // Every required string argument, one at a time: refused and named.
        let s = |p: &CString| p.as_ptr();
        let cases: Vec<(&str, Call)> = vec![
            (
                "persona_id",
                Box::new(|| foil_list_machines(client, null_c, s(&player))),
            ),
            (
                "user_session_id",
                Box::new(|| foil_list_machines(client, s(&id), null_c)),
            ),
            (
                "persona_id",
                Box::new(|| {
                    foil_init_session(client, null_c, s(&player), s(&text), s(&text), null_c)
                }),
            ),
            (
                "user_session_id",
                Box::new(|| foil_init_session(client, s(&id), null_c, s(&text), s(&text), null_c)),
            ),
            (
                "player_name",
                Box::new(|| {
                    foil_init_session(client, s(&id), s(&player), null_c, s(&text), null_c)
                }),
            ),
            (
                "player_gender",
                Box::new(|| {
                    foil_init_session(client, s(&id), s(&player), s(&text), null_c, null_c)
                }),
            ),
            (
                "persona_id",
                Box::new(|| foil_send_message(client, null_c, s(&player), s(&text), null_c)),
            ),
            (
                "user_session_id",
                Box::new(|| foil_send_message(client, s(&id), null_c, s(&text), null_c)),
            ),
            (
                "message",
                Box::new(|| foil_send_message(client, s(&id), s(&player), null_c, null_c)),
            ),
            (
                "persona_id",
                Box::new(|| foil_send_message_stream(client, null_c, s(&player), s(&text), null_c)),
            ),
            (
                "user_session_id",
                Box::new(|| foil_send_message_stream(client, s(&id), null_c, s(&text), null_c)),
            ),
            (
                "message",
                Box::new(|| foil_send_message_stream(client, s(&id), s(&player), null_c, null_c)),
            ),
            (
                "persona_id",
                Box::new(|| foil_get_session(client, null_c, s(&player), null_c)),
            ),
            (
                "user_session_id",
                Box::new(|| foil_get_session(client, s(&id), null_c, null_c)),
            ),
            (
                "persona_id",
                Box::new(|| foil_get_history(client, null_c, s(&player), null_c)),
            ),
            (
                "user_session_id",
                Box::new(|| foil_get_history(client, s(&id), null_c, null_c)),
            ),
            (
                "persona_id",
                Box::new(|| foil_reset_session(client, null_c, s(&player), null_c)),
            ),
            (
                "user_session_id",
                Box::new(|| foil_reset_session(client, s(&id), null_c, null_c)),
            ),
        ];
        for (argument, call) in &cases {
            assert_eq!(call(), 0, "{argument}");
            assert_eq!(last_status(client), FoilStatus::NullArgument, "{argument}");
            assert_eq!(last_error(client), format!("{argument} is NULL"));
            // The thread's record saw the same failure.
            assert_eq!(last_error(null()), format!("{argument} is NULL"));
        }
        // Out-parameters.
        assert!(!foil_poll_event(client, null_mut()));
        assert_eq!(last_status(client), FoilStatus::NullArgument);
        assert_eq!(
            foil_wait(client, 1, 0, null_mut()),
            FoilStatus::NullArgument
        );
        // Optional arguments may be NULL.
        assert!(foil_validate_llm_key(client, null_c) > 0);
        assert!(foil_list_machines(client, s(&id), s(&player)) > 0);
    }
    free(client);
    // The only requests sent were the two valid ones.
    let deadline = Instant::now() + Duration::from_secs(10);
    while scripted.requests() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(scripted.requests() <= 2);
}

#[test]
fn bad_strings_are_refused_before_anything_is_sent() {
    let scripted = ScriptedServer::start(vec![Answer::json(200, "[]")]);
    let client = client_with(&scripted.base_url, "pk_live_x", |_| {});
    let id = cs(SOME_ID);
    let player = cs("p");
    let invalid_utf8 = CString::new(vec![b'a', 0xff, 0xfe]).unwrap();
    let empty = cs("");
    let blank = cs(" \t\n ");
    let huge = cs(&"x".repeat(1 << 20));
    let long_message = cs(&"é".repeat(2001));
    let not_uuid = cs("../../admin");
    let hi = cs("hi");
    // SAFETY: valid (if unwelcome) strings and a live client.
    unsafe {
        for (make, status, needle) in [
            (
                Box::new(|| foil_list_machines(client, invalid_utf8.as_ptr(), player.as_ptr()))
                    as Box<dyn Fn() -> u64>,
                FoilStatus::InvalidUtf8,
                "persona_id is not valid UTF-8",
            ),
            (
                Box::new(|| {
                    foil_send_message(
                        client,
                        id.as_ptr(),
                        player.as_ptr(),
                        invalid_utf8.as_ptr(),
                        null(),
                    )
                }),
                FoilStatus::InvalidUtf8,
                "message is not valid UTF-8",
            ),
            (
                Box::new(|| foil_list_machines(client, empty.as_ptr(), player.as_ptr())),
                FoilStatus::EmptyArgument,
                "persona_id must not be empty",
            ),
            (
                Box::new(|| {
                    foil_send_message(client, id.as_ptr(), blank.as_ptr(), hi.as_ptr(), null())
                }),
                FoilStatus::EmptyArgument,
                "user_session_id must not be empty",
            ),
            (
                Box::new(|| {
                    foil_send_message_stream(
                        client,
                        id.as_ptr(),
                        player.as_ptr(),
                        blank.as_ptr(),
                        null(),
                    )
                }),
                FoilStatus::EmptyArgument,
                "message must not be empty",
            ),
            (
                Box::new(|| foil_validate_llm_key(client, huge.as_ptr())),
                FoilStatus::ArgumentTooLong,
                "model is longer than 65536 bytes",
            ),
            (
                Box::new(|| foil_get_session(client, id.as_ptr(), huge.as_ptr(), null())),
                FoilStatus::ArgumentTooLong,
                "user_session_id is longer than 65536 bytes",
            ),
            (
                Box::new(|| {
                    foil_send_message(
                        client,
                        id.as_ptr(),
                        player.as_ptr(),
                        long_message.as_ptr(),
                        null(),
                    )
                }),
                FoilStatus::ArgumentTooLong,
                "message must be at most 2000 characters long",
            ),
            (
                Box::new(|| {
                    foil_init_session(
                        client,
                        id.as_ptr(),
                        player.as_ptr(),
                        huge.as_ptr(),
                        hi.as_ptr(),
                        null(),
                    )
                }),
                FoilStatus::ArgumentTooLong,
                "player_name is longer than 65536 bytes",
            ),
            (
                Box::new(|| foil_get_history(client, not_uuid.as_ptr(), player.as_ptr(), null())),
                FoilStatus::InvalidArgument,
                "persona_id: must be a UUID",
            ),
            (
                Box::new(|| {
                    foil_reset_session(client, id.as_ptr(), player.as_ptr(), not_uuid.as_ptr())
                }),
                FoilStatus::InvalidArgument,
                "machine_id: must be a UUID",
            ),
        ] {
            assert_eq!(make(), 0);
            assert_eq!(last_status(client), status);
            let message = last_error(client);
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        }
        // Empty optional strings are "not given": accepted.
        assert!(foil_get_session(client, id.as_ptr(), player.as_ptr(), empty.as_ptr()) > 0);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while scripted.requests() < 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(scripted.requests(), 1, "only the valid request was sent");
    free(client);

    // Bad configurations.
    let mut out = null_mut();
    for (field, value, status, named) in [
        ("api_key", cs(""), FoilStatus::EmptyArgument, "api_key"),
        (
            "api_key",
            invalid_utf8.clone(),
            FoilStatus::InvalidUtf8,
            "api_key",
        ),
        (
            "api_key",
            huge.clone(),
            FoilStatus::ArgumentTooLong,
            "api_key",
        ),
        (
            "base_url",
            cs("ftp://example.com"),
            FoilStatus::InvalidArgument,
            "base_url",
        ),
        (
            "base_url",
            cs("not a url"),
            FoilStatus::InvalidArgument,
            "base_url",
        ),
        // Header values are named by their header.
        (
            "llm_model",
            cs("a\nb"),
            FoilStatus::InvalidArgument,
            "x-llm-model",
        ),
        (
            "llm_api_key",
            invalid_utf8.clone(),
            FoilStatus::InvalidUtf8,
            "llm_api_key",
        ),
    ] {
        let key = cs("pk_live_x");
        let mut config = unsafe_config();
        config.api_key = key.as_ptr();
        match field {
            "api_key" => config.api_key = value.as_ptr(),
            "base_url" => config.base_url = value.as_ptr(),
            "llm_model" => config.llm_model = value.as_ptr(),
            _ => config.llm_api_key = value.as_ptr(),
        }
        assert_eq!(
            // SAFETY: `config` was filled by foil_client_config_init; its strings are NULL or
            // point into `key` and `value`, NUL-terminated CStrings alive for this iteration;
            // `&mut out` points to a live local.
            unsafe { foil_client_new(&config, &mut out) },
            status,
            "{field}"
        );
        assert!(out.is_null(), "written only on success");
        assert_eq!(last_status(null()), status);
        assert!(last_error(null()).contains(named), "{}", last_error(null()));
    }
}

#[test]
fn unknown_requests_and_repeated_frees_are_detected() {
    let client = client_with("http://127.0.0.1:9", "pk_live_x", |_| {});
    let mut event = FoilEvent::EMPTY;
    // SAFETY: live client / handles under test; valid out pointers.
    unsafe {
        assert_eq!(foil_cancel(client, 0), FoilStatus::UnknownRequest);
        assert_eq!(foil_cancel(client, 987_654), FoilStatus::UnknownRequest);
        assert!(
            last_error(client).contains("987654"),
            "{}",
            last_error(client)
        );
        assert_eq!(
            foil_wait(client, 987_654, 10, &mut event),
            FoilStatus::UnknownRequest
        );
        assert_eq!(event.kind, FoilEventKind::NONE, "not written on failure");
        assert!(!foil_poll_event(client, &mut event), "nothing queued");
        // A zeroed event and NULL are fine to free.
        foil_event_free(&mut event);

        // A request that fails fast (nothing listens on port 9) gives one event.
        let id = foil_list_personas(client);
        assert!(id > 0);
        let mut finished = FoilEvent::EMPTY;
        assert_eq!(foil_wait(client, id, 60_000, &mut finished), FoilStatus::Ok);
        assert_eq!(finished.kind, FoilEventKind::ERROR);
        let copy = FoilEvent {
            payload: finished.payload,
            payload_len: finished.payload_len,
            ..FoilEvent::EMPTY
        };
        foil_event_free(&mut finished);
        foil_event_free(&mut finished); // twice: ignored
        let mut copy = copy;
        foil_event_free(&mut copy); // a copy of a freed event: ignored
                                    // Its finishing event was taken: the request is unknown now.
        assert_eq!(
            foil_wait(client, id, 10, &mut event),
            FoilStatus::UnknownRequest
        );
        assert_eq!(foil_cancel(client, id), FoilStatus::UnknownRequest);
    }
    free(client);
    free(client); // double free: ignored
                  // SAFETY: a freed handle and a made-up one; both must be refused, not dereferenced.
    unsafe {
        for handle in [client, 0xdead_beef_usize as *mut FoilClient] {
            assert_eq!(foil_list_personas(handle), 0);
            assert_eq!(last_status(null()), FoilStatus::InvalidHandle);
            assert_eq!(foil_cancel(handle, 1), FoilStatus::InvalidHandle);
            let mut event = FoilEvent::EMPTY;
            assert!(!foil_poll_event(handle, &mut event));
            assert_eq!(
                foil_wait(handle, 1, 0, &mut event),
                FoilStatus::InvalidHandle
            );
            assert_eq!(
                foil_set_event_callback(handle, None, null_mut()),
                FoilStatus::InvalidHandle
            );
            // Not a live client: the thread's record is read.
            assert_eq!(last_status(handle), FoilStatus::InvalidHandle);
            foil_client_free(handle);
        }
    }
}

#[test]
fn last_error_copies_safely() {
    let client = client_with("http://127.0.0.1:9", "pk_live_x", |_| {});
    assert_eq!(last_status(client), FoilStatus::Ok);
    assert_eq!(last_error(client), "");
    let long = cs(&"é".repeat(2001));
    let (id, player) = (cs(SOME_ID), cs("p"));
    // SAFETY: live client, buffers of the given sizes.
    unsafe {
        assert_eq!(
            foil_send_message(client, id.as_ptr(), player.as_ptr(), long.as_ptr(), null()),
            0
        );
        let full = last_error(client);
        let mut buf = [0x55u8; 8];
        let len = foil_last_error(client, buf.as_mut_ptr().cast(), buf.len());
        assert_eq!(len, full.len());
        let copied = CStr::from_bytes_until_nul(&buf).unwrap().to_str().unwrap();
        assert_eq!(copied, &full[..7]);
        let message = last_error(client);
        let mut one = [0x55u8; 1];
        assert_eq!(
            foil_last_error(client, one.as_mut_ptr().cast(), 1),
            message.len()
        );
        assert_eq!(one[0], 0, "a 1-byte buffer gets just the NUL");
        // A successful call keeps the record.
        assert!(foil_list_personas(client) > 0);
        assert_eq!(last_status(client), FoilStatus::ArgumentTooLong);
    }
    free(client);
}

#[test]
fn error_events_carry_the_server_message() {
    let scripted = ScriptedServer::start(vec![Answer::json(
        400,
        r#"{"error":{"message":"Überlänge: ½ zu groß","code":"field_too_long"}}"#,
    )]);
    let client = client_with(&scripted.base_url, "pk_live_x", |c| c.max_retries = 0);
    // SAFETY: live client.
    let event = wait(client, unsafe { foil_list_personas(client) });
    assert_eq!((event.kind, event.status), (FoilEventKind::ERROR, 400));
    assert_eq!(
        event.json(),
        serde_json::json!({"status": 400, "code": "field_too_long",
            "message": "Überlänge: ½ zu groß", "retry_after": null})
    );
    free(client);
}

#[test]
fn request_calls_never_block_on_the_network() {
    // A server that accepts connections and never answers: every request hangs until its
    // 5 s timeout. Each call must return long before that.
    let silent = SilentServer::start();
    let client = client_with(&silent.base_url, "pk_live_x", |c| {
        c.timeout_ms = 5_000;
        c.stream_timeout_ms = 5_000;
        c.max_retries = 0;
    });
    let (id, player, name, gender, text) =
        (cs(SOME_ID), cs("p"), cs("Ada"), cs("female"), cs("hi"));
    // In each closure below: `client` comes from foil_client_new (client_with) and is freed
    // only after the last call; the strings are NUL-terminated CStrings declared before `calls`,
    // so they outlive every call; a NULL machine id or model is allowed.
    let calls: Vec<(&str, Call)> = vec![
        (
            "list_personas",
            // SAFETY: `client` is live (see above).
            Box::new(|| unsafe { foil_list_personas(client) }),
        ),
        (
            "list_machines",
            // SAFETY: `client` is live; `id` and `player` outlive the call.
            Box::new(|| unsafe { foil_list_machines(client, id.as_ptr(), player.as_ptr()) }),
        ),
        (
            "init_session",
            // SAFETY: `client` is live; the strings outlive the call; NULL machine id allowed.
            Box::new(|| unsafe {
                foil_init_session(
                    client,
                    id.as_ptr(),
                    player.as_ptr(),
                    name.as_ptr(),
                    gender.as_ptr(),
                    null(),
                )
            }),
        ),
        (
            "send_message",
            // SAFETY: `client` is live; the strings outlive the call; NULL machine id allowed.
            Box::new(|| unsafe {
                foil_send_message(client, id.as_ptr(), player.as_ptr(), text.as_ptr(), null())
            }),
        ),
        (
            "send_message_stream",
            // SAFETY: `client` is live; the strings outlive the call; NULL machine id allowed.
            Box::new(|| unsafe {
                foil_send_message_stream(
                    client,
                    id.as_ptr(),
                    player.as_ptr(),
                    text.as_ptr(),
                    null(),
                )
            }),
        ),
        (
            "get_session",
            // SAFETY: `client` is live; the strings outlive the call; NULL machine id allowed.
            Box::new(|| unsafe { foil_get_session(client, id.as_ptr(), player.as_ptr(), null()) }),
        ),
        (
            "get_history",
            // SAFETY: `client` is live; the strings outlive the call; NULL machine id allowed.
            Box::new(|| unsafe { foil_get_history(client, id.as_ptr(), player.as_ptr(), null()) }),
        ),
        (
            "reset_session",
            // SAFETY: `client` is live; the strings outlive the call; NULL machine id allowed.
            Box::new(|| unsafe {
                foil_reset_session(client, id.as_ptr(), player.as_ptr(), null())
            }),
        ),
        (
            "validate_llm_key",
            // SAFETY: `client` is live; a NULL model means the configured default.
            Box::new(|| unsafe { foil_validate_llm_key(client, null()) }),
        ),
    ];
    // A call that waited for the network would take the whole 5 s timeout, every time. The
    // fastest of three rounds must be far below that (scheduler noise on a busy machine can
    // delay any single call), and no call may come anywhere near it.
    let mut ids = Vec::new();
    let mut fastest = vec![Duration::MAX; calls.len()];
    for _round in 0..3 {
        for (n, (name, call)) in calls.iter().enumerate() {
            let started = Instant::now();
            let request = call();
            let took = started.elapsed();
            assert!(request > 0, "{name}: {}", last_error(client));
            assert!(
                took < Duration::from_secs(1),
                "{name} blocked the caller for {took:?}"
            );
            fastest[n] = fastest[n].min(took);
            ids.push(request);
        }
    }
    for ((name, _), took) in calls.iter().zip(&fastest) {
        assert!(
            *took < Duration::from_millis(50),
            "{name} took {took:?} at best: it waits for something"
        );
    }
    // Nothing has finished: the server never answers.
    assert!(drain(client).is_empty());
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "request ids are unique");
    // Freeing with all of them in flight returns within the bound.
    let started = Instant::now();
    free(client);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "foil_client_free took {:?}",
        started.elapsed()
    );
}

#[test]
fn end_to_end_against_a_real_server() {
    let server = TestServer::start();
    let client = client_with(&server.base_url, &server.api_key, |_| {});
    let persona_id = server.persona_id("Corwin");
    let play = server
        .playthroughs("wandering_merchant")
        .into_iter()
        .find(|p| p.machine_key == "roadside_meeting" && p.outcome == "ACCEPT")
        .unwrap();
    let (persona, player) = (cs(&persona_id), cs("ffi-player"));
    // SAFETY: `client` comes from foil_client_new (client_with) and is freed only after this
    // block; every string argument is a NUL-terminated CString bound to a local that lives
    // across its call (`persona`, `player`, `name`, `gender`, `machine`, `text`, `again`);
    // NULL is passed only where allowed (machine id of foil_init_session, model of
    // foil_validate_llm_key).
    unsafe {
        let personas = wait(client, foil_list_personas(client));
        assert_eq!(
            (personas.kind, personas.status),
            (FoilEventKind::RESPONSE, 200)
        );
        assert!(personas
            .json()
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Corwin"));

        let machines = wait(
            client,
            foil_list_machines(client, persona.as_ptr(), player.as_ptr()),
        );
        assert!(machines.payload.contains("roadside_meeting"));

        let (name, gender) = (cs("Ada"), cs("female"));
        let init = wait(
            client,
            foil_init_session(
                client,
                persona.as_ptr(),
                player.as_ptr(),
                name.as_ptr(),
                gender.as_ptr(),
                null(),
            ),
        );
        assert_eq!(init.kind, FoilEventKind::RESPONSE, "{}", init.payload);
        let init = init.json();
        assert!(!init["message"].as_str().unwrap().is_empty());
        let machine = cs(init["machine_id"].as_str().unwrap());
        let session_id = init["session_id"].as_str().unwrap().to_string();

        // Seed the state so the first turn reports a STATE_CHANGE.
        let status = wait(
            client,
            foil_get_session(client, persona.as_ptr(), player.as_ptr(), machine.as_ptr()),
        );
        let initial_state = status.json()["current_state"].as_str().unwrap().to_string();
        assert!(drain(client).is_empty(), "no game events yet");

        // All but the last message as whole replies; the last one streamed.
        let mut game_events: Vec<Owned> = Vec::new();
        let (last, rest) = play.messages.split_last().unwrap();
        for message in rest {
            let text = cs(message);
            let id = foil_send_message(
                client,
                persona.as_ptr(),
                player.as_ptr(),
                text.as_ptr(),
                machine.as_ptr(),
            );
            let events = poll_until_finished(client, id);
            assert_eq!(events[0].kind, FoilEventKind::RESPONSE, "{events:?}");
            assert!(
                events[1..]
                    .iter()
                    .all(|e| e.kind as i32 >= 10 && e.id == id),
                "{events:?}"
            );
            game_events.extend(events.into_iter().skip(1));
        }
        let text = cs(last);
        let id = foil_send_message_stream(
            client,
            persona.as_ptr(),
            player.as_ptr(),
            text.as_ptr(),
            machine.as_ptr(),
        );
        let events = poll_until_finished(client, id);
        let kinds: Vec<FoilEventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds[0], FoilEventKind::STREAM_METADATA, "{kinds:?}");
        let done_at = kinds
            .iter()
            .position(|k| *k == FoilEventKind::STREAM_DONE)
            .expect("done");
        assert!(done_at >= 2, "at least one delta: {kinds:?}");
        assert!(
            kinds[1..done_at]
                .iter()
                .all(|k| *k == FoilEventKind::TEXT_DELTA),
            "{kinds:?}"
        );
        let text: String = events[1..done_at]
            .iter()
            .map(|e| e.payload.as_str())
            .collect();
        let done = events[done_at].json();
        assert_eq!(
            done["message"].as_str().unwrap(),
            text,
            "deltas concatenate to the message"
        );
        assert_eq!(done["outcome"], "ACCEPT");
        assert_eq!(events[0].json()["current_state"], done["current_state"]);
        assert!(events.iter().all(|e| e.id == id));
        game_events.extend(events.into_iter().skip(done_at + 1));

        // Game events: a chain of state changes from the initial state, score changes that add
        // up, and the ending ones last.
        let states: Vec<(String, String)> = game_events
            .iter()
            .filter(|e| e.kind == FoilEventKind::STATE_CHANGE)
            .map(|e| {
                let v = e.json();
                assert_eq!(v["session_id"], session_id.as_str());
                (
                    v["from_state"].as_str().unwrap().to_string(),
                    v["to_state"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert!(!states.is_empty());
        assert_eq!(states[0].0, initial_state);
        assert_eq!(
            states.last().unwrap().1,
            done["current_state"].as_str().unwrap()
        );
        let total: i64 = game_events
            .iter()
            .filter(|e| e.kind == FoilEventKind::SCORE_CHANGE)
            .map(|e| e.json()["delta"].as_i64().unwrap())
            .sum();
        assert_eq!(total, done["score"].as_i64().unwrap());
        let tail: Vec<FoilEventKind> = game_events.iter().rev().take(3).map(|e| e.kind).collect();
        assert_eq!(
            tail,
            [
                FoilEventKind::SESSION_ENDED,
                FoilEventKind::MACHINES_UNLOCKED,
                FoilEventKind::MACHINE_COMPLETED
            ]
        );
        let unlocked = game_events[game_events.len() - 2].json();
        assert_eq!(
            unlocked["machines"][0]["machine_key"],
            play.unlocks[0].as_str()
        );
        let ended = game_events.last().unwrap().json();
        assert_eq!(ended["outcome"], "ACCEPT");
        assert_eq!(ended["final_score"], done["score"]);
        assert!(game_events.iter().all(|e| e.status == 0));

        // A message to the ended session is an HTTP error event.
        let again = cs("Hello again");
        let error = wait(
            client,
            foil_send_message(
                client,
                persona.as_ptr(),
                player.as_ptr(),
                again.as_ptr(),
                machine.as_ptr(),
            ),
        );
        assert_eq!((error.kind, error.status), (FoilEventKind::ERROR, 409));
        let error = error.json();
        assert_eq!(error["code"], "session_ended");
        assert_eq!(error["status"], 409);
        assert!(error["retry_after"].is_null());

        let history = wait(
            client,
            foil_get_history(client, persona.as_ptr(), player.as_ptr(), machine.as_ptr()),
        );
        let history = history.json();
        assert_eq!(
            history["messages"].as_array().unwrap().len(),
            1 + 2 * play.messages.len()
        );

        let reset = wait(
            client,
            foil_reset_session(client, persona.as_ptr(), player.as_ptr(), machine.as_ptr()),
        );
        assert_eq!(reset.json()["session_id"], session_id.as_str());
        let status = wait(
            client,
            foil_get_session(client, persona.as_ptr(), player.as_ptr(), machine.as_ptr()),
        );
        assert_eq!(status.json()["score"], 0);
        assert!(status.json()["outcome"].is_null());

        let valid = wait(client, foil_validate_llm_key(client, null()));
        assert_eq!(valid.json()["valid"], true);
        assert!(drain(client).is_empty());
    }
    free(client);
}

#[test]
fn bad_api_key_gives_an_error_event() {
    let server = TestServer::start();
    let client = client_with(
        &server.base_url,
        "pk_live_ffffffffffffffffffffffffffffffff",
        |_| {},
    );
    // SAFETY: live client.
    let event = wait(client, unsafe { foil_list_personas(client) });
    assert_eq!((event.kind, event.status), (FoilEventKind::ERROR, 401));
    let payload = event.json();
    assert_eq!(payload["status"], 401);
    assert_eq!(payload["code"], "invalid_api_key");
    assert_eq!(payload["message"], "Invalid API key");
    let keys: Vec<&String> = payload.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "{payload}");
    free(client);
}

#[test]
fn cancelling_a_slow_stream_finishes_it_once() {
    let chunks: Vec<String> = (0..300).map(|i| format!("word{i} ")).collect();
    let server = TestServer::start_with(Some(
        foil_mock_llm::MockConfig::default()
            .with_chunk_delay(Duration::from_millis(50))
            .with_default_reply(foil_mock_llm::Reply::chunked(chunks)),
    ));
    let model = cs("openai/gpt-test");
    let key = cs("k");
    let client = client_with(&server.base_url, &server.api_key, |c| {
        c.llm_model = model.as_ptr();
        c.llm_api_key = key.as_ptr();
    });
    let (persona, player, name, gender, hello) = (
        cs(&server.persona_id("Grumpy Barista")),
        cs("canceller"),
        cs("Ada"),
        cs("female"),
        cs("Hello"),
    );
    // SAFETY: `client` comes from foil_client_new (client_with) and is freed only after this
    // block; `persona`, `player`, `name`, `gender` and `hello` are NUL-terminated CStrings that
    // outlive it; the machine id is NULL, which is allowed; `id` is only passed by value.
    unsafe {
        let init = wait(
            client,
            foil_init_session(
                client,
                persona.as_ptr(),
                player.as_ptr(),
                name.as_ptr(),
                gender.as_ptr(),
                null(),
            ),
        );
        assert_eq!(init.kind, FoilEventKind::RESPONSE, "{}", init.payload);
        let id = foil_send_message_stream(
            client,
            persona.as_ptr(),
            player.as_ptr(),
            hello.as_ptr(),
            null(),
        );
        assert!(id > 0);
        // Wait for the first delta, so the stream is really under way.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut before = Vec::new();
        while !before
            .iter()
            .any(|e: &Owned| e.kind == FoilEventKind::TEXT_DELTA)
        {
            assert!(Instant::now() < deadline, "no delta arrived: {before:?}");
            before.extend(drain(client));
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(foil_cancel(client, id), FoilStatus::Ok);
        assert_eq!(
            foil_cancel(client, id),
            FoilStatus::UnknownRequest,
            "already finished"
        );
        let finished = wait(client, id);
        assert_eq!((finished.kind, finished.status), (FoilEventKind::ERROR, 0));
        assert_eq!(finished.json()["code"], "cancelled");
        // Give a (wrongly) still-running task the time to queue more deltas: none may come.
        std::thread::sleep(Duration::from_millis(300));
        let after = drain(client);
        let all: Vec<&Owned> = before.iter().chain(after.iter()).collect();
        assert!(
            all.iter().all(|e| !is_finishing(e.kind)),
            "exactly one finishing event: {all:?}"
        );
        let last_delta_before_cancel = after
            .iter()
            .filter(|e| e.kind == FoilEventKind::TEXT_DELTA)
            .count();
        assert!(
            last_delta_before_cancel <= 1,
            "no deltas after the cancel: {after:?}"
        );
    }
    // The provider saw the disconnect.
    let mock = server.mock.as_ref().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while mock.stats().cancelled_streams == 0 {
        assert!(
            Instant::now() < deadline,
            "provider stream not cancelled: {:?}",
            mock.stats()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    free(client);
}

#[test]
fn sixteen_threads_share_one_client() {
    let server = TestServer::start();
    let client = client_with(&server.base_url, &server.api_key, |_| {});
    let handle = client as usize;
    let persona = server.persona_id("Grumpy Barista");
    // Part 1: every thread drives its own session with foil_wait.
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let persona = persona.clone();
            std::thread::spawn(move || {
                let client = handle as *mut FoilClient;
                let (persona, player) = (cs(&persona), cs(&format!("thread-{t}")));
                let (name, gender, hello) = (cs("Ada"), cs("female"), cs("Hello there"));
                // SAFETY: the client outlives the threads; valid strings.
                unsafe {
                    let init = wait(
                        client,
                        foil_init_session(
                            client,
                            persona.as_ptr(),
                            player.as_ptr(),
                            name.as_ptr(),
                            gender.as_ptr(),
                            null(),
                        ),
                    );
                    assert_eq!(init.kind, FoilEventKind::RESPONSE, "{}", init.payload);
                    let reply = wait(
                        client,
                        foil_send_message(
                            client,
                            persona.as_ptr(),
                            player.as_ptr(),
                            hello.as_ptr(),
                            null(),
                        ),
                    );
                    assert_eq!(reply.kind, FoilEventKind::RESPONSE, "{}", reply.payload);
                    assert_eq!(reply.json()["session_id"], init.json()["session_id"]);
                    let history = wait(
                        client,
                        foil_get_history(client, persona.as_ptr(), player.as_ptr(), null()),
                    );
                    assert_eq!(history.json()["messages"].as_array().unwrap().len(), 3);
                    // Misuse from many threads at once is still only a status.
                    assert_eq!(
                        foil_cancel(client, u64::MAX - t),
                        FoilStatus::UnknownRequest
                    );
                    let mut buf = [0u8; 16];
                    foil_last_error(client, buf.as_mut_ptr().cast(), buf.len());
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread ran");
    }
    // Only game events can be left over.
    let rest = drain(client);
    assert!(rest.iter().all(|e| e.kind as i32 >= 10), "{rest:?}");

    // Part 2: sixteen threads submit, one thread polls: every request finishes exactly once.
    let submitted = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let submitted = submitted.clone();
            std::thread::spawn(move || {
                let client = handle as *mut FoilClient;
                for _ in 0..10 {
                    // SAFETY: live client.
                    let id = unsafe { foil_list_personas(client) };
                    assert!(id > 0);
                    submitted.lock().unwrap().push(id);
                }
            })
        })
        .collect();
    let mut finished: HashMap<u64, usize> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while finished.len() < 160 {
        assert!(
            Instant::now() < deadline,
            "only {} finished",
            finished.len()
        );
        for event in drain(client) {
            assert_eq!(event.kind, FoilEventKind::RESPONSE, "{}", event.payload);
            *finished.entry(event.id).or_default() += 1;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    for thread in threads {
        thread.join().unwrap();
    }
    let submitted = submitted.lock().unwrap();
    assert_eq!(submitted.len(), 160);
    for id in submitted.iter() {
        assert_eq!(finished.get(id), Some(&1), "request {id}");
    }
    free(client);
}

/// What the test callback collected.
#[derive(Default)]
struct Collected {
    events: Mutex<Vec<(Owned, String)>>,
    arrived: Condvar,
}

unsafe extern "C" fn collect(user_data: *mut c_void, event: *const FoilEvent) {
    // SAFETY: user_data is the test's `Collected`; the event is valid during the call.
    let (collected, event) = unsafe { (&*(user_data as *const Collected), &*event) };
    // SAFETY: the payload is NUL-terminated UTF-8 of payload_len bytes.
    let payload =
        unsafe { std::slice::from_raw_parts(event.payload.cast::<u8>(), event.payload_len) };
    let owned = Owned {
        id: event.request_id,
        kind: event.kind,
        status: event.http_status,
        payload: String::from_utf8(payload.to_vec()).unwrap(),
    };
    let thread = std::thread::current().name().unwrap_or("").to_string();
    collected.events.lock().unwrap().push((owned, thread));
    collected.arrived.notify_all();
}

fn wait_collected(collected: &Collected, count: usize) -> Vec<(Owned, String)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut events = collected.events.lock().unwrap();
    while events.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "callback got {} of {count}", events.len());
        events = collected.arrived.wait_timeout(events, left).unwrap().0;
    }
    events.clone()
}

#[test]
fn push_callback_delivers_on_a_library_thread() {
    let scripted = ScriptedServer::start(vec![Answer::json(200, "[]")]);
    let client = client_with(&scripted.base_url, "pk_live_x", |c| {
        c.persona_cache_ttl_ms = 1
    });
    let collected = Box::new(Collected::default());
    let user_data = &*collected as *const Collected as *mut c_void;
    // SAFETY: live client; `collected` outlives the client (freed below first).
    unsafe {
        // An event queued before the callback is set is delivered to it too.
        let early = foil_list_personas(client);
        std::thread::sleep(Duration::from_millis(100));
        assert!(early > 0);
        assert_eq!(
            foil_set_event_callback(client, Some(collect), user_data),
            FoilStatus::Ok
        );
        let id = foil_list_personas(client);
        let events = wait_collected(&collected, 2);
        let mut ids: Vec<u64> = events.iter().map(|(e, _)| e.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, [early, id], "the queued event and the new one");
        for (event, thread) in &events {
            assert_eq!(event.kind, FoilEventKind::RESPONSE);
            assert_eq!(event.payload, "[]");
            assert_eq!(thread, "foil-callback");
        }
        let mut event = FoilEvent::EMPTY;
        assert!(!foil_poll_event(client, &mut event));
        assert_eq!(last_status(client), FoilStatus::CallbackMode);
        assert_eq!(
            foil_wait(client, id, 10, &mut event),
            FoilStatus::CallbackMode
        );
        // Back to polling.
        assert_eq!(
            foil_set_event_callback(client, None, null_mut()),
            FoilStatus::Ok
        );
        let id = foil_list_personas(client);
        assert_eq!(wait(client, id).payload, "[]");
        assert_eq!(collected.events.lock().unwrap().len(), 2);
    }
    free(client);
    drop(collected);
}

struct FreeFromCallback {
    client: Mutex<usize>,
    done: Mutex<bool>,
    arrived: Condvar,
}

unsafe extern "C" fn free_own_client(user_data: *mut c_void, _event: *const FoilEvent) {
    // SAFETY: user_data is the test's FreeFromCallback, alive until `done`.
    let state = unsafe { &*(user_data as *const FreeFromCallback) };
    let handle = std::mem::take(&mut *state.client.lock().unwrap());
    if handle != 0 {
        // SAFETY: the live handle; freeing from the callback is allowed.
        unsafe { foil_client_free(handle as *mut FoilClient) };
    }
    *state.done.lock().unwrap() = true;
    state.arrived.notify_all();
}

#[test]
fn a_callback_may_free_its_own_client() {
    let scripted = ScriptedServer::start(vec![Answer::json(200, "[]")]);
    let client = client_with(&scripted.base_url, "pk_live_x", |_| {});
    let state = Box::new(FreeFromCallback {
        client: Mutex::new(client as usize),
        done: Mutex::new(false),
        arrived: Condvar::new(),
    });
    let user_data = &*state as *const FreeFromCallback as *mut c_void;
    // SAFETY: live client; `state` outlives the callback's use of it (we wait for `done`).
    unsafe {
        assert_eq!(
            foil_set_event_callback(client, Some(free_own_client), user_data),
            FoilStatus::Ok
        );
        assert!(foil_list_personas(client) > 0);
    }
    let mut done = state.done.lock().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !*done {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "the callback never ran");
        done = state.arrived.wait_timeout(done, left).unwrap().0;
    }
    drop(done);
    // The handle is gone.
    // SAFETY: a freed handle is detected.
    assert_eq!(unsafe { foil_list_personas(client) }, 0);
    assert_eq!(last_status(null()), FoilStatus::InvalidHandle);
    // Give the callback thread a moment to leave the callback before `state` is dropped.
    std::thread::sleep(Duration::from_millis(50));
}

// ---- Credentials: foil_client_set_api_key and FOIL_EVENT_CREDENTIAL_EXPIRING ----

/// A token the library can read the expiry of (the server would refuse its signature).
fn token_expiring(issued_ago: i64, expires_in: i64) -> CString {
    let now = unix_now();
    cs(&unsigned_player_token(&serde_json::json!({
        "sub": "p", "iat": now - issued_ago, "exp": now + expires_in,
    })))
}

fn set_key(client: *mut FoilClient, key: &CString) -> FoilStatus {
    // SAFETY: a handle (or NULL) and a NUL-terminated string.
    unsafe { foil_client_set_api_key(client, key.as_ptr()) }
}

fn credential_events(events: &[Owned]) -> Vec<&Owned> {
    events
        .iter()
        .filter(|e| e.kind == FoilEventKind::CREDENTIAL_EXPIRING)
        .collect()
}

/// Polls until a CREDENTIAL_EXPIRING arrives (or `limit` passes); every event seen.
fn poll_for_credential_event(client: *mut FoilClient, limit: Duration) -> Vec<Owned> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    while credential_events(&seen).is_empty() && Instant::now() < deadline {
        seen.extend(drain(client));
        std::thread::sleep(Duration::from_millis(5));
    }
    seen
}

fn assert_credential_event(event: &Owned, expires_at: i64) {
    assert_eq!(
        (event.id, event.kind, event.status),
        (0, FoilEventKind::CREDENTIAL_EXPIRING, 0),
        "{event:?}"
    );
    assert_eq!(
        event.json(),
        serde_json::json!({ "expires_at": expires_at })
    );
}

fn expiry_of(token: &CString) -> i64 {
    support::jwt_expiry(token.to_str().unwrap())
}

#[test]
fn set_api_key_refuses_bad_arguments_and_keeps_the_credential() {
    let scripted = ScriptedServer::start(vec![Answer::json(200, "[]")]);
    let client = client_with(&scripted.base_url, "pk_live_x", |_| {});
    // SAFETY: the client is NULL or `client`, which comes from foil_client_new (client_with)
    // and is freed only after this block; the api_key is NULL or a NUL-terminated CString that
    // lives until the end of the statement making the call (the library copies it). NULLs are
    // allowed by the contract and must be refused.
    unsafe {
        assert_eq!(
            foil_client_set_api_key(null_mut(), cs("k").as_ptr()),
            FoilStatus::NullArgument
        );
        assert_eq!(last_status(null()), FoilStatus::NullArgument);
        assert_eq!(
            foil_client_set_api_key(client, null()),
            FoilStatus::NullArgument
        );
        assert_eq!(last_error(client), "api_key is NULL");
        for (key, status, message) in [
            (
                cs(""),
                FoilStatus::EmptyArgument,
                "api_key must not be empty",
            ),
            (
                cs(" \t "),
                FoilStatus::EmptyArgument,
                "api_key must not be empty",
            ),
            (
                CString::new(vec![b'p', b'k', 0xff]).unwrap(),
                FoilStatus::InvalidUtf8,
                "api_key is not valid UTF-8",
            ),
            (
                cs("pk\r\nX-Injected: 1"),
                FoilStatus::InvalidArgument,
                "api_key: contains characters not allowed in a header",
            ),
            (
                cs(&"k".repeat(64 * 1024 + 1)),
                FoilStatus::ArgumentTooLong,
                "api_key is longer than 65536 bytes",
            ),
        ] {
            assert_eq!(set_key(client, &key), status, "{message}");
            assert_eq!(last_status(client), status);
            assert_eq!(last_status(null()), status, "the thread's record too");
            assert!(
                last_error(client).starts_with(message),
                "{}",
                last_error(client)
            );
        }
        // Nothing was queued, and the client still works with its old key.
        assert!(drain(client).is_empty());
        let personas = wait(client, foil_list_personas(client));
        assert_eq!(
            (personas.kind, personas.status),
            (FoilEventKind::RESPONSE, 200)
        );
        assert_eq!(set_key(client, &cs("pk_live_other")), FoilStatus::Ok);
    }
    free(client);
    assert_eq!(set_key(client, &cs("k")), FoilStatus::InvalidHandle);
    assert_eq!(last_status(null()), FoilStatus::InvalidHandle);
}

#[test]
fn credential_expiring_is_queued_once_before_a_token_expires() {
    let scripted = ScriptedServer::start(vec![Answer::json(200, "[]")]);

    // A token whose refresh moment has passed: the event is queued before creation returns.
    let old = token_expiring(58, 2);
    let client = client_with(&scripted.base_url, old.to_str().unwrap(), |_| {});
    let events = drain(client);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_credential_event(&events[0], expiry_of(&old));

    // A 3-second token: nothing at once, the event 0.3 s before it expires, then no more.
    let short = token_expiring(0, 3);
    let started = Instant::now();
    assert_eq!(set_key(client, &short), FoilStatus::Ok);
    assert!(drain(client).is_empty(), "not due yet");
    let seen = poll_for_credential_event(client, Duration::from_secs(10));
    let took = started.elapsed();
    let expiring = credential_events(&seen);
    assert_eq!(expiring.len(), 1, "{seen:?}");
    assert_credential_event(expiring[0], expiry_of(&short));
    assert!(
        took > Duration::from_millis(1500) && took < Duration::from_millis(3500),
        "came after {took:?}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(drain(client).is_empty(), "once per credential");

    // Requests and the event share the queue; the event has request id 0 and never counts as
    // a request's finishing event.
    // SAFETY: a live client.
    let id = unsafe { foil_list_personas(client) };
    assert_eq!(wait(client, id).payload, "[]");
    let mut event = FoilEvent::EMPTY;
    assert_eq!(
        // SAFETY: `client` comes from foil_client_new (client_with) and is not freed yet;
        // `&mut event` points to a live local FoilEvent.
        unsafe { foil_wait(client, 0, 0, &mut event) },
        FoilStatus::UnknownRequest
    );
    free(client);
}

#[test]
fn a_replaced_credential_never_fires_and_api_keys_never_do() {
    let scripted = ScriptedServer::start(vec![Answer::json(200, "[]")]);
    // Created with a token due in ~1.8 s, then given a long-lived token at once, then an API
    // key: neither the first token's event nor any other comes.
    let first = token_expiring(0, 2);
    let client = client_with(&scripted.base_url, first.to_str().unwrap(), |_| {});
    let long = token_expiring(0, 3600);
    assert_eq!(set_key(client, &long), FoilStatus::Ok);
    let keyed = client_with(&scripted.base_url, "pk_live_x", |_| {});
    let token_then_key = client_with(&scripted.base_url, first.to_str().unwrap(), |_| {});
    assert_eq!(set_key(token_then_key, &cs("pk_live_y")), FoilStatus::Ok);
    // A refused replacement keeps the watch of the token in use.
    let kept = client_with(&scripted.base_url, first.to_str().unwrap(), |_| {});
    assert_eq!(set_key(kept, &cs("")), FoilStatus::EmptyArgument);
    std::thread::sleep(Duration::from_millis(2500));
    for c in [client, keyed, token_then_key] {
        let events = drain(c);
        assert!(credential_events(&events).is_empty(), "{events:?}");
    }
    let events = drain(kept);
    assert_eq!(credential_events(&events).len(), 1, "{events:?}");
    assert_credential_event(&events[0], expiry_of(&first));

    // Freeing with a timer pending is as quick as ever.
    let started = Instant::now();
    for c in [client, keyed, token_then_key, kept] {
        free(c);
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn credential_expiring_reaches_the_push_callback() {
    let scripted = ScriptedServer::start(vec![Answer::json(200, "[]")]);
    let client = client_with(&scripted.base_url, "pk_live_x", |_| {});
    let collected = Box::new(Collected::default());
    let user_data = &*collected as *const Collected as *mut c_void;
    // SAFETY: live client; `collected` outlives the client (freed below first).
    unsafe {
        assert_eq!(
            foil_set_event_callback(client, Some(collect), user_data),
            FoilStatus::Ok
        );
    }
    let token = token_expiring(0, 2);
    assert_eq!(set_key(client, &token), FoilStatus::Ok);
    let events = wait_collected(&collected, 1);
    assert_credential_event(&events[0].0, expiry_of(&token));
    assert_eq!(events[0].1, "foil-callback");
    free(client);
    drop(collected);
}

#[test]
fn a_fresh_token_set_on_expiring_works_against_a_real_server() {
    let server = TestServer::start();
    let persona_id = server.persona_id("Grumpy Barista");
    let player = "ffi-token-player";
    let (short, expires_at) = server.short_player_token(player, Duration::from_secs(3));
    let client = client_with(&server.base_url, &short, |c| c.max_retries = 0);
    let (persona, player_c, name, gender) = (cs(&persona_id), cs(player), cs("Ada"), cs("female"));
    // SAFETY: `client` comes from foil_client_new (client_with) and is freed only after this
    // block; `persona`, `player_c`, `name` and `gender` are NUL-terminated CStrings that outlive
    // it; the machine id is NULL, which is allowed.
    unsafe {
        let personas = wait(client, foil_list_personas(client));
        assert_eq!(personas.status, 200, "the short token works while it lasts");
        let seen = poll_for_credential_event(client, Duration::from_secs(10));
        let expiring = credential_events(&seen);
        assert_eq!(expiring.len(), 1, "{seen:?}");
        assert_credential_event(expiring[0], expires_at);
        // Past its expiry the server refuses the old token...
        while unix_now() <= expires_at {
            std::thread::sleep(Duration::from_millis(50));
        }
        // (Not the persona list: that is answered from the cache.)
        let refused = wait(
            client,
            foil_list_machines(client, persona.as_ptr(), player_c.as_ptr()),
        );
        assert_eq!(refused.status, 401, "{refused:?}");
        assert_eq!(refused.json()["code"], "player_token_expired");
        // ...and takes the fresh one from the backend.
        let (fresh, _) = server.player_token(player, 3600);
        assert_eq!(set_key(client, &cs(&fresh)), FoilStatus::Ok);
        let init = wait(
            client,
            foil_init_session(
                client,
                persona.as_ptr(),
                player_c.as_ptr(),
                name.as_ptr(),
                gender.as_ptr(),
                null(),
            ),
        );
        assert_eq!(
            (init.kind, init.status),
            (FoilEventKind::RESPONSE, 200),
            "{init:?}"
        );
        assert!(credential_events(&drain(client)).is_empty());
    }
    free(client);
}
