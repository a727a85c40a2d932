//! The C ABI from C: `examples/c/foil_chat.c` (the terminal chat example) and
//! `foil-ffi-tests/c/abi_test.c` (checks of the whole ABI) are compiled with the system C
//! compiler (`cc -std=c11 -Wall -Wextra -Werror -pedantic`) against `include/foil.h` and the
//! freshly built `libfoil.so`, run against a real `foil-server` on loopback, and run again
//! under valgrind, which must find no definite or indirect leak and no invalid access.
//! abi_test also plays the player-token flow: a short-lived token's CREDENTIAL_EXPIRING, then
//! foil_client_set_api_key with a fresh token from the API's mint route.
//!
//! valgrind is optional locally (the valgrind part is skipped with a printed reason) and
//! mandatory when `FOIL_TEST_REQUIRE_SERVICES=1` (CI).

mod native;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use foil_mock_llm::{MockConfig, Reply};
use native::support::{Answer, ScriptedServer};
use native::{
    include_dir, libfoil_dir, linked_program, require_tool, run_limited, workspace_root, TestServer,
};

/// The model that the mock provider (configured as `openai`) answers.
const SLOW_MODEL: &str = "openai/gpt-test";

/// How long a program may run before the test kills it and fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// The same under valgrind (programs run 20-50x slower).
const VALGRIND_LIMIT: Duration = Duration::from_secs(150);

/// Compiles one C11 file against the header and `libfoil.so`, warnings as errors; `None`
/// (skip) when there is no C compiler.
fn compile_c(source: &Path, out_dir: &Path) -> Option<PathBuf> {
    let cc = require_tool("cc", "install a C compiler: apt-get install gcc")?;
    let name = source.file_stem().expect("a file name");
    let binary = out_dir.join(name);
    let lib = libfoil_dir();
    let output = Command::new(cc)
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-g",
            "-O1",
        ])
        .arg("-I")
        .arg(include_dir())
        .arg(source)
        .arg("-o")
        .arg(&binary)
        .arg("-L")
        .arg(lib)
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-lfoil")
        .output()
        .expect("run cc");
    assert!(
        output.status.success(),
        "compiling {} failed:\n{}{}",
        source.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "cc printed diagnostics for {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(binary)
}

/// stdout and stderr of a finished program, for failure messages.
fn show(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `program` under valgrind's leak and memory checker (or `None`, skipping, without valgrind).
/// Exit code 99 means valgrind found errors (definite/indirect leaks count as errors;
/// "possibly lost" and "still reachable" memory of runtime threads does not).
fn under_valgrind(program: &Path) -> Option<Command> {
    let valgrind = require_tool("valgrind", "apt-get install valgrind")?;
    let mut command = Command::new(valgrind);
    command
        .args([
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect",
            "--error-exitcode=99",
            "--num-callers=30",
        ])
        .arg(program)
        .env("LD_LIBRARY_PATH", libfoil_dir());
    Some(command)
}

/// Asserts that valgrind ran `output` to a clean end: the program succeeded (so valgrind did
/// not turn it into 99) and the error summary is empty.
fn assert_valgrind_clean(output: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code() != Some(99),
        "valgrind found errors in {what}:\n{}",
        show(output)
    );
    assert!(
        output.status.success(),
        "{what} failed under valgrind:\n{}",
        show(output)
    );
    assert!(
        stderr.contains("ERROR SUMMARY: 0 errors"),
        "no clean valgrind summary for {what}:\n{stderr}"
    );
    for kind in ["definitely lost", "indirectly lost"] {
        if let Some(line) = stderr.lines().find(|l| l.contains(kind)) {
            assert!(
                line.contains(&format!("{kind}: 0 bytes")),
                "{what}: {line}\n{stderr}"
            );
        }
    }
    let summary: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("lost:") || l.contains("reachable:") || l.contains("ERROR SUMMARY"))
        .collect();
    eprintln!("valgrind, {what}:\n{}", summary.join("\n"));
}

/// The lines of a playthrough as the example's stdin.
fn stdin_lines(lines: &[String]) -> Vec<u8> {
    let mut text = lines.join("\n");
    text.push('\n');
    text.into_bytes()
}

