//! The C++ wrapper `include/foil.hpp`, with g++ against the real header and `libfoil.so`:
//!
//! - `header_is_self_contained_and_warning_free`: two translation units that include the
//!   header link into one program (header-only: everything `inline`), with
//!   `-std=c++17 -Wall -Wextra -Werror -pedantic` plus `-Wshadow -Wconversion` (engines build
//!   with strict warnings), with and without exceptions.
//! - `wrapper_tests_pass` / `wrapper_tests_pass_without_exceptions_under_sanitizers`:
//!   `foil-ffi-tests/cpp/wrapper_test.cpp` (the JSON reader, refused calls, moves, a bad API
//!   key, raw polling and waiting, timeouts, cancellation, freeing with requests in flight,
//!   callbacks from several threads, a whole conversation with streaming and game events)
//!   against a real `foil-server` on loopback (offline provider, demo personas) and a silent
//!   listener. Once as is, once with `-fno-exceptions` and AddressSanitizer/UBSan. Every
//!   `CASE(...)` it declares must report `ok`.
//! - `chat_example_streams_a_conversation_to_its_outcome` / `chat_example_reports_a_bad_api_key`:
//!   `examples/cpp/foil_chat.cpp` fed a playthrough of `examples/personas/playthroughs` on stdin.
//!
//! `g++` missing skips these with a printed reason, unless `FOIL_TEST_REQUIRE_SERVICES=1` (CI).

mod native;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use native::support::{Playthrough, SilentServer};
use native::{
    include_dir, libfoil_dir, linked_program, require_tool, run_limited, run_ok, scratch_dir,
    workspace_root, TestServer,
};

const GXX_HINT: &str = "install a C++17 compiler: apt-get install g++";

/// The flags every compilation shares: the brief's line, warnings as errors.
const CXX_FLAGS: &[&str] = &[
    "-std=c++17",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
    "-pthread",
    "-g",
];

/// How long a program may run before the test kills it and fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// The persona and scenario the conversations use.
const PERSONA: &str = "Grumpy Barista";
const PERSONA_FILE: &str = "grumpy_barista";
const MACHINE: &str = "order_coffee";

