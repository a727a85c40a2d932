//! Smoke test: the benchmark's whole path at tiny scale (`--smoke`), with the server inside the
//! benchmark process so no separately built binary is needed. It proves the machinery works —
//! the mock, the server start-up and demo seeding, every scenario, the table and the JSON —
//! not any number (it runs in debug on a shared machine; no timing is asserted).

use std::process::Command;

#[test]
fn the_benchmark_runs_at_tiny_scale() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("bench.json");
    let output = Command::new(env!("CARGO_BIN_EXE_foil-bench"))
        .args(["--smoke", "--in-process", "--server-log", "warn", "--json"])
        .arg(&json)
        .output()
        .expect("run foil-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "foil-bench failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    for id in [
        "P1", "P2", "P3", "P4", "P5", "P6a", "P6b", "P6c", "P7", "P8a", "P8b", "P8c", "P9",
    ] {
        assert!(
            stdout.contains(&format!("| {id} ")),
            "no {id} row in:\n{stdout}"
        );
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON written")).expect("JSON");
    assert_eq!(summary["mode"], "smoke");
    let rows = summary["rows"].as_array().expect("rows");
    assert!(rows.len() >= 13, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r["measured"].as_str().is_some_and(|m| !m.is_empty())),
        "{rows:?}"
    );
    for id in ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9"] {
        let scenario = &summary["scenarios"][id];
        assert!(scenario.is_object(), "no details for {id}");
        assert!(scenario.get("error").is_none(), "{id} failed: {scenario}");
    }
}
