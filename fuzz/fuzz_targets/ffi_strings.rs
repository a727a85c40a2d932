//! foil-ffi's C ABI (include/foil.h) on caller-supplied strings, called through the exported
//! `extern "C"` functions with NUL-terminated copies of the input:
//! `foil_client_new` (every string of `FoilClientConfig`), the request functions
//! (`foil_list_machines`, `foil_init_session`, `foil_send_message`,
//! `foil_send_message_stream`, `foil_get_session`, `foil_get_history`, `foil_reset_session`,
//! `foil_validate_llm_key`), `foil_client_set_api_key`, `foil_cancel`, `foil_poll_event` /
//! `foil_event_free` and `foil_last_status` / `foil_last_error`.
//!
//! Input: the first byte picks the function (and the `foil_last_error` buffer size; 250 and
//! above: `foil_client_set_api_key`); the
//! rest is split at NUL bytes into its string arguments, in order: a missing argument is
//! NULL, an empty piece an empty string, and bytes are passed as they are (invalid UTF-8
//! included).
//!
//! No network: the request functions run on one client, created once, whose server is a
//! closed loopback port (`http://127.0.0.1:9`, no retries); each accepted request is
//! cancelled at once and its event freed. Clients that `foil_client_new` accepts make no
//! request and are freed straight away. Accepted calls cost threads and tasks, so only one
//! accepted input in 16 (by a hash of the input) makes the call; refused inputs always do.
//!
//! Invariants:
//! - a request function returns a request id exactly when its strings are non-NULL where
//!   required, UTF-8, and pass foil-client's `validate` rules; otherwise 0 with the client's
//!   last status set and a last-error message;
//! - `foil_client_new` accepts exactly the configs `foil_client::Client::new` accepts once
//!   the strings are read as the C layer documents (trimmed, blank = not given);
//! - an accepted request is cancelled (or has already finished) and leaves exactly its own
//!   finishing ERROR event, whose payload is NUL-terminated with the stated length;
//! - `foil_client_new` writes a handle exactly when it returns FOIL_STATUS_OK, and a failure
//!   is readable with `foil_last_status(NULL)` / `foil_last_error(NULL, ...)`;
//! - `foil_last_error` writes a NUL-terminated UTF-8 prefix of the message into any buffer;
//! - `foil_client_set_api_key` accepts exactly the keys `foil_client::Client::set_api_key`
//!   accepts; an accepted player token's CREDENTIAL_EXPIRING (if due) is a client event of
//!   request 0 with a NUL-terminated `{"expires_at": N}` payload;
//! - a made-up handle is refused with FOIL_STATUS_INVALID_HANDLE; a panic never escapes (any
//!   FOIL_STATUS_PANIC fails the run).

#![no_main]

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::sync::OnceLock;

use foil::{
    foil_cancel, foil_client_config_init, foil_client_free, foil_client_new,
    foil_client_set_api_key, foil_event_free,
    foil_get_history, foil_get_session, foil_init_session, foil_last_error, foil_last_status,
    foil_list_machines, foil_poll_event, foil_reset_session, foil_send_message,
    foil_send_message_stream, foil_validate_llm_key, FoilClient, FoilClientConfig, FoilEvent,
    FoilEventKind, FoilStatus,
};
use foil_client::{validate, ClientConfig, LlmHeaders};
use libfuzzer_sys::fuzz_target;

/// The one client the request functions run on (its handle value; handles are registry ids).
fn client() -> *mut FoilClient {
    static CLIENT: OnceLock<usize> = OnceLock::new();
    let handle = *CLIENT.get_or_init(|| {
        let mut config = std::mem::MaybeUninit::<FoilClientConfig>::uninit();
        // SAFETY: writable memory for one config.
        unsafe { foil_client_config_init(config.as_mut_ptr()) };
        // SAFETY: initialised just above.
        let mut config = unsafe { config.assume_init() };
        config.base_url = c"http://127.0.0.1:9".as_ptr();
        config.api_key = KEY.as_ptr();
        config.max_retries = 0;
        config.timeout_ms = 1000;
        let mut out: *mut FoilClient = std::ptr::null_mut();
        // SAFETY: a config with static strings and a writable out pointer.
        let status = unsafe { foil_client_new(&config, &mut out) };
        assert_eq!(
            status,
            FoilStatus::Ok,
            "the fixed client config is accepted"
        );
        out as usize
    });
    handle as *mut FoilClient
}

/// The string arguments: NUL-terminated copies, `None` for NULL.
struct Args {
    owned: Vec<Option<CString>>,
}

