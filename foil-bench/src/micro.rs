//! P8 (the C ABI of `foil-ffi`, called as a game would, against the running server) and P9
//! (the server's rate-limit check). Both are plain timing loops; `cargo bench -p foil-ffi
//! --bench ffi` and `cargo bench -p foil-bench --bench rate_limit` measure the same calls with
//! criterion.

use std::collections::HashMap;
use std::ffi::CString;
use std::hint::black_box;
use std::net::IpAddr;
use std::ptr::null_mut;
use std::time::{Duration, Instant};

use foil::{
    foil_client_config_init, foil_client_free, foil_client_new, foil_event_free, foil_init_session,
    foil_last_error, foil_last_status, foil_list_personas, foil_poll_event, foil_send_message,
    foil_send_message_stream, foil_wait, FoilClient, FoilClientConfig, FoilEvent, FoilEventKind,
    FoilStatus,
};
use foil_server::rate_limit::{Category, CategoryLimit, RateLimitConfig, RateLimiter};
use futures_util::FutureExt;
use hdrhistogram::Histogram;
use serde_json::json;

use crate::report::Row;
use crate::scenarios::Outcome;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Nanoseconds per call of `f`, the median of `rounds` rounds of `iters` calls.
fn ns_per_call(rounds: usize, iters: u64, mut f: impl FnMut(u64)) -> f64 {
    // Warm-up.
    for i in 0..iters.min(10_000) {
        f(i);
    }
    let per_round: Vec<f64> = (0..rounds.max(1))
        .map(|_| {
            let start = Instant::now();
            for i in 0..iters {
                f(i);
            }
            start.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    median(per_round)
}

fn ns_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("histogram")
}

struct Client(*mut FoilClient);

impl Client {
    fn new(base: &str, api_key: &str) -> anyhow::Result<Client> {
        let base = CString::new(base)?;
        let key = CString::new(api_key)?;
        let mut config = std::mem::MaybeUninit::<FoilClientConfig>::uninit();
        let mut client = null_mut();
        // SAFETY: the config is initialised by foil_client_config_init before use; the strings
        // outlive the call (the client copies them).
        let status = unsafe {
            foil_client_config_init(config.as_mut_ptr());
            let mut config = config.assume_init();
            config.base_url = base.as_ptr();
            config.api_key = key.as_ptr();
            config.max_retries = 0;
            config.timeout_ms = 30_000;
            foil_client_new(&config, &mut client)
        };
        anyhow::ensure!(status == FoilStatus::Ok, "foil_client_new: {status:?}");
        Ok(Client(client))
    }

    /// Blocks for the finishing event of `id` (tools only; not timed).
    fn wait(&self, id: u64) -> Option<(FoilEventKind, String)> {
        let mut event = FoilEvent::EMPTY;
        // SAFETY: live client, writable event.
        let status = unsafe { foil_wait(self.0, id, 30_000, &mut event) };
        if status != FoilStatus::Ok {
            return None;
        }
        let payload = payload_of(&event);
        let kind = event.kind;
        // SAFETY: an event written by foil_wait.
        unsafe { foil_event_free(&mut event) };
        Some((kind, payload))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: a live client, freed once.
        unsafe { foil_client_free(self.0) };
    }
}

fn payload_of(event: &FoilEvent) -> String {
    if event.payload.is_null() {
        return String::new();
    }
    // SAFETY: the library hands out `payload_len` valid bytes.
    let bytes =
        unsafe { std::slice::from_raw_parts(event.payload as *const u8, event.payload_len) };
    String::from_utf8_lossy(bytes).into_owned()
}

fn is_finishing(kind: FoilEventKind) -> bool {
    matches!(
        kind,
        FoilEventKind::RESPONSE | FoilEventKind::STREAM_DONE | FoilEventKind::ERROR
    )
}

/// P8: FFI call costs, and the longest any call blocks a simulated game loop.
/// How P8c's game loop runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GameLoop {
    /// How long.
    pub(crate) secs: f64,
    /// Pin the game thread to this CPU (`--pin-game-thread`).
    pub(crate) pin_to_cpu: Option<usize>,
}