fn stdout_of(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

#[test]
fn example_chat_plays_to_an_outcome_and_exits_on_eof() {
    let scratch = native::scratch_dir();
    let source = workspace_root().join("examples/c/foil_chat.c");
    let Some(program) = compile_c(&source, scratch.path()) else {
        return;
    };
    let server = TestServer::start();
    let persona = server.persona_id("Orin Tallmug");
    let play = server
        .playthroughs("tavern_keeper")
        .into_iter()
        .find(|p| p.outcome == "ACCEPT")
        .expect("an ACCEPT playthrough");
    let chat = |player: &str, api_key: &str| {
        let mut command = linked_program(&program);
        command
            .args(["--persona", &persona, "--player", player, "--name", "Ada"])
            .env("FOIL_BASE_URL", &server.base_url)
            .env("FOIL_API_KEY", api_key)
            .env_remove("FOIL_PERSONA_ID")
            .env_remove("FOIL_PLAYER_ID");
        command
    };

    // 1. A whole playthrough: greeting, streamed replies, game events, the outcome, the end.
    let output = run_limited(
        chat("c-example-1", &server.api_key),
        &stdin_lines(&play.messages),
        RUN_LIMIT,
    );
    let out = stdout_of(&output);
    assert!(output.status.success(), "{}", show(&output));
    assert!(
        output.stderr.is_empty(),
        "no errors expected:\n{}",
        show(&output)
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("libfoil 0.1.0, server http://127.0.0.1:"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("Orin Tallmug: ") && lines[1].len() > "Orin Tallmug: ".len(),
        "the greeting first:\n{out}"
    );
    assert!(
        lines[2].starts_with("  [state: ") && lines[2].ends_with("| score: 0]"),
        "{out}"
    );
    let replies = lines
        .iter()
        .filter(|l| l.starts_with("> Orin Tallmug: ") && l.len() > 20)
        .count();
    assert_eq!(
        replies,
        play.messages.len(),
        "one streamed reply per line:\n{out}"
    );
    let verdicts: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("  [state: "))
        .collect();
    assert_eq!(verdicts.len(), play.messages.len() + 1, "{out}");
    assert!(
        verdicts.last().unwrap().ends_with("| outcome: ACCEPT]"),
        "the last turn reached the outcome:\n{out}"
    );
    assert!(
        verdicts[1..verdicts.len() - 1]
            .iter()
            .all(|l| l.ends_with("| outcome: none]")),
        "no outcome before the last turn:\n{out}"
    );
    assert!(
        out.contains("  * state: "),
        "state changes are reported:\n{out}"
    );
    assert!(
        out.contains("  * the conversation is over: ACCEPT (final score "),
        "{out}"
    );
    assert!(out.ends_with("The conversation has ended.\n"), "{out}");

    // 2. End of input mid-conversation, with a line the library refuses (not UTF-8) in
    //    between: the error is printed, the chat goes on, EOF ends it cleanly.
    let input = b"Who's the hooded figure in the corner?\n\xff\xfe not UTF-8\n\nFine, fine. A mug of your best ale, Orin.\n";
    let output = run_limited(chat("c-example-2", &server.api_key), input, RUN_LIMIT);
    let out = stdout_of(&output);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}", show(&output));
    assert!(
        err.contains(
            "error: message not sent: INVALID_UTF8 (status 2): message is not valid UTF-8"
        ),
        "{}",
        show(&output)
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("  [state: ")).count(),
        3,
        "the greeting's status and two turns:\n{out}"
    );
    assert!(!out.contains("has ended"), "{out}");
    assert!(out.ends_with("> \n"), "a clean goodbye at EOF:\n{out}");

    // 3. A wrong API key: the server's 401 is printed, the exit code says it failed.
    let output = run_limited(
        chat("c-example-3", "pk_live_00000000000000000000000000000000"),
        b"Hello\n",
        RUN_LIMIT,
    );
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{}", show(&output));
    assert!(
        err.contains(
            "error: starting the session failed: HTTP 401, invalid_api_key: Invalid API key"
        ),
        "{}",
        show(&output)
    );

    // 4. No persona: the personas the key reaches are listed.
    let mut command = linked_program(&program);
    command
        .env("FOIL_BASE_URL", &server.base_url)
        .env("FOIL_API_KEY", &server.api_key)
        .env_remove("FOIL_PERSONA_ID");
    let output = run_limited(command, b"", RUN_LIMIT);
    let out = stdout_of(&output);
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    for (id, name) in &server.personas {
        assert!(
            out.contains(&format!("  {id}  {name}\n")),
            "{name} listed:\n{out}"
        );
    }

    // 5. The playthrough again under valgrind: no leak, no invalid access.
    let Some(mut command) = under_valgrind(&program) else {
        return;
    };
    command
        .args(["--persona", &persona, "--player", "c-example-valgrind"])
        .args(["--base-url", &server.base_url, "--api-key", &server.api_key]);
    let output = run_limited(command, &stdin_lines(&play.messages), VALGRIND_LIMIT);
    assert_valgrind_clean(&output, "foil_chat");
    let out = stdout_of(&output);
    assert!(
        out.ends_with("The conversation has ended.\n"),
        "{}",
        show(&output)
    );
}

