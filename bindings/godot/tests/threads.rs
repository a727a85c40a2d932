//! Shutdown stops the dispatcher's threads (its own test binary, so no other test's runtime
//! threads are counted).

mod support;

use std::time::Duration;

use foil_godot::dispatch::Dispatcher;
use support::{SilentServer, TestConfig};

/// Threads of this process named `foil-godot` (Linux: /proc/self/task/*/comm).
fn runtime_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("procfs")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "foil-godot")
        .count()
}

/// The runtime thread count once `done` accepts it, or after 2 s. Both edges lag the API: a new
/// thread names itself after it starts, and a joined thread's /proc entry goes a moment after
/// `pthread_join` returns (the kernel wakes the joiner before it releases the task).
fn settled_thread_count(done: impl Fn(usize) -> bool) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let count = runtime_threads();
        if done(count) || std::time::Instant::now() > deadline {
            return count;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_for_threads(n: usize) -> usize {
    settled_thread_count(|count| count >= n)
}

fn wait_for_no_threads() -> usize {
    settled_thread_count(|count| count == 0)
}

#[test]
fn shutdown_stops_the_runtime_threads() {
    let silent = SilentServer::start();
    assert_eq!(runtime_threads(), 0);
    let mut d = Dispatcher::new().unwrap();
    d.configure(silent.config()).unwrap();
    for _ in 0..3 {
        d.list_personas();
    }
    assert!(
        wait_for_threads(2) >= 2,
        "two workers: {}",
        runtime_threads()
    );
    d.shutdown();
    assert_eq!(wait_for_no_threads(), 0, "all stopped");
    assert_eq!(d.drain(usize::MAX).len(), 3);
    // A new dispatcher works after an old one was shut down (a node entering the tree again).
    let d2 = Dispatcher::new().unwrap();
    assert!(wait_for_threads(2) >= 2);
    drop(d2);
    assert_eq!(wait_for_no_threads(), 0);
}