/// The calling thread's context switches so far: (voluntary, involuntary).
fn context_switches() -> (i64, i64) {
    // SAFETY: getrusage writes one `rusage` into the zeroed struct we own.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut usage);
        (usage.ru_nvcsw, usage.ru_nivcsw)
    }
}

/// Pins the calling thread to `cpu`.
fn pin_current_thread(cpu: usize) -> anyhow::Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET and sched_setaffinity read and
    // write only that set (pid 0: the calling thread).
    let status = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    anyhow::ensure!(
        status == 0,
        "cannot pin the game thread to CPU {cpu}: {}",
        std::io::Error::last_os_error()
    );
    Ok(())
}

/// Why the calls over 100 µs were slow, from the thread's context switches during each, and
/// which calls they were.
#[derive(Debug, Default)]
struct SlowCalls {
    /// By function: (name, count).
    by_call: Vec<(&'static str, u64)>,
    /// Descheduled by the kernel (involuntary switch): the machine, not the library.
    preempted: u64,
    /// Went to sleep (voluntary switch: a contended lock, a page fault, a syscall that blocks).
    blocked: u64,
    /// Neither: on the CPU the whole time.
    on_cpu: u64,
}

pub(crate) fn p8(
    base: &str,
    api_key: &str,
    persona_id: &str,
    rounds: usize,
    iters: u64,
    game_loop: GameLoop,
) -> anyhow::Result<Outcome> {
    let loop_secs = game_loop.secs;
    let client = Client::new(base, api_key)?;
    let c = client.0;
    let mut event = FoilEvent::EMPTY;

    // A non-allocating call: polling an empty queue (what a game does every frame).
    let poll_empty_ns = ns_per_call(rounds, iters, |_| {
        // SAFETY: live client, writable event.
        black_box(unsafe { foil_poll_event(c, &mut event) });
    });
    let last_status_ns = ns_per_call(rounds, iters, |_| {
        // SAFETY: live client.
        black_box(unsafe { foil_last_status(c) });
    });

    // A call that returns a string: the last error's message, copied into the caller's buffer.
    let persona = CString::new(persona_id)?;
    let player = CString::new("ffi-bench")?;
    // SAFETY: live client; a NULL message is rejected (and recorded as the last error).
    let rejected =
        unsafe { foil_send_message(c, persona.as_ptr(), player.as_ptr(), null_mut(), null_mut()) };
    anyhow::ensure!(rejected == 0, "a NULL message was accepted");
    let mut buf = [0u8; 256];
    let last_error_ns = ns_per_call(rounds, iters, |_| {
        // SAFETY: live client; `buf` has `buf.len()` writable bytes.
        black_box(unsafe { foil_last_error(c, buf.as_mut_ptr().cast(), buf.len()) });
    });

    // Taking an event with a string payload, and freeing it: personas lists (cached by the
    // client after the first, so they finish at once).
    // SAFETY: live client.
    let first = unsafe { foil_list_personas(c) };
    anyhow::ensure!(client.wait(first).is_some(), "list personas failed");
    let instant_ns = ns_per_call(1, 100_000, |_| {
        black_box(Instant::now());
    });
    let mut take_hist = ns_histogram();
    let batches = (iters / 100_000).clamp(2, 20);
    for _ in 0..batches {
        let ids: Vec<u64> = (0..1000)
            // SAFETY: live client.
            .map(|_| unsafe { foil_list_personas(c) })
            .collect();
        anyhow::ensure!(ids.iter().all(|&id| id > 0), "list personas rejected");
        std::thread::sleep(Duration::from_millis(30));
        let mut got = 0;
        let deadline = Instant::now() + Duration::from_secs(10);
        while got < ids.len() && Instant::now() < deadline {
            let start = Instant::now();
            // SAFETY: live client, writable event; the event is freed right after.
            let some = unsafe { foil_poll_event(c, &mut event) };
            if some {
                // SAFETY: `event` is a live local FoilEvent that foil_poll_event just filled
                // (it returned true); its payload has not been freed yet, and this frees it once.
                unsafe { foil_event_free(&mut event) };
                let ns = start.elapsed().as_nanos() as u64;
                let _ = take_hist.record(ns.saturating_sub(instant_ns as u64).max(1));
                got += 1;
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    let take_p50 = take_hist.value_at_quantile(0.5) as f64;
    let take_p99 = take_hist.value_at_quantile(0.99) as f64;

    // Submitting a request (argument checks, hand-off to the client's runtime).
    let message = CString::new("Hello! One coffee, please.")?;
    let submit_ns = {
        let n = 2000u64;
        let start = Instant::now();
        for _ in 0..n {
            // SAFETY: live client, valid strings.
            black_box(unsafe { foil_list_personas(c) });
        }
        start.elapsed().as_nanos() as f64 / n as f64
    };
    drain(c);

    // The game loop: streamed turns of several players, events drained every "frame" (1 ms),
    // every FFI call timed.
    let players: Vec<CString> = (0..8)
        .map(|i| CString::new(format!("ffi-player-{i}")).expect("no NUL"))
        .collect();
    let (name, gender) = (CString::new("Ffi")?, CString::new("female")?);
    for p in &players {
        // SAFETY: live client, valid strings; NULL machine id means the primary machine.
        let id = unsafe {
            foil_init_session(
                c,
                persona.as_ptr(),
                p.as_ptr(),
                name.as_ptr(),
                gender.as_ptr(),
                null_mut(),
            )
        };
        anyhow::ensure!(id > 0, "init session rejected");
        match client.wait(id) {
            Some((FoilEventKind::RESPONSE, _)) => {}
            other => anyhow::bail!("init session failed: {other:?}"),
        }
    }
    drain(c);
    if let Some(cpu) = game_loop.pin_to_cpu {
        pin_current_thread(cpu)?;
    }
    let mut calls = ns_histogram();
    let mut slow = SlowCalls::default();
    let mut busy: HashMap<u64, usize> = HashMap::new();
    let mut free: Vec<usize> = (0..players.len()).collect();
    let (mut turns, mut deltas, mut errors, mut frames) = (0u64, 0u64, 0u64, 0u64);
    let end = Instant::now() + Duration::from_secs_f64(loop_secs);
    let mut timed = |call: &'static str, f: &mut dyn FnMut()| {
        let before = context_switches();
        let start = Instant::now();
        f();
        let ns = (start.elapsed().as_nanos() as u64).max(1);
        let after = context_switches();
        let _ = calls.record(ns);
        if ns > 100_000 {
            match slow.by_call.iter_mut().find(|(name, _)| *name == call) {
                Some((_, count)) => *count += 1,
                None => slow.by_call.push((call, 1)),
            }
            if after.1 > before.1 {
                slow.preempted += 1;
            } else if after.0 > before.0 {
                slow.blocked += 1;
            } else {
                slow.on_cpu += 1;
            }
        }
    };
    while Instant::now() < end {
        frames += 1;
        while let Some(p) = free.pop() {
            let mut id = 0;
            timed("foil_send_message_stream", &mut || {
                // SAFETY: `c` is the handle foil_client_new returned for `client`, which is
                // only dropped after this loop; `persona`, `players[p]` and `message` are
                // NUL-terminated CStrings that outlive the call (the library copies them); a
                // NULL machine id is allowed.
                id = unsafe {
                    foil_send_message_stream(
                        c,
                        persona.as_ptr(),
                        players[p].as_ptr(),
                        message.as_ptr(),
                        null_mut(),
                    )
                }
            });
            if id == 0 {
                errors += 1;
                free.push(p);
                break;
            }
            busy.insert(id, p);
        }
        if frames % 50 == 0 {
            timed("foil_list_personas", &mut || {
                // SAFETY: `c` is the handle foil_client_new returned for `client`, which is
                // only dropped after this loop.
                black_box(unsafe { foil_list_personas(c) });
            });
        }
        loop {
            let mut some = false;
            timed("foil_poll_event", &mut || {
                // SAFETY: live client, writable event.
                some = unsafe { foil_poll_event(c, &mut event) }
            });
            if !some {
                break;
            }
            let (kind, id) = (event.kind, event.request_id);
            match kind {
                FoilEventKind::TEXT_DELTA => deltas += 1,
                FoilEventKind::STREAM_DONE => turns += 1,
                FoilEventKind::ERROR => errors += 1,
                _ => {}
            }
            // SAFETY: an event written by foil_poll_event.
            timed("foil_event_free", &mut || unsafe {
                foil_event_free(&mut event)
            });
            if is_finishing(kind) {
                if let Some(p) = busy.remove(&id) {
                    free.push(p);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(client);

    let max_us = calls.max() as f64 / 1000.0;
    let over_100us = calls.count_between(100_001, u64::MAX);
    let rows = vec![
        Row::new(
            "P8a",
            "FFI non-allocating call (foil_poll_event, empty queue)",
            format!("{poll_empty_ns:.0} ns (foil_last_status {last_status_ns:.0} ns)"),
            "≤ 100 ns",
            Some(poll_empty_ns <= 100.0),
        ),
        Row::new(
            "P8b",
            "FFI call returning a string (foil_last_error copy; poll+free of a payload event)",
            format!(
                "{last_error_ns:.0} ns; poll+free p50 {take_p50:.0} ns / p99 {take_p99:.0} ns"
            ),
            "≤ 1 µs",
            Some(last_error_ns <= 1000.0 && take_p50 <= 1000.0),
        ),
        Row::new(
            "P8c",
            format!(
                "longest FFI call in a {loop_secs:.1} s game loop ({} calls, {turns} streamed turns{})",
                calls.len(),
                match game_loop.pin_to_cpu {
                    Some(cpu) => format!(", game thread pinned to CPU {cpu}"),
                    None => String::new(),
                }
            ),
            format!(
                "max {max_us:.1} µs, p99.9 {:.1} µs, {over_100us} calls > 100 µs ({} preempted, {} blocked, {} on CPU; {}); submit {submit_ns:.0} ns",
                calls.value_at_quantile(0.999) as f64 / 1000.0,
                slow.preempted,
                slow.blocked,
                slow.on_cpu,
                slow.by_call
                    .iter()
                    .map(|(name, count)| format!("{count} {name}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            "≤ 0.1 ms",
            Some(max_us <= 100.0 && errors == 0),
        ),
    ];
    let detail = json!({
        "poll_empty_ns": poll_empty_ns,
        "last_status_ns": last_status_ns,
        "last_error_copy_ns": last_error_ns,
        "poll_and_free_payload_ns": {"p50": take_p50, "p99": take_p99, "max": take_hist.max(), "samples": take_hist.len(), "instant_overhead_ns": instant_ns},
        "submit_request_ns": submit_ns,
        "game_loop": {
            "secs": loop_secs,
            "frames": frames,
            "calls": calls.len(),
            "streamed_turns": turns,
            "text_deltas": deltas,
            "errors": errors,
            "call_ns": {
                "p50": calls.value_at_quantile(0.5),
                "p99": calls.value_at_quantile(0.99),
                "p99_9": calls.value_at_quantile(0.999),
                "p99_99": calls.value_at_quantile(0.9999),
                "max": calls.max(),
            },
            "calls_over_100us": over_100us,
            "slow_calls": {"preempted": slow.preempted, "blocked": slow.blocked, "on_cpu": slow.on_cpu, "by_call": slow.by_call.iter().map(|(name, count)| json!({"call": name, "count": count})).collect::<Vec<_>>()},
            "pinned_cpu": game_loop.pin_to_cpu,
        },
    });
    Ok((rows, detail))
}

fn drain(c: *mut FoilClient) {
    let mut event = FoilEvent::EMPTY;
    let quiet_until = Instant::now() + Duration::from_millis(300);
    let hard_end = Instant::now() + Duration::from_secs(10);
    let mut last_event = Instant::now();
    while Instant::now() < hard_end {
        // SAFETY: live client, writable event.
        if unsafe { foil_poll_event(c, &mut event) } {
            // SAFETY: an event written by foil_poll_event.
            unsafe { foil_event_free(&mut event) };
            last_event = Instant::now();
        } else if Instant::now() > quiet_until && last_event.elapsed() > Duration::from_millis(200)
        {
            break;
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// P9: the rate-limit check, through the server's public `RateLimiter`.
pub(crate) fn p9(rounds: usize, iters: u64) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Allowing: the common case. The limiter still does its full bookkeeping.
    let config = RateLimitConfig {
        sdk_chat: CategoryLimit::per_minute(1_000_000_000),
        general: CategoryLimit::per_minute(1_000_000_000),
        max_tracked_keys: 100_000,
        ..RateLimitConfig::default()
    };
    let limiter = runtime.block_on(RateLimiter::new(&config));
    let keys: Vec<String> = (0..10_000)
        .map(|i| format!("0b6a3f4e-7c1d-4e8a-9f00-{i:012}"))
        .collect();
    let hot = keys[0].clone();
    let hot_ns = ns_per_call(rounds, iters, |_| {
        black_box(limiter.check_local(Category::SdkChat, &hot)).ok();
    });
    let spread_ns = ns_per_call(rounds, iters, |i| {
        black_box(limiter.check_local(Category::SdkChat, &keys[(i % 10_000) as usize])).ok();
    });
    let async_ns = ns_per_call(rounds, iters, |i| {
        let key = &keys[(i % 10_000) as usize];
        black_box(limiter.check(Category::SdkChat, key).now_or_never()).map(|r| r.ok());
    });
    let ips: Vec<IpAddr> = (0..10_000u32)
        .map(|i| IpAddr::from([10, (i >> 16) as u8, (i >> 8) as u8, i as u8]))
        .collect();
    let ip_ns = ns_per_call(rounds, iters, |i| {
        black_box(
            limiter
                .check_ip(Category::General, ips[(i % 10_000) as usize])
                .now_or_never(),
        )
        .map(|r| r.ok());
    });
    // The rejecting path (a key over its limit).
    let strict = RateLimitConfig {
        sdk_chat: CategoryLimit::per_minute(1),
        ..RateLimitConfig::default()
    };
    let strict = runtime.block_on(RateLimiter::new(&strict));
    let _ = strict.check_local(Category::SdkChat, &hot);
    let reject_ns = ns_per_call(rounds, iters, |_| {
        black_box(strict.check_local(Category::SdkChat, &hot)).ok();
    });
    let worst = hot_ns.max(spread_ns).max(async_ns).max(ip_ns);
    let rows = vec![Row::new(
        "P9",
        "rate-limit check (RateLimiter, in memory; 10k keys)",
        format!(
            "{spread_ns:.0} ns (hot key {hot_ns:.0}, async check {async_ns:.0}, per-IP {ip_ns:.0}, rejecting {reject_ns:.0})"
        ),
        "≤ 1 µs",
        Some(worst <= 1000.0),
    )];
    let detail = json!({
        "check_local_hot_key_ns": hot_ns,
        "check_local_10k_keys_ns": spread_ns,
        "check_async_10k_keys_ns": async_ns,
        "check_ip_10k_ips_ns": ip_ns,
        "check_local_rejecting_ns": reject_ns,
        "rounds": rounds,
        "iterations_per_round": iters,
    });
    Ok((rows, detail))
}
