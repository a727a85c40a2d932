//! How big each scenario is in each mode.

/// Counts, rates and durations of one run.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct Scale {
    pub name: &'static str,
    /// Rounds of the overhead scenarios (P1, P2, P7); the median round is reported.
    pub rounds: usize,
    /// P1: requests per second (half direct, half through the server) and seconds per round.
    pub hop_rate: f64,
    pub hop_secs: f64,
    /// P2: turns per second through the server (the same rate of direct pairs interleaved).
    pub turn_rate: f64,
    pub turn_secs: f64,
    /// P3: offered rates tried in turn (stops at the first that is not sustained).
    pub sdk_rates: Vec<f64>,
    pub sdk_secs: f64,
    /// P4: offered turn rates tried in turn.
    pub turn_rates: Vec<f64>,
    pub throughput_secs: f64,
    /// P5: turn counts launched within half a second against a 500 ms mock.
    pub concurrent_turns: Vec<usize>,
    /// P6: sessions created and streams held open for the memory measurement.
    pub memory_sessions: usize,
    pub memory_streams: usize,
    /// P7: streamed turns per second (the same rate of direct streams interleaved).
    pub stream_rate: f64,
    pub stream_secs: f64,
    /// P8/P9: iterations per micro-benchmark round; seconds of the simulated game loop.
    pub micro_iters: u64,
    pub micro_rounds: usize,
    pub game_loop_secs: f64,
}

impl Scale {
    /// A couple of minutes at most.
    pub(crate) fn quick() -> Scale {
        Scale {
            name: "quick",
            rounds: 1,
            hop_rate: 400.0,
            hop_secs: 3.0,
            turn_rate: 200.0,
            turn_secs: 3.0,
            sdk_rates: vec![3000.0],
            sdk_secs: 3.0,
            turn_rates: vec![500.0],
            throughput_secs: 3.0,
            concurrent_turns: vec![2000],
            memory_sessions: 2000,
            memory_streams: 1000,
            stream_rate: 100.0,
            stream_secs: 3.0,
            micro_iters: 1_000_000,
            micro_rounds: 3,
            game_loop_secs: 2.0,
        }
    }

    /// The full run: several rounds, rate ladders, 10k sessions (well under 15 minutes).
    pub(crate) fn full() -> Scale {
        Scale {
            name: "full",
            rounds: 3,
            hop_rate: 400.0,
            hop_secs: 10.0,
            turn_rate: 200.0,
            turn_secs: 10.0,
            sdk_rates: vec![3000.0, 4000.0, 5000.0, 6000.0],
            sdk_secs: 10.0,
            turn_rates: vec![500.0, 750.0, 1000.0, 1250.0],
            throughput_secs: 10.0,
            concurrent_turns: vec![2000, 4000],
            memory_sessions: 10_000,
            memory_streams: 5_000,
            stream_rate: 200.0,
            stream_secs: 10.0,
            micro_iters: 2_000_000,
            micro_rounds: 5,
            game_loop_secs: 10.0,
        }
    }

    /// Tiny: proves the machinery works (the smoke test); the numbers mean nothing.
    pub(crate) fn smoke() -> Scale {
        Scale {
            name: "smoke",
            rounds: 1,
            hop_rate: 100.0,
            hop_secs: 0.5,
            turn_rate: 50.0,
            turn_secs: 0.5,
            sdk_rates: vec![200.0],
            sdk_secs: 0.5,
            turn_rates: vec![50.0],
            throughput_secs: 0.5,
            concurrent_turns: vec![20],
            memory_sessions: 20,
            memory_streams: 10,
            stream_rate: 20.0,
            stream_secs: 0.5,
            micro_iters: 10_000,
            micro_rounds: 1,
            game_loop_secs: 0.3,
        }
    }
}