/// Runs abi_test (natively or under valgrind) against `server`, with a fresh trap server that
/// must see exactly the one valid request abi_test sends it, and player tokens for its
/// credential test: one that expires `token_lifetime` from now, and an hour-long one.
fn run_abi_test(
    mut command: Command,
    server: &TestServer,
    free_bound_ms: u32,
    token_lifetime: Duration,
    limit: Duration,
) -> Output {
    let persona = server.persona_id("Grumpy Barista");
    let play = server
        .playthroughs("grumpy_barista")
        .into_iter()
        .find(|p| p.messages.len() >= 2)
        .expect("a playthrough of several messages");
    let trap = ScriptedServer::start(vec![Answer::json(200, "[]")]);
    let player = "c-abi-token-player";
    let (fresh, _) = server.player_token(player, 3600);
    let (short, expires_at) = server.short_player_token(player, token_lifetime);
    command
        .env("FOIL_TEST_TOKEN_PLAYER", player)
        .env("FOIL_TEST_SHORT_TOKEN", &short)
        .env("FOIL_TEST_SHORT_EXPIRES", expires_at.to_string())
        .env("FOIL_TEST_FRESH_TOKEN", &fresh)
        .arg(&server.base_url)
        .arg(&server.api_key)
        .arg(&persona)
        .arg(SLOW_MODEL)
        .arg(&trap.base_url)
        .arg(free_bound_ms.to_string())
        .arg(&play.outcome)
        .args(&play.messages);
    let output = run_limited(command, b"", limit);
    eprintln!("{}", String::from_utf8_lossy(&output.stdout));
    assert_eq!(
        trap.requests(),
        1,
        "refused calls must not reach the network; the one valid call must:\n{}",
        show(&output)
    );
    output
}

#[test]
fn abi_test_passes_natively_and_under_valgrind() {
    let scratch = native::scratch_dir();
    let source = workspace_root().join("foil-ffi-tests/c/abi_test.c");
    let Some(program) = compile_c(&source, scratch.path()) else {
        return;
    };
    // The offline provider for conversations; the mock (as `openai`) streams slowly, for
    // cancelling and freeing mid-stream: 400 pieces, 50 ms apart.
    let pieces: Vec<String> = (0..400).map(|i| format!("word{i} ")).collect();
    let server = TestServer::start_with(Some(
        MockConfig::default()
            .with_chunk_delay(Duration::from_millis(50))
            .with_default_reply(Reply::chunked(pieces)),
    ));

    let output = run_abi_test(
        linked_program(&program),
        &server,
        4_000,
        Duration::from_secs(4),
        RUN_LIMIT,
    );
    let stdout = stdout_of(&output);
    assert!(
        output.status.success(),
        "abi_test failed:\n{}",
        show(&output)
    );
    assert!(stdout.contains(", 0 failed"), "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    // The mock saw the cancelled streams go away.
    let mock = server.mock.as_ref().expect("mock provider");
    let deadline = Instant::now() + Duration::from_secs(10);
    while mock.stats().cancelled_streams == 0 {
        assert!(
            Instant::now() < deadline,
            "no provider stream was cancelled: {:?}",
            mock.stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let Some(command) = under_valgrind(&program) else {
        return;
    };
    // Starting under valgrind takes seconds: the token lasts longer, so that its event still
    // comes from a timer rather than at creation.
    let output = run_abi_test(
        command,
        &server,
        20_000,
        Duration::from_secs(8),
        VALGRIND_LIMIT,
    );
    assert_valgrind_clean(&output, "abi_test");
}