impl Args {
    fn new(bytes: &[u8], count: usize) -> Self {
        let mut pieces = bytes.split(|&b| b == 0);
        let owned = (0..count)
            .map(|_| {
                pieces
                    .next()
                    .map(|p| CString::new(p).expect("split at NUL bytes"))
            })
            .collect();
        Args { owned }
    }

    fn ptr(&self, i: usize) -> *const c_char {
        self.owned[i]
            .as_ref()
            .map_or(std::ptr::null(), |c| c.as_ptr())
    }

    /// The argument as foil-client's checks see it: `Err` for NULL or invalid UTF-8.
    fn text(&self, i: usize) -> Result<&str, ()> {
        match &self.owned[i] {
            Some(c) => c.to_str().map_err(|_| ()),
            None => Err(()),
        }
    }

    /// An optional argument: `Ok(None)` for NULL, `Err` for invalid UTF-8.
    fn optional(&self, i: usize) -> Result<Option<&str>, ()> {
        match &self.owned[i] {
            Some(c) => c.to_str().map(Some).map_err(|_| ()),
            None => Ok(None),
        }
    }
}

/// Reads the last error through `foil_last_error` into a `buf_len`-byte buffer and checks it.
fn check_last_error(client: *const FoilClient, buf_len: usize) -> String {
    // SAFETY: NULL buffer, length only.
    let full_len = unsafe { foil_last_error(client, std::ptr::null_mut(), 0) };
    let mut full = vec![0u8; full_len + 1];
    // SAFETY: a buffer of full_len + 1 bytes.
    let n = unsafe { foil_last_error(client, full.as_mut_ptr().cast(), full.len()) };
    assert_eq!(n, full_len);
    let message = CStr::from_bytes_until_nul(&full)
        .expect("NUL-terminated")
        .to_str()
        .expect("UTF-8")
        .to_string();
    assert_eq!(message.len(), full_len);

    let mut small = vec![0xAAu8; buf_len];
    // SAFETY: a buffer of buf_len bytes.
    let n = unsafe { foil_last_error(client, small.as_mut_ptr().cast(), buf_len) };
    assert_eq!(n, full_len);
    if buf_len > 0 {
        let prefix = CStr::from_bytes_until_nul(&small)
            .expect("NUL-terminated within the buffer")
            .to_str()
            .expect("a UTF-8 prefix");
        assert!(
            message.starts_with(prefix),
            "{prefix:?} is not a prefix of {message:?}"
        );
        if message.len() < buf_len {
            assert_eq!(prefix, message, "cut although it fits");
        } else {
            // Cut at the last character boundary that fits: less than one character short.
            assert!(prefix.len() < buf_len && prefix.len() + 4 > buf_len - 1);
        }
    } else {
        assert!(small.is_empty());
    }
    message
}

/// Whether `foil_client_new` should accept the config strings: its reading of them (api_key
/// required, the other strings trimmed, blank ones not given, base_url defaulted) and then
/// [`foil_client::Client::new`], which makes the checks and builds the HTTP client but starts
/// no threads.
fn client_expected(args: &Args) -> bool {
    let text = |i| -> Result<Option<String>, ()> {
        Ok(args
            .optional(i)?
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string))
    };
    let config = || -> Result<ClientConfig, ()> {
        Ok(ClientConfig {
            base_url: text(0)?.unwrap_or_else(|| foil_client::DEFAULT_BASE_URL.to_string()),
            api_key: args.text(1)?.to_string(),
            llm: LlmHeaders {
                api_key: text(2)?,
                model: text(3)?,
                eval_model: text(4)?,
                response_model: text(5)?,
                summarization_model: text(6)?,
                eval_api_key: text(7)?,
                response_api_key: text(8)?,
                summarization_api_key: text(9)?,
            },
            ..ClientConfig::default()
        })
    };
    config().is_ok_and(|c| foil_client::Client::new(c).is_ok())
}

