//! The Unreal Engine plugin (`bindings/unreal/FoilEngine`), without Unreal:
//!
//! - `plugin_sources_compile_against_the_stand_in`: every `.cpp` of `Source/FoilEngine/Private`
//!   (globbed: a new file is picked up by itself) and every header of `Public` on its own, with
//!   `g++ -std=c++20 -Wall -Wextra -Werror -Wshadow -fsyntax-only` against `Tests~/StandIn` — a
//!   compile-only stand-in of the Unreal API the plugin uses (FString, TArray, TMap, TFunction,
//!   UObject, the subsystem, tickable and async action bases, modules, UE_LOG with its format
//!   strings checked against their arguments, ...) — plus `include/` and the plugin's `Public`.
//!   Sources with `PLATFORM_WINDOWS` / `PLATFORM_MAC` branches are compiled once more with each
//!   defined to 1, so the Windows and Mac code is type-checked too.
//! - `subsystem_drives_a_conversation_under_sanitizers`: `Tests~/Driver/SubsystemDriver.cpp`
//!   built with all of those sources under AddressSanitizer and UBSan, linked with `libfoil.so`,
//!   and run against a real `foil-server` on loopback (offline provider, demo personas), a silent
//!   listener and a closed port. The driver plays the engine (game instance, world, module
//!   startup, `Initialize`, `Tick(0.016f)` per frame, `Deinitialize`) and a game: personas,
//!   machines, a session, streamed and whole replies, a playthrough to its outcome with its game
//!   events, errors (404, refused, not connected), cancellation, Connect/Disconnect with requests
//!   in flight and from callbacks, the async actions (success, failure, cancel, no game instance,
//!   garbage-collected in flight). Every `RunStep("...")` it declares must print `ok`, every
//!   callback must run on the game thread inside Tick, and the sanitizers must stay silent
//!   (leak checking included).
//!
//! `g++` missing skips these with a printed reason, unless `FOIL_TEST_REQUIRE_SERVICES=1` (CI).

mod native;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use native::support::SilentServer;
use native::{
    include_dir, libfoil_dir, linked_program, require_tool, run_limited, run_ok, scratch_dir,
    workspace_root, TestServer,
};

const GXX_HINT: &str = "install a C++20 compiler: apt-get install g++";

/// Every compilation: the plugin's C++ standard and warnings as errors (Unreal 5 builds with
/// shadowing warnings as errors too).
const CXX_FLAGS: &[&str] = &[
    "-std=c++20",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wshadow",
    "-pthread",
];

/// The sanitizer build of the driver.
const SANITIZER_FLAGS: &[&str] = &[
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=undefined",
    "-fno-omit-frame-pointer",
    "-g",
];

/// How long the driver may run before the test kills it and fails.
const RUN_LIMIT: Duration = Duration::from_secs(180);

/// The persona and playthrough the driver plays.
const PERSONA: &str = "Grumpy Barista";
const PERSONA_FILE: &str = "grumpy_barista";
const MACHINE: &str = "order_coffee";
const OUTCOME: &str = "ACCEPT";

fn plugin_dir() -> PathBuf {
    workspace_root().join("bindings/unreal/FoilEngine")
}

fn module_dir() -> PathBuf {
    plugin_dir().join("Source/FoilEngine")
}

/// The files of `dir` ending in `.ext`, sorted.
fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

/// Every `.cpp` of the runtime module.
fn private_sources() -> Vec<PathBuf> {
    let sources = files_with_extension(&module_dir().join("Private"), "cpp");
    assert!(sources.len() >= 4, "plugin sources: {sources:?}");
    sources
}

/// `-I` for the stand-in, `include/` (foil.hpp) and the module's `Public`.
fn include_args() -> Vec<String> {
    [
        plugin_dir().join("Tests~/StandIn"),
        include_dir(),
        module_dir().join("Public"),
    ]
    .iter()
    .map(|dir| format!("-I{}", dir.display()))
    .collect()
}

/// A g++ invocation with the shared flags and include paths.
fn gxx_command(gxx: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(gxx);
    command.args(CXX_FLAGS).args(extra).args(include_args());
    command
}

