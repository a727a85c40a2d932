//! Shared by the native-language suites: build `libfoil` once, find the tools (compilers,
//! valgrind, Mono), and start a real server (the harness of `foil-client/tests/support`).
//!
//! A missing tool skips the suite with a printed reason — unless `FOIL_TEST_REQUIRE_SERVICES=1`
//! (set by `.ci/run`), which turns the skip into a failure.
#![allow(dead_code)]

#[path = "../../../foil-client/tests/support/mod.rs"]
pub(crate) mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub(crate) use support::{workspace_root, TestServer};

/// Whether missing tools must fail the test instead of skipping it.
pub(crate) fn tools_required() -> bool {
    std::env::var("FOIL_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
}

/// The path of `tool` on `PATH`, or `None` after printing why the caller skips (panics
/// instead when tools are required).
pub(crate) fn require_tool(tool: &str, install_hint: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        let reason = format!("`{tool}` is not installed ({install_hint})");
        assert!(
            !tools_required(),
            "{reason}, and FOIL_TEST_REQUIRE_SERVICES=1 makes it mandatory"
        );
        eprintln!("SKIP: {reason}");
    }
    found
}

/// The Cargo target directory these tests were built into.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// The directory holding the freshly built `libfoil.so` / `libfoil.a` (debug profile, like the
/// tests), building it once per test binary with the same cargo that runs the tests.
pub(crate) fn libfoil_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "foil-ffi"])
            .current_dir(workspace_root())
            .status()
            .expect("run cargo build -p foil-ffi");
        assert!(status.success(), "cargo build -p foil-ffi failed");
        let dir = target_dir().join("debug");
        assert!(
            dir.join("libfoil.so").is_file(),
            "no libfoil.so in {}",
            dir.display()
        );
        dir
    })
}

/// `include/` (foil.h, foil.hpp).
pub(crate) fn include_dir() -> PathBuf {
    workspace_root().join("include")
}

/// A fresh scratch directory for build outputs, kept until the value is dropped.
pub(crate) fn scratch_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Runs `command`, panicking with its full output unless it exits successfully.
pub(crate) fn run_ok(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A command for a program linked against `libfoil.so`, finding the library at run time.
pub(crate) fn linked_program(program: &Path) -> Command {
    let mut command = Command::new(program);
    command.env("LD_LIBRARY_PATH", libfoil_dir());
    command
}

/// Runs `command` with `stdin` as its input (then EOF) and returns its output; kills it and
/// panics, showing what it printed so far, when it runs longer than `limit`. Output is read on
/// threads, so a chatty program never blocks on a full pipe.
pub(crate) fn run_limited(mut command: Command, stdin: &[u8], limit: Duration) -> Output {
    // The program and its arguments, not its environment (which holds test keys).
    let description = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {description}: {e}"));
    let mut input = child.stdin.take().expect("stdin piped");
    let bytes = stdin.to_vec();
    // A program that stops reading early must not block the writer: errors are ignored, and
    // dropping `input` closes it (EOF).
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let out_reader = read_all(Box::new(child.stdout.take().expect("stdout piped")));
    let err_reader = read_all(Box::new(child.stderr.take().expect("stderr piped")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the program") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{description} ran longer than {limit:?}; killed. Output so far:\n--- stdout\n{}\n--- stderr\n{}",
                String::from_utf8_lossy(&out_reader.join().unwrap_or_default()),
                String::from_utf8_lossy(&err_reader.join().unwrap_or_default()),
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = writer.join();
    eprintln!("ran {description} in {:.1?}", started.elapsed());
    Output {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
    }
}
