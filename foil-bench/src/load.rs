//! The open-loop load generator.
//!
//! A pacer thread wakes at each request's *intended* send time (`start + i / rate`) and spawns
//! the request on the runtime; its latency is measured from that intended time, not from when
//! it actually went out, so a server that stalls cannot hide its tail by slowing the generator
//! down (coordinated omission). The service time (from the moment the request task started)
//! is kept as well. Latencies go into HdrHistograms in microseconds.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::{json, Value};

/// Latencies up to 10 minutes, 3 significant digits, in microseconds.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// Percentiles of a histogram, in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub(crate) struct Percentiles {
    pub count: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Percentiles {
    pub(crate) fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }

    /// `self − base`, percentile by percentile (the server's overhead when `self` went
    /// through the server and `base` straight to the mock).
    pub(crate) fn minus(&self, base: &Percentiles) -> Overhead {
        Overhead {
            p50_ms: self.p50_ms - base.p50_ms,
            p95_ms: self.p95_ms - base.p95_ms,
            p99_ms: self.p99_ms - base.p99_ms,
            ratio_p50: if base.p50_ms > 0.0 {
                self.p50_ms / base.p50_ms
            } else {
                0.0
            },
        }
    }
}

/// An overhead: through-server minus direct-to-mock, per percentile.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub(crate) struct Overhead {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// through p50 / direct p50.
    pub ratio_p50: f64,
}

impl Overhead {
    /// The median of several rounds, percentile by percentile.
    pub(crate) fn median(rounds: &[Overhead]) -> Overhead {
        let med = |f: fn(&Overhead) -> f64| {
            let mut v: Vec<f64> = rounds.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            if v.is_empty() {
                0.0
            } else {
                v[v.len() / 2]
            }
        };
        Overhead {
            p50_ms: med(|o| o.p50_ms),
            p95_ms: med(|o| o.p95_ms),
            p99_ms: med(|o| o.p99_ms),
            ratio_p50: med(|o| o.ratio_p50),
        }
    }
}

/// One class of requests of an open-loop run.
pub(crate) struct ClassResult {
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    /// From intended send time to completion.
    pub latency: Histogram<u64>,
    /// From the request task's start to completion.
    pub service: Histogram<u64>,
    first_intended: Option<Instant>,
    last_intended: Option<Instant>,
    last_done: Option<Instant>,
    done_times: Vec<Instant>,
}

impl ClassResult {
    fn new() -> Self {
        ClassResult {
            ok: 0,
            errors: BTreeMap::new(),
            latency: histogram(),
            service: histogram(),
            first_intended: None,
            last_intended: None,
            last_done: None,
            done_times: Vec::new(),
        }
    }

    pub(crate) fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Successful completions per second in the steady part of the run: from 10% into the
    /// sending window to its end (ramp-up and the final drain left out).
    pub(crate) fn achieved_rate(&self) -> f64 {
        let (Some(first), Some(last)) = (self.first_intended, self.last_intended) else {
            return 0.0;
        };
        let from = first + (last - first) / 10;
        if last <= from {
            // Too short a run for a steady window: whole run including the drain.
            return match self.last_done {
                Some(done) if done > first => self.ok as f64 / (done - first).as_secs_f64(),
                _ => 0.0,
            };
        }
        let n = self
            .done_times
            .iter()
            .filter(|t| **t >= from && **t <= last)
            .count();
        n as f64 / (last - from).as_secs_f64()
    }

    pub(crate) fn summary(&self) -> Value {
        json!({
            "ok": self.ok,
            "errors": self.errors,
            "achieved_rate_per_s": self.achieved_rate(),
            "latency_from_intended": Percentiles::of(&self.latency),
            "service_time": Percentiles::of(&self.service),
        })
    }
}

/// What a run measured, per class.
pub(crate) struct RunResult {
    pub classes: Vec<ClassResult>,
    /// The most requests in flight at once (all classes).
    pub peak_in_flight: i64,
    /// How far behind schedule the pacer fell at worst, in ms.
    pub pacer_max_lag_ms: f64,
}