/// Runs the commands, as many at a time as there are cores; panics with g++'s output unless
/// each succeeds without printing anything.
fn run_all(commands: Vec<Command>) {
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut pending = commands.into_iter();
    let mut running: Vec<(String, Child)> = Vec::new();
    loop {
        while running.len() < parallel {
            let Some(mut command) = pending.next() else {
                break;
            };
            let child = command
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
            running.push((format!("{command:?}"), child));
        }
        if running.is_empty() {
            return;
        }
        let (what, child) = running.remove(0);
        let output = child.wait_with_output().expect("wait for g++");
        assert!(
            output.status.success() && output.stderr.is_empty() && output.stdout.is_empty(),
            "{what} ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn plugin_sources_compile_against_the_stand_in() {
    let Some(gxx) = require_tool("g++", GXX_HINT) else {
        return;
    };
    let mut commands = Vec::new();
    for source in private_sources() {
        let text = std::fs::read_to_string(&source).expect("read a plugin source");
        let mut variants: Vec<Vec<&str>> = vec![vec![]];
        for platform in ["PLATFORM_WINDOWS", "PLATFORM_MAC"] {
            if text.contains(platform) {
                variants.push(vec![if platform == "PLATFORM_WINDOWS" {
                    "-DPLATFORM_WINDOWS=1"
                } else {
                    "-DPLATFORM_MAC=1"
                }]);
            }
        }
        for defines in variants {
            let mut command = gxx_command(&gxx, &["-fsyntax-only"]);
            command.args(defines).arg(&source);
            commands.push(command);
        }
    }
    // Each public header compiles on its own (includes what it uses), twice (#pragma once).
    let dir = scratch_dir();
    let headers = files_with_extension(&module_dir().join("Public"), "h");
    assert!(headers.len() >= 6, "plugin headers: {headers:?}");
    for header in &headers {
        let name = header.file_name().expect("a file name").to_string_lossy();
        let unit = dir.path().join(format!("{name}.cpp"));
        std::fs::write(&unit, format!("#include \"{name}\"\n#include \"{name}\"\n"))
            .expect("write a translation unit");
        let mut command = gxx_command(&gxx, &["-fsyntax-only"]);
        command.arg(&unit);
        commands.push(command);
    }
    run_all(commands);
}

/// The `RunStep("name", ...)` steps `SubsystemDriver.cpp` declares.
fn declared_steps(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("RunStep(\""))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// A loopback URL that refuses connections (a port just released).
fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{addr}")
}

#[test]
fn subsystem_drives_a_conversation_under_sanitizers() {
    let Some(gxx) = require_tool("g++", GXX_HINT) else {
        return;
    };
    let driver = plugin_dir().join("Tests~/Driver/SubsystemDriver.cpp");
    let dir = scratch_dir();

    // Each translation unit on its own (in parallel), then one link.
    let mut sources = private_sources();
    sources.push(driver.clone());
    let mut objects = Vec::new();
    let mut commands = Vec::new();
    for (index, source) in sources.iter().enumerate() {
        let object = dir.path().join(format!("{index}.o"));
        let mut command = gxx_command(&gxx, SANITIZER_FLAGS);
        command.arg("-c").arg(source).arg("-o").arg(&object);
        commands.push(command);
        objects.push(object);
    }
    run_all(commands);
    let program = dir.path().join("subsystem_driver");
    let lib = libfoil_dir();
    run_ok(
        Command::new(&gxx)
            .args(SANITIZER_FLAGS)
            .arg("-pthread")
            .args(&objects)
            .arg("-o")
            .arg(&program)
            .arg("-L")
            .arg(lib)
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            .arg("-lfoil"),
    );

    let server = TestServer::start();
    let silent = SilentServer::start();
    let play = server
        .playthroughs(PERSONA_FILE)
        .into_iter()
        .find(|p| p.machine_key == MACHINE && p.outcome == OUTCOME)
        .unwrap_or_else(|| panic!("no {MACHINE} playthrough ending in {OUTCOME}"));
    let mut command = linked_program(&program);
    command
        .env("FOIL_BASE_URL", &server.base_url)
        .env("FOIL_API_KEY", &server.api_key)
        .env("FOIL_PERSONA_ID", server.persona_id(PERSONA))
        .env("FOIL_SILENT_URL", &silent.base_url)
        .env("FOIL_CLOSED_URL", closed_url())
        .env("FOIL_MACHINE_KEY", MACHINE)
        .env("FOIL_OUTCOME", OUTCOME)
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        .args(&play.messages);
    let started = Instant::now();
    let output = run_limited(command, b"", RUN_LIMIT);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!(
        "{stdout}(driver ran {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let show = || {
        format!(
            "exit {:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            output.status.code()
        )
    };

    let text = std::fs::read_to_string(&driver).expect("read SubsystemDriver.cpp");
    let steps = declared_steps(&text);
    assert!(steps.len() >= 20, "declared steps: {steps:?}");
    for step in &steps {
        assert!(
            stdout.lines().any(|line| line == format!("ok {step}")),
            "step {step} did not pass\n{}",
            show()
        );
    }
    assert!(output.status.success(), "{}", show());
    for sanitizer in ["runtime error", "AddressSanitizer", "LeakSanitizer"] {
        assert!(!stderr.contains(sanitizer), "{sanitizer}:\n{}", show());
    }
}