/// `foil_client_new` with every config string from the input.
fn client_new(args: &Args, buf_len: usize, sampled: bool) {
    let expected = client_expected(args);
    if expected && !sampled {
        return;
    }
    let mut config = std::mem::MaybeUninit::<FoilClientConfig>::uninit();
    // SAFETY: writable memory for one config.
    unsafe { foil_client_config_init(config.as_mut_ptr()) };
    // SAFETY: initialised just above.
    let mut config = unsafe { config.assume_init() };
    config.base_url = args.ptr(0);
    config.api_key = args.ptr(1);
    config.llm_api_key = args.ptr(2);
    config.llm_model = args.ptr(3);
    config.llm_eval_model = args.ptr(4);
    config.llm_response_model = args.ptr(5);
    config.llm_summarization_model = args.ptr(6);
    config.llm_eval_api_key = args.ptr(7);
    config.llm_response_api_key = args.ptr(8);
    config.llm_summarization_api_key = args.ptr(9);
    let mut out: *mut FoilClient = std::ptr::null_mut();
    // SAFETY: the strings are NULL or NUL-terminated and outlive the call.
    let status = unsafe { foil_client_new(&config, &mut out) };
    assert_ne!(
        status,
        FoilStatus::Panic,
        "foil_client_new panicked: {}",
        check_last_error(std::ptr::null(), 256)
    );
    if status == FoilStatus::Ok {
        assert!(!out.is_null());
        // SAFETY: a live client.
        unsafe { foil_client_free(out) };
        assert!(
            expected,
            "foil_client_new accepted what foil_client::Client::new refuses"
        );
    } else {
        assert!(out.is_null(), "a handle written on failure");
        // SAFETY: NULL client: the thread's record.
        assert_eq!(unsafe { foil_last_status(std::ptr::null()) }, status);
        let message = check_last_error(std::ptr::null(), buf_len);
        assert!(!message.is_empty(), "no message for {status:?}");
        assert!(
            !expected,
            "foil_client_new refused what foil_client::Client::new accepts: {status:?} {message}"
        );
    }
}

/// Cancels an accepted request and frees its event(s), checking them.
fn finish(client: *mut FoilClient, id: u64) {
    // SAFETY: a live client.
    let status = unsafe { foil_cancel(client, id) };
    assert!(
        matches!(status, FoilStatus::Ok | FoilStatus::UnknownRequest),
        "foil_cancel: {status:?}"
    );
    let mut events = 0;
    loop {
        let mut event = FoilEvent::EMPTY;
        // SAFETY: a live client and a writable event.
        if !unsafe { foil_poll_event(client, &mut event) } {
            break;
        }
        events += 1;
        assert_eq!(event.request_id, id);
        assert_eq!(event.kind, FoilEventKind::ERROR);
        assert!(!event.payload.is_null());
        // SAFETY: a payload handed out by foil_poll_event, NUL-terminated.
        let payload = unsafe { CStr::from_ptr(event.payload) };
        assert_eq!(payload.to_bytes().len(), event.payload_len);
        // SAFETY: an event filled by foil_poll_event.
        unsafe { foil_event_free(&mut event) };
        assert!(event.payload.is_null());
    }
    if status == FoilStatus::Ok {
        assert_eq!(
            events, 1,
            "a cancelled request leaves exactly its ERROR event"
        );
    }
}

/// The key the shared client is created with, and given back after each key change.
const KEY: &CStr = c"pk_live_0123456789abcdef0123456789abcdef";