struct Record {
    class: usize,
    intended: Instant,
    started: Instant,
    done: Instant,
    result: Result<(), String>,
}

/// Sends `count` requests at `rate` per second. Request `i` is `make(i)`, of class
/// `i % classes` (classes interleave, so they see the same conditions).
pub(crate) async fn open_loop<F, Fut>(rate: f64, count: u64, classes: usize, make: F) -> RunResult
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    let records: Arc<Mutex<Vec<Record>>> = Arc::new(Mutex::new(Vec::with_capacity(count as usize)));
    let in_flight = Arc::new(AtomicI64::new(0));
    let peak = Arc::new(AtomicI64::new(0));
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let (pacer_records, pacer_in_flight, pacer_peak) =
        (records.clone(), in_flight.clone(), peak.clone());
    let pacer = std::thread::Builder::new()
        .name("pacer".into())
        .spawn(move || {
            let start = Instant::now() + Duration::from_millis(5);
            let mut handles = Vec::with_capacity(count as usize);
            let mut max_lag = Duration::ZERO;
            for i in 0..count {
                let intended = start + interval.mul_f64(i as f64);
                let now = Instant::now();
                if intended > now {
                    std::thread::sleep(intended - now);
                } else {
                    max_lag = max_lag.max(now - intended);
                }
                let fut = make(i);
                let (records, in_flight, peak) = (
                    pacer_records.clone(),
                    pacer_in_flight.clone(),
                    pacer_peak.clone(),
                );
                handles.push(handle.spawn(async move {
                    let started = Instant::now();
                    let now_in = in_flight.fetch_add(1, Ordering::Relaxed) + 1;
                    peak.fetch_max(now_in, Ordering::Relaxed);
                    let result = fut.await;
                    in_flight.fetch_sub(1, Ordering::Relaxed);
                    let done = Instant::now();
                    records.lock().unwrap().push(Record {
                        class: (i % classes as u64) as usize,
                        intended,
                        started,
                        done,
                        result,
                    });
                }));
            }
            (handles, max_lag)
        })
        .expect("pacer thread");
    let (handles, max_lag) = tokio::task::spawn_blocking(move || pacer.join())
        .await
        .expect("pacer join")
        .expect("pacer panicked");
    for h in handles {
        let _ = h.await;
    }
    let mut out: Vec<ClassResult> = (0..classes).map(|_| ClassResult::new()).collect();
    for r in records.lock().unwrap().drain(..) {
        let c = &mut out[r.class];
        let us = |d: Duration| (d.as_micros() as u64).max(1);
        match r.result {
            Ok(()) => {
                c.ok += 1;
                let _ = c.latency.record(us(r.done - r.intended));
                let _ = c.service.record(us(r.done - r.started));
                c.done_times.push(r.done);
            }
            Err(e) => *c.errors.entry(e).or_default() += 1,
        }
        c.first_intended = Some(c.first_intended.map_or(r.intended, |f| f.min(r.intended)));
        c.last_intended = Some(c.last_intended.map_or(r.intended, |l| l.max(r.intended)));
        c.last_done = Some(c.last_done.map_or(r.done, |l| l.max(r.done)));
    }
    RunResult {
        classes: out,
        peak_in_flight: peak.load(Ordering::Relaxed),
        pacer_max_lag_ms: max_lag.as_secs_f64() * 1000.0,
    }
}

/// Runs `make(i)` for `i in 0..count` with at most `concurrency` at once (closed loop, for
/// setup work such as creating sessions). Returns the errors.
pub(crate) async fn closed_loop<F, Fut, T>(count: usize, concurrency: usize, make: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore open");
        let fut = make(i);
        handles.push(tokio::spawn(async move {
            let out = fut.await;
            drop(permit);
            out
        }));
    }
    let mut out = Vec::with_capacity(count);
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}
