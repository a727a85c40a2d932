//! P8 of quality.md §1 with criterion: what the C ABI costs the caller.
//!
//! * a non-allocating call: `foil_poll_event` on an empty queue (every frame), `foil_last_status`;
//! * calls that hand out a string: `foil_last_error` copying the last message into the caller's
//!   buffer, and taking an event with a JSON payload (`foil_poll_event` + `foil_event_free`);
//! * submitting a request (argument checks and the hand-off to the client's runtime).
//!
//! Requests go to a scripted local HTTP server; the personas list is cached by the client, so
//! after the first fetch every `foil_list_personas` finishes without network I/O.
//!
//! `cargo bench -p foil-ffi --bench ffi`

#[path = "../../foil-client/tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::ffi::CString;
use std::hint::black_box;
use std::ptr::null_mut;
use std::time::{Duration, Instant};

use criterion::{criterion_main, Criterion};
use foil::*;
use support::{Answer, ScriptedServer};

const PERSONAS: &str = r#"[{"id":"6f1c1a8e-2f7b-4c1e-9a53-3d2a4a7f0b11","name":"Grumpy Barista","description":"Order a coffee from the rudest barista in town.","created_at":"2026-03-10T12:00:00Z","updated_at":"2026-03-10T12:00:00Z"}]"#;

fn new_client(base_url: &str) -> *mut FoilClient {
    let base = CString::new(base_url).unwrap();
    let key = CString::new("pk_live_0123456789abcdef0123456789abcdef").unwrap();
    let mut config = std::mem::MaybeUninit::<FoilClientConfig>::uninit();
    let mut client = null_mut();
    // SAFETY: the config is initialised before use; valid strings and out pointer.
    unsafe {
        foil_client_config_init(config.as_mut_ptr());
        let mut config = config.assume_init();
        config.base_url = base.as_ptr();
        config.api_key = key.as_ptr();
        config.max_retries = 0;
        assert_eq!(foil_client_new(&config, &mut client), FoilStatus::Ok);
    }
    client
}

/// Takes and frees every queued event until none has come for `quiet`.
fn drain(client: *mut FoilClient, quiet: Duration) -> usize {
    let mut event = FoilEvent::EMPTY;
    let mut n = 0;
    let mut last = Instant::now();
    while last.elapsed() < quiet {
        // SAFETY: live client, writable event, freed right after.
        if unsafe { foil_poll_event(client, &mut event) } {
            // SAFETY: `event` is a live local that foil_poll_event just filled (it returned
            // true) and has not been freed yet.
            unsafe { foil_event_free(&mut event) };
            n += 1;
            last = Instant::now();
        } else {
            std::thread::yield_now();
        }
    }
    n
}

fn ffi(c: &mut Criterion) {
    let server = ScriptedServer::start(vec![Answer::json(200, PERSONAS)]);
    let client = new_client(&server.base_url);
    let mut event = FoilEvent::EMPTY;

    // Fill the persona cache.
    // SAFETY: live client.
    let id = unsafe { foil_list_personas(client) };
    assert!(id > 0);
    assert_eq!(
        // SAFETY: `client` comes from foil_client_new (new_client) and is freed only at the
        // end of this function; `&mut event` points to a live local FoilEvent.
        unsafe { foil_wait(client, id, 10_000, &mut event) },
        FoilStatus::Ok
    );
    assert_eq!(event.kind, FoilEventKind::RESPONSE);
    // SAFETY: an event written by foil_wait.
    unsafe { foil_event_free(&mut event) };

    let mut group = c.benchmark_group("ffi");
    group.bench_function("foil_version", |b| b.iter(|| black_box(foil_version())));
    group.bench_function("foil_poll_event/empty_queue", |b| {
        // SAFETY: live client, writable event.
        b.iter(|| black_box(unsafe { foil_poll_event(client, &mut event) }))
    });
    group.bench_function("foil_last_status", |b| {
        // SAFETY: live client.
        b.iter(|| black_box(unsafe { foil_last_status(client) }))
    });

    // A failed call leaves a message to copy out.
    let persona = CString::new("6f1c1a8e-2f7b-4c1e-9a53-3d2a4a7f0b11").unwrap();
    let player = CString::new("bench").unwrap();
    // SAFETY: live client; the NULL message is rejected.
    let rejected = unsafe {
        foil_send_message(
            client,
            persona.as_ptr(),
            player.as_ptr(),
            null_mut(),
            null_mut(),
        )
    };
    assert_eq!(rejected, 0);
    let mut buf = [0u8; 256];
    group.bench_function("foil_last_error/copy_message", |b| {
        // SAFETY: live client; `buf` has `buf.len()` writable bytes.
        b.iter(|| black_box(unsafe { foil_last_error(client, buf.as_mut_ptr().cast(), buf.len()) }))
    });

    group.bench_function("foil_list_personas/submit_cached", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                // SAFETY: live client.
                black_box(unsafe { foil_list_personas(client) });
            }
            let elapsed = start.elapsed();
            drain(client, Duration::from_millis(20));
            elapsed
        })
    });

    group.bench_function("foil_poll_event+foil_event_free/json_payload", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                let batch = (iters - done).min(2000);
                let mut last = 0;
                for _ in 0..batch {
                    // SAFETY: live client.
                    last = unsafe { foil_list_personas(client) };
                }
                // Wait (untimed) until the batch has finished; its events stay queued.
                std::thread::sleep(Duration::from_millis(2));
                let mut finishing = FoilEvent::EMPTY;
                // SAFETY: live client, writable event, freed right after.
                if unsafe { foil_wait(client, last, 10_000, &mut finishing) } == FoilStatus::Ok {
                    // SAFETY: foil_wait returned FOIL_STATUS_OK, so it wrote `finishing` (a live
                    // local), whose payload has not been freed yet.
                    unsafe { foil_event_free(&mut finishing) };
                }
                let mut taken = 0u64;
                let start = Instant::now();
                // SAFETY: live client, writable event, freed right after.
                while taken < batch && unsafe { foil_poll_event(client, &mut event) } {
                    // SAFETY: `event` (a live local) was just filled by foil_poll_event, which
                    // returned true, and has not been freed yet.
                    unsafe { foil_event_free(&mut event) };
                    taken += 1;
                }
                total += start.elapsed();
                done += taken.max(1);
                drain(client, Duration::from_millis(1));
            }
            total
        })
    });
    group.finish();
    // SAFETY: live client, freed once.
    unsafe { foil_client_free(client) };
}

/// Runs the `ffi` benchmark group: 1 s of warm-up and 3 s of measurement per benchmark,
/// then the command-line options.
///
/// What `criterion_group!` would generate, written out because that macro's `pub fn` cannot
/// carry a doc comment.
pub fn benches() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    ffi(&mut criterion);
}
criterion_main!(benches);