/// Compiles `sources` into `out` against the header and `libfoil.so`; panics with g++'s
/// output on errors or warnings.
fn compile(gxx: &Path, sources: &[PathBuf], out: &Path, extra: &[&str]) {
    let lib = libfoil_dir();
    let output = run_ok(
        Command::new(gxx)
            .args(CXX_FLAGS)
            .args(extra)
            .arg("-I")
            .arg(include_dir())
            .args(sources)
            .arg("-o")
            .arg(out)
            .arg("-L")
            .arg(lib)
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            .arg("-lfoil"),
    );
    assert!(
        output.stderr.is_empty(),
        "g++ printed diagnostics:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn show(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A playthrough of the test persona's scenario that ends in `outcome`.
fn playthrough(server: &TestServer, outcome: &str) -> Playthrough {
    server
        .playthroughs(PERSONA_FILE)
        .into_iter()
        .find(|p| p.machine_key == MACHINE && p.outcome == outcome)
        .unwrap_or_else(|| panic!("no {MACHINE} playthrough ending in {outcome}"))
}

/// The `CASE(name)` functions `wrapper_test.cpp` declares.
fn declared_cases(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|line| line.strip_prefix("CASE("))
        .filter_map(|rest| rest.split(')').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn header_is_self_contained_and_warning_free() {
    let Some(gxx) = require_tool("g++", GXX_HINT) else {
        return;
    };
    let dir = scratch_dir();
    let a = dir.path().join("a.cpp");
    let main = dir.path().join("main.cpp");
    std::fs::write(
        &a,
        "#include \"foil.hpp\"\n\
         std::string version_of_a() { return std::string(foil::version()); }\n\
         foil::Result<foil::json::Value> parse_in_a(std::string_view s) { return foil::json::parse(s); }\n",
    )
    .unwrap();
    std::fs::write(
        &main,
        "#include \"foil.hpp\"\n#include \"foil.hpp\" // include guard\n#include <cstdio>\n\
         std::string version_of_a();\n\
         foil::Result<foil::json::Value> parse_in_a(std::string_view s);\n\
         int main() {\n\
           auto v = parse_in_a(\"{\\\"n\\\": 41}\");\n\
           auto c = foil::Client::create(foil::ClientConfig{});\n\
           std::printf(\"%s %s %lld %s\\n\", version_of_a().c_str(), std::string(foil::kHeaderVersion).c_str(),\n\
                       static_cast<long long>((*v)[\"n\"].as_int() + 1), foil::to_string(c.error().status));\n\
           return c.ok() ? 1 : 0;\n\
         }\n",
    )
    .unwrap();
    let version = env!("CARGO_PKG_VERSION");
    for extra in [&[][..], &["-fno-exceptions"][..]] {
        let program = dir.path().join("two_units");
        let mut flags = vec![
            "-Wshadow",
            "-Wconversion",
            "-Wsign-conversion",
            "-Wold-style-cast",
        ];
        flags.extend_from_slice(extra);
        compile(&gxx, &[a.clone(), main.clone()], &program, &flags);
        let output = run_ok(&mut linked_program(&program));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            format!("{version} {version} 42 empty_argument\n"),
            "flags {extra:?}"
        );
    }
}

/// Compiles `wrapper_test.cpp` with `extra` flags and runs it against a real server.
fn run_wrapper_tests(extra: &[&str], env: &[(&str, &str)]) {
    let Some(gxx) = require_tool("g++", GXX_HINT) else {
        return;
    };
    let source = workspace_root().join("foil-ffi-tests/cpp/wrapper_test.cpp");
    let dir = scratch_dir();
    let program = dir.path().join("wrapper_test");
    compile(&gxx, std::slice::from_ref(&source), &program, extra);

    let server = TestServer::start();
    let silent = SilentServer::start();
    let play = playthrough(&server, "ACCEPT");
    let player = "cpp-token-player";
    let (fresh, _) = server.player_token(player, 3600);
    let (short, expires_at) = server.short_player_token(player, Duration::from_secs(3));
    let mut command = linked_program(&program);
    command
        .env("FOIL_TEST_TOKEN_PLAYER", player)
        .env("FOIL_TEST_SHORT_TOKEN", &short)
        .env("FOIL_TEST_SHORT_EXPIRES", expires_at.to_string())
        .env("FOIL_TEST_FRESH_TOKEN", &fresh)
        .arg(&server.base_url)
        .arg(&server.api_key)
        .arg(server.persona_id(PERSONA))
        .arg(MACHINE)
        .arg(&play.outcome)
        .arg(&silent.base_url)
        .args(&play.messages);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = run_limited(command, b"", RUN_LIMIT);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    eprintln!("{stdout}");

    let text = std::fs::read_to_string(&source).expect("read wrapper_test.cpp");
    let exceptions = !extra.contains(&"-fno-exceptions");
    let other_variant = if exceptions {
        "builds_without_exceptions"
    } else {
        "value_or_throw_throws_foil_exception"
    };
    let expected: Vec<String> = declared_cases(&text)
        .into_iter()
        .filter(|c| c != other_variant)
        .collect();
    assert!(expected.len() >= 12, "declared cases: {expected:?}");
    for case in &expected {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("ok {case} "))),
            "C++ case {case} did not pass\n{}",
            show(&output)
        );
    }
    assert!(output.status.success(), "{}", show(&output));
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("runtime error"),
        "UBSan: {}",
        show(&output)
    );
}

#[test]
fn wrapper_tests_pass() {
    run_wrapper_tests(&[], &[]);
}

#[test]
fn wrapper_tests_pass_without_exceptions_under_sanitizers() {
    // Leak checking stays off: the Rust runtime inside libfoil keeps some allocations for the
    // life of the process by design (thread-locals, lazily built statics).
    run_wrapper_tests(
        &[
            "-fno-exceptions",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=undefined",
            "-fno-omit-frame-pointer",
        ],
        &[("ASAN_OPTIONS", "detect_leaks=0")],
    );
}