/// `foil_client_set_api_key` on the shared client with the input's first string; then the
/// usual key again, with any CREDENTIAL_EXPIRING event drained.
fn set_api_key(args: &Args, buf_len: usize) {
    // The oracle: foil-client's own check of a replacement key, on a client of its own.
    static ORACLE: OnceLock<foil_client::Client> = OnceLock::new();
    let oracle = ORACLE.get_or_init(|| {
        foil_client::Client::new(
            ClientConfig::new(KEY.to_str().expect("UTF-8"))
                .with_base_url("http://127.0.0.1:9"),
        )
        .expect("a valid config")
    });
    let expected = args
        .text(0)
        .map_err(|_| ())
        .and_then(|key| oracle.set_api_key(key).map_err(|_| ()));
    let client = client();
    // SAFETY: a live client; the string is NULL or NUL-terminated and outlives the call.
    let status = unsafe { foil_client_set_api_key(client, args.ptr(0)) };
    assert_ne!(status, FoilStatus::Panic, "foil_client_set_api_key panicked");
    assert_eq!(
        status == FoilStatus::Ok,
        expected.is_ok(),
        "foil_client_set_api_key: {status:?}, foil-client: {expected:?}"
    );
    if status != FoilStatus::Ok {
        assert!(!check_last_error(client, buf_len).is_empty());
    }
    // SAFETY: a live client and a static NUL-terminated key.
    assert_eq!(
        unsafe { foil_client_set_api_key(client, KEY.as_ptr()) },
        FoilStatus::Ok
    );
    loop {
        let mut event = FoilEvent::EMPTY;
        // SAFETY: a live client and a writable event.
        if !unsafe { foil_poll_event(client, &mut event) } {
            break;
        }
        assert_eq!(event.request_id, 0);
        assert_eq!(event.kind, FoilEventKind::CREDENTIAL_EXPIRING);
        // SAFETY: a payload handed out by foil_poll_event, NUL-terminated.
        let payload = unsafe { CStr::from_ptr(event.payload) }.to_str().expect("UTF-8");
        assert!(payload.starts_with(r#"{"expires_at":"#), "{payload}");
        // SAFETY: an event filled by foil_poll_event.
        unsafe { foil_event_free(&mut event) };
    }
}

/// Accepted calls are costly (a client's runtime threads, a task and its cancellation), so
/// only one accepted input in [`SAMPLE`] (chosen by a hash of the input, so a rerun of an
/// input does the same) makes the call; refused ones always do. The rest still check
/// foil-client's rules on the input.
const SAMPLE: u32 = 16;

fn sampled(data: &[u8]) -> bool {
    let mut hash: u32 = 0x811c_9dc5;
    for &b in data {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    hash % SAMPLE == 0
}

/// Which argument checks a request function makes: foil-client's `validate` rules on the
/// strings, after the NULL and UTF-8 checks of the C layer.
fn expected(mode: u8, args: &Args) -> Result<(), ()> {
    let t = |i| args.text(i);
    let o = |i| args.optional(i);
    let result = match mode {
        1 | 9 => validate::list_machines(t(0)?, t(1)?),
        2 => validate::init_session(t(0)?, t(1)?, t(2)?, t(3)?, o(4)?),
        3 | 4 => validate::send_message(t(0)?, t(1)?, t(2)?, o(3)?),
        5..=7 => validate::session(t(0)?, t(1)?, o(2)?),
        _ => validate::validate_llm_key(o(0)?),
    };
    result.map_err(|_| ())
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mode = selector % 10;
    let buf_len = usize::from(selector / 10);
    let sampled = sampled(data);

    if selector >= 250 {
        set_api_key(&Args::new(rest, 1), buf_len);
        return;
    }

    if mode == 0 {
        client_new(&Args::new(rest, 10), buf_len, sampled);
        return;
    }

    // A made-up handle (mode 9) is never a live one: live handles are small counters.
    let client = if mode == 9 {
        let mut bytes = [0u8; 8];
        for (slot, byte) in bytes.iter_mut().zip(rest) {
            *slot = *byte;
        }
        (u64::from_le_bytes(bytes) | (1 << 40)) as usize as *mut FoilClient
    } else {
        client()
    };
    let args = Args::new(rest, 5);
    let expected = expected(mode, &args);
    if mode != 9 && expected.is_ok() && !sampled {
        return;
    }
    let a = |i| args.ptr(i);
    // SAFETY (every call): the strings are NULL or NUL-terminated and outlive the call;
    // `client` is a live client or a made-up handle, which is detected, never dereferenced.
    let id = unsafe {
        match mode {
            1 | 9 => foil_list_machines(client, a(0), a(1)),
            2 => foil_init_session(client, a(0), a(1), a(2), a(3), a(4)),
            3 => foil_send_message(client, a(0), a(1), a(2), a(3)),
            4 => foil_send_message_stream(client, a(0), a(1), a(2), a(3)),
            5 => foil_get_session(client, a(0), a(1), a(2)),
            6 => foil_get_history(client, a(0), a(1), a(2)),
            7 => foil_reset_session(client, a(0), a(1), a(2)),
            _ => foil_validate_llm_key(client, a(0)),
        }
    };

    if mode == 9 {
        assert_eq!(id, 0, "a made-up handle was accepted");
        // SAFETY: the made-up handle is not live, so this reads the thread's record.
        assert_eq!(
            unsafe { foil_last_status(client) },
            FoilStatus::InvalidHandle
        );
        return;
    }
    if id != 0 {
        assert!(
            expected.is_ok(),
            "mode {mode}: accepted arguments foil-client refuses"
        );
        finish(client, id);
    } else {
        // SAFETY: a live client.
        let status = unsafe { foil_last_status(client) };
        let message = check_last_error(client, buf_len);
        assert_ne!(
            status,
            FoilStatus::Panic,
            "mode {mode}: panicked: {message}"
        );
        assert!(
            expected.is_err(),
            "mode {mode}: refused valid arguments: {status:?} {message}"
        );
        assert_ne!(status, FoilStatus::Ok);
        assert!(!message.is_empty());
    }
});
