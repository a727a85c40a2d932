//! Creating and freeing clients many times with requests in flight (as Unity does on every
//! Play-mode entry): every free returns within its bound, no thread and no memory is left
//! behind, and a new client works afterwards.
//!
//! Its own test binary, so that no other test's threads disturb the thread count.

#![cfg(target_os = "linux")]

#[path = "../../foil-client/tests/support/mod.rs"]
mod support;

use std::ffi::CString;
use std::ptr::null_mut;
use std::time::{Duration, Instant};

use foil::*;
use support::{Answer, ScriptedServer, SilentServer};

/// `Threads:` / `VmRSS:` (kB) of /proc/self/status.
fn proc_status(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} missing"))
}

fn new_client(base_url: &CString, key: &CString) -> *mut FoilClient {
    let mut config = std::mem::MaybeUninit::<FoilClientConfig>::uninit();
    let mut client = null_mut();
    // SAFETY: the config is initialised before use; valid strings and out pointer.
    unsafe {
        foil_client_config_init(config.as_mut_ptr());
        let mut config = config.assume_init();
        config.base_url = base_url.as_ptr();
        config.api_key = key.as_ptr();
        config.timeout_ms = 10_000;
        config.max_retries = 0;
        assert_eq!(foil_client_new(&config, &mut client), FoilStatus::Ok);
    }
    client
}

#[test]
fn create_and_free_two_hundred_times_with_requests_in_flight() {
    let silent = SilentServer::start();
    let base = CString::new(silent.base_url.clone()).unwrap();
    let key = CString::new("pk_live_x").unwrap();
    let (persona, player, text) = (
        CString::new("6f1c1a8e-2f7b-4c1e-9a53-3d2a4a7f0b11").unwrap(),
        CString::new("p").unwrap(),
        CString::new("hello").unwrap(),
    );

    // Warm up once (lazy statics, allocator arenas), then take the baseline.
    let client = new_client(&base, &key);
    // SAFETY: live client.
    unsafe { foil_client_free(client) };
    let threads_before = proc_status("Threads:");
    let rss_before = proc_status("VmRSS:");

    let mut slowest = Duration::ZERO;
    for round in 0..200 {
        let connected = silent.accepted();
        let client = new_client(&base, &key);
        // SAFETY: live client, valid strings.
        unsafe {
            assert!(foil_list_personas(client) > 0);
            assert!(
                foil_send_message_stream(
                    client,
                    persona.as_ptr(),
                    player.as_ptr(),
                    text.as_ptr(),
                    std::ptr::null()
                ) > 0
            );
            assert!(
                foil_get_history(client, persona.as_ptr(), player.as_ptr(), std::ptr::null()) > 0
            );
        }
        if round % 10 == 0 {
            // Now and then, free only once the requests hold open connections.
            let deadline = Instant::now() + Duration::from_secs(10);
            while silent.accepted() < connected + 3 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            assert!(
                silent.accepted() >= connected + 3,
                "the requests never connected"
            );
        }
        let started = Instant::now();
        // SAFETY: live client.
        unsafe { foil_client_free(client) };
        slowest = slowest.max(started.elapsed());
    }
    assert!(
        slowest < Duration::from_secs(4),
        "a free took {slowest:?} (bound: the 2 s shutdown timeout plus slack)"
    );
    assert_eq!(live_clients(), 0);
    assert_eq!(outstanding_payloads(), 0);
    let threads_after = proc_status("Threads:");
    assert!(
        threads_after <= threads_before + 2,
        "threads: {threads_before} before, {threads_after} after 200 clients"
    );
    let rss_after = proc_status("VmRSS:");
    assert!(
        rss_after < rss_before + 64 * 1024,
        "RSS grew from {rss_before} kB to {rss_after} kB over 200 clients"
    );

    // A client made afterwards works.
    let scripted = ScriptedServer::start(vec![Answer::json(200, "[]")]);
    let base = CString::new(scripted.base_url.clone()).unwrap();
    let client = new_client(&base, &key);
    let mut event = FoilEvent::EMPTY;
    // SAFETY: live client, valid out pointer.
    unsafe {
        let id = foil_list_personas(client);
        assert_eq!(foil_wait(client, id, 30_000, &mut event), FoilStatus::Ok);
        assert_eq!(event.kind, FoilEventKind::RESPONSE);
        assert_eq!(outstanding_payloads(), 1);
        foil_event_free(&mut event);
        assert_eq!(outstanding_payloads(), 0);
        foil_client_free(client);
    }
}