/// Compiles the example; `None` (skip) without g++.
fn compile_example(dir: &Path) -> Option<PathBuf> {
    let gxx = require_tool("g++", GXX_HINT)?;
    let program = dir.join("foil_chat");
    compile(
        &gxx,
        &[workspace_root().join("examples/cpp/foil_chat.cpp")],
        &program,
        &[],
    );
    Some(program)
}

#[test]
fn chat_example_streams_a_conversation_to_its_outcome() {
    let dir = scratch_dir();
    let Some(program) = compile_example(dir.path()) else {
        return;
    };
    let server = TestServer::start();
    let play = playthrough(&server, "KICK_OUT");
    let mut command = linked_program(&program);
    command
        .env_remove("FOIL_API_KEY")
        .env_remove("FOIL_BASE_URL")
        .args(["--base-url", &server.base_url, "--api-key", &server.api_key])
        .args(["--persona", PERSONA, "--machine", MACHINE, "--name", "Ada"])
        .args(["--gender", "female", "--stats"]);
    let input: String = play.messages.iter().map(|m| format!("{m}\n")).collect();
    let output = run_limited(command, input.as_bytes(), RUN_LIMIT);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{}", show(&output));
    assert!(output.stderr.is_empty(), "{}", show(&output));

    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() > 3, "{}", show(&output));
    assert!(
        lines[0].starts_with(&format!("Talking to {PERSONA} as Ada")),
        "{stdout}"
    );
    // The greeting, then the initial state at score 0.
    let greeting = lines[1]
        .strip_prefix(&format!("{PERSONA}: "))
        .unwrap_or_else(|| panic!("no greeting:\n{stdout}"));
    assert!(!greeting.trim().is_empty(), "{stdout}");
    assert!(
        lines[2].starts_with("[state: ") && lines[2].ends_with(" | score: 0]"),
        "{stdout}"
    );
    // One streamed reply per line typed (after the prompt, as stdin is not echoed), each
    // followed by its state/score line and how many pieces it arrived in.
    let replies: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix(&format!("you> {PERSONA}: ")))
        .collect();
    assert_eq!(replies.len(), play.messages.len(), "{stdout}");
    assert!(replies.iter().all(|r| !r.trim().is_empty()), "{stdout}");
    let pieces: Vec<u32> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("(streamed in "))
        .map(|rest| rest.trim_end_matches(" pieces)").parse().expect("a count"))
        .collect();
    assert_eq!(pieces.len(), play.messages.len(), "{stdout}");
    assert!(pieces.iter().all(|n| *n >= 1), "{stdout}");
    let status_lines = lines.iter().filter(|l| l.starts_with("[state: ")).count();
    assert_eq!(status_lines, 1 + play.messages.len(), "{stdout}");
    // Game events, the outcome, and a clean exit at end of input.
    assert!(stdout.contains("\n* state: "), "{stdout}");
    assert!(
        stdout.contains(&format!("\n* outcome: {} (final score ", play.outcome)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("\n* scenario complete: {}\n", play.outcome)),
        "{stdout}"
    );
    assert!(stdout.ends_with("you> \nbye\n"), "{stdout}");
}

#[test]
fn chat_example_reports_a_bad_api_key() {
    let dir = scratch_dir();
    let Some(program) = compile_example(dir.path()) else {
        return;
    };
    let server = TestServer::start();
    let mut command = linked_program(&program);
    command
        .env_remove("FOIL_API_KEY")
        .env("FOIL_BASE_URL", &server.base_url)
        .args(["--api-key", "pk_live_0123456789abcdef0123456789abcdef"]);
    let output = run_limited(command, b"Hello?\n", RUN_LIMIT);
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim_end(),
        "error: 401 invalid_api_key: Invalid API key",
        "{}",
        show(&output)
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("Talking to"));

    // And bad usage (no key at all) is exit status 2, before any request.
    let mut command = linked_program(&program);
    command.env_remove("FOIL_API_KEY");
    let output = run_limited(command, b"", RUN_LIMIT);
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no API key"));
}
