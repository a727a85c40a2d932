//! The Unity binding (`bindings/unity`), outside Unity:
//!
//! - `csharp_core_passes_under_mono`: compiles the binding's UnityEngine-free core (every
//!   `Runtime/**/*.cs`, with no `UNITY_*` symbol defined, so the Unity layer's `#if
//!   UNITY_5_3_OR_NEWER` leaves it out — which also proves the core needs no UnityEngine) plus
//!   `Tests~/Mono/FoilNativeTests.cs` with `mcs`, and runs it under `mono` against the freshly
//!   built `libfoil.so` and a real `foil-server` on loopback (offline provider, demo personas).
//!   The program emulates a game's frame loop (a single-threaded SynchronizationContext, one
//!   `Pump()` per frame) and checks whole conversations with their game events, streamed
//!   replies, errors mapped to exceptions, cancellation, timeouts and dispose (also with
//!   requests in flight). Every test case it declares must report `ok`.
//! - `csharp_core_passes_over_the_webgl_transport`: the same C# tests compiled with
//!   `UNITY_WEBGL` (no native declarations), the clients running over the WebGL transport:
//!   `Plugins/WebGL/FoilEngine.jslib`, executed by Node as Emscripten links it
//!   (`Tests~/WebGL/host.js`), reached through a pipe (`Tests~/Mono/NodeBridge.cs`).
//! - `webgl_transport_passes_in_node`: the transport's own tests (`Tests~/WebGL/webgl.test.js`).
//! - `webgl_transport_runs_in_chromium`: the transport in a real browser, across origins (CORS).
//! - `unity_layer_compiles_against_stubs`: the Unity layer (`Runtime/Unity`) and the sample
//!   only compile — against `Tests~/Mono/UnityStubs.cs`, a compile-only stand-in of the
//!   UnityEngine API — for the Editor, a desktop player and iOS (`__Internal`). They are not
//!   run: that needs Unity itself.
//! - `pinvoke_declarations_match_the_header`: `Runtime/Native/FoilNative.cs` against
//!   `include/foil.h` — every function (name, return type, parameter count, names and types),
//!   the enums' values, the structs' fields, the version — and the IL2CPP rules (blittable
//!   types only, no delegate parameters, `__Internal` on iOS). Needs no tool.
//!
//! `mcs`/`mono` missing skips the first two with a printed reason, unless
//! `FOIL_TEST_REQUIRE_SERVICES=1` (CI). `FOIL_TEST_FILTER=<part of a C# test name>` runs only
//! the matching C# tests.

mod native;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use native::{
    libfoil_dir, require_tool, run_limited, run_ok, scratch_dir, workspace_root, TestServer,
};

/// The player of the player tokens handed to the C# tests.
const TOKEN_PLAYER: &str = "mono-token-player";

/// How long the C# test program may run before it is killed.
const MONO_TIME_LIMIT: Duration = Duration::from_secs(150);

const MONO_HINT: &str = "apt-get install mono-mcs mono-runtime";

const NODE_HINT: &str = "install Node.js 18 or newer (the dashboard's `npm ci` needs it too)";

fn unity_dir() -> PathBuf {
    workspace_root().join("bindings/unity")
}

/// Every `.cs` file under `dir`, sorted (for stable compiler output).
fn cs_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "cs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    assert!(!out.is_empty(), "no .cs files under {}", dir.display());
    out
}

/// `mcs` with the options every compilation here shares (warnings as errors in our code).
fn mcs(mcs: &Path, out: &Path, target: &str, defines: &[&str], sources: &[PathBuf]) -> Command {
    let mut command = Command::new(mcs);
    command
        .arg("-langversion:7")
        .arg("-debug")
        .arg("-nologo")
        .arg(format!("-target:{target}"))
        .arg(format!("-out:{}", out.display()));
    for define in defines {
        command.arg(format!("-define:{define}"));
    }
    command.args(sources);
    command
}

/// Exit code, stdout and stderr of a finished program.
fn output_of(output: std::process::Output) -> (Option<i32>, String, String) {
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The names of the C# test cases a program built from `source` runs: every
/// `Case("name", Body)`, and `NativeCase("name", Body)` unless it runs over the WebGL transport.
fn declared_csharp_tests(source: &str, webgl: bool) -> Vec<String> {
    let pieces: Vec<&str> = source.split("Case(\"").collect();
    pieces
        .windows(2)
        .filter(|pair| !(webgl && pair[0].ends_with("Native")))
        .filter_map(|pair| pair[1].split('"').next())
        .map(str::to_string)
        .collect()
}

/// How a C# test program reaches the server.
#[derive(Clone, Copy, PartialEq)]
enum Transport {
    /// The native library, through P/Invoke.
    Native,
    /// The WebGL transport (`Plugins/WebGL/FoilEngine.jslib`) run by `node`.
    WebGl,
}

/// Runs a compiled C# test program (`FoilNativeTests.exe` / `UnityLayerTests.exe`) under Mono
/// against `server` and the freshly built library, and asserts that every test case its
/// `source` declares reported `ok` and that it exited with 0.
fn run_csharp_tests(
    mono: &Path,
    exe: &Path,
    source: &Path,
    server: &TestServer,
    transport: Transport,
) {
    let filter = std::env::var("FOIL_TEST_FILTER").unwrap_or_default();
    let mut command = Command::new(mono);
    if transport == Transport::WebGl {
        let node = require_tool("node", NODE_HINT).expect("checked by the caller");
        command
            .env("FOIL_NODE", node)
            .env("FOIL_WEBGL_HOST", unity_dir().join("Tests~/WebGL/host.js"));
    }
    command
        .arg("--debug")
        .arg(exe)
        .current_dir(exe.parent().expect("scratch directory"))
        // Mono resolves DllImport("foil") to libfoil.so through the dynamic loader.
        .env("LD_LIBRARY_PATH", libfoil_dir())
        .env("FOIL_BASE_URL", &server.base_url)
        .env("FOIL_API_KEY", &server.api_key)
        .env("FOIL_PERSONA_ID", server.persona_id("Grumpy Barista"))
        .env("FOIL_UNLOCK_PERSONA_ID", server.persona_id("Corwin"))
        .env("FOIL_EXAMPLES_DIR", &server.examples)
        .env("FOIL_TEST_TOKEN_PLAYER", TOKEN_PLAYER)
        .env(
            "FOIL_TEST_FRESH_TOKEN",
            server.player_token(TOKEN_PLAYER, 3600).0,
        )
        .env("FOIL_TEST_FILTER", &filter);
    let started = Instant::now();
    let (code, stdout, stderr) = output_of(run_limited(command, b"", MONO_TIME_LIMIT));
    let elapsed = started.elapsed();
    let program = exe.file_name().unwrap_or_default().to_string_lossy();
    println!("--- {program} stdout ({elapsed:.1?})\n{stdout}--- {program} stderr\n{stderr}");

    assert!(
        code.is_some(),
        "{program} did not finish within {MONO_TIME_LIMIT:?} (killed)"
    );
    let expected: Vec<String> = declared_csharp_tests(
        &std::fs::read_to_string(source).expect("read the C# tests"),
        transport == Transport::WebGl,
    )
    .into_iter()
    .filter(|name| name.contains(&filter))
    .collect();
    assert!(
        expected.len() >= 5 || !filter.is_empty(),
        "{} declares only {} tests: {expected:?}",
        source.display(),
        expected.len()
    );
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("FAILED "))
        .collect();
    assert!(
        failed.is_empty(),
        "{program}: C# tests failed:\n{}",
        failed.join("\n")
    );
    for name in &expected {
        assert!(
            stdout.lines().any(|l| l == format!("ok     {name}")),
            "{program}: C# test {name} did not report ok"
        );
    }
    let summary = format!("{} passed, 0 failed", expected.len());
    assert!(
        stdout.lines().any(|l| l == summary),
        "{program}: expected the summary line {summary:?}"
    );
    assert_eq!(code, Some(0), "{program}: mono exit code");
}

#[test]
fn csharp_core_passes_under_mono() {
    run_core_suite(Transport::Native);
}

/// The same C# tests with `UNITY_WEBGL` defined — the native declarations compile away and
/// the clients run over the WebGL transport — with the `.jslib` executed by Node (through
/// `Tests~/Mono/NodeBridge.cs`) against the same kind of server.
#[test]
fn csharp_core_passes_over_the_webgl_transport() {
    run_core_suite(Transport::WebGl);
}

/// Compiles the core — all of `Runtime/` without the Unity layer's symbols, so this also proves
/// the core needs no UnityEngine — with `FoilNativeTests.cs` for `transport`, and runs it.
fn run_core_suite(transport: Transport) {
    let (Some(mcs_path), Some(mono_path)) = (
        require_tool("mcs", MONO_HINT),
        require_tool("mono", MONO_HINT),
    ) else {
        return;
    };
    let unity = unity_dir();
    let test_source = unity.join("Tests~/Mono/FoilNativeTests.cs");
    let mut sources = cs_files(&unity.join("Runtime"));
    sources.push(test_source.clone());
    let (name, defines): (&str, &[&str]) = match transport {
        Transport::Native => ("FoilNativeTests.exe", &[]),
        Transport::WebGl => {
            if require_tool("node", NODE_HINT).is_none() {
                return;
            }
            sources.push(unity.join("Tests~/Mono/NodeBridge.cs"));
            ("FoilWebGLTests.exe", &["UNITY_WEBGL"])
        }
    };
    let scratch = scratch_dir();
    let exe = scratch.path().join(name);
    run_ok(&mut mcs(&mcs_path, &exe, "exe", defines, &sources));
    let server = TestServer::start();
    run_csharp_tests(&mono_path, &exe, &test_source, &server, transport);
}

/// Runs `node --test <file>` of `Tests~/WebGL` against `server` (plus `env`) and asserts that
/// all `expected` tests passed.
fn run_node_tests(file: &str, server: &TestServer, env: &[(&str, String)], expected: usize) {
    let Some(node) = require_tool("node", NODE_HINT) else {
        return;
    };
    let tests = unity_dir().join("Tests~/WebGL").join(file);
    let mut command = Command::new(node);
    command
        .arg("--test")
        .arg(&tests)
        .env("FOIL_BASE_URL", &server.base_url)
        .env("FOIL_API_KEY", &server.api_key)
        .env("FOIL_PERSONA_ID", server.persona_id("Grumpy Barista"))
        .envs(env.iter().map(|(k, v)| (k, v)));
    let (code, stdout, stderr) = output_of(run_limited(command, b"", MONO_TIME_LIMIT));
    println!("--- {file} stdout\n{stdout}--- {file} stderr\n{stderr}");
    assert!(
        stdout.lines().any(|l| l == format!("# pass {expected}")),
        "expected all {expected} tests of {file} to pass"
    );
    assert_eq!(code, Some(0), "node --test {file}: exit code");
}

/// How many tests a Node test file declares (`test(` at the start of a line).
fn declared_node_tests(file: &str) -> usize {
    let text = std::fs::read_to_string(unity_dir().join("Tests~/WebGL").join(file)).unwrap();
    let declared = text.matches("\ntest(").count();
    assert!(declared >= 2, "{file} declares {declared} tests");
    declared
}

/// The WebGL transport's JavaScript on its own, in Node (`Tests~/WebGL/webgl.test.js`): its
/// syntax, the C entry point, SSE parsing, retries, timeouts, cancellation, freeing and a
/// streamed conversation with a real server.
#[test]
fn webgl_transport_passes_in_node() {
    if require_tool("node", NODE_HINT).is_none() {
        return;
    }
    let server = TestServer::start();
    let file = "webgl.test.js";
    run_node_tests(file, &server, &[], declared_node_tests(file));
}

/// The WebGL transport in Debian's Chromium (playwright-core from the dashboard's
/// `node_modules`): a page on the one origin the server's CORS allows streams a reply; a page on
/// another origin is refused (`Tests~/WebGL/browser.test.mjs`).
#[test]
fn webgl_transport_runs_in_chromium() {
    if require_tool("node", NODE_HINT).is_none() {
        return;
    }
    let playwright = workspace_root().join("dashboard/node_modules/playwright-core");
    let chromium = Path::new("/usr/bin/chromium");
    if !playwright.is_dir() || !chromium.exists() {
        let reason = "needs Chromium at /usr/bin/chromium (apt-get install chromium) and \
                      playwright-core (cd dashboard && npm ci)";
        assert!(!native::tools_required(), "{reason}");
        eprintln!("SKIP: {reason}");
        return;
    }
    let page_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let server = TestServer::start_with_cors(vec![format!("http://127.0.0.1:{page_port}")]);
    let file = "browser.test.mjs";
    let env = [("FOIL_PAGE_PORT", page_port.to_string())];
    run_node_tests(file, &server, &env, declared_node_tests(file));
}

#[test]
fn unity_layer_runs_against_stubs() {
    let Some(mcs_path) = require_tool("mcs", MONO_HINT) else {
        return;
    };
    let Some(mono_path) = require_tool("mono", MONO_HINT) else {
        return;
    };
    let unity = unity_dir();
    let scratch = scratch_dir();

    let mut sources = cs_files(&unity.join("Runtime"));
    sources.extend(cs_files(&unity.join("Samples~")));
    sources.push(unity.join("Tests~/Mono/UnityStubs.cs"));

    // A desktop player, iOS (DllImport("__Internal")) and a WebGL player (no native
    // declarations at all; the WebGL transport's bridge instead): compiled only.
    for (name, defines) in [
        ("webgl", &["UNITY_5_3_OR_NEWER", "UNITY_WEBGL"][..]),
        (
            "player",
            &["UNITY_5_3_OR_NEWER", "UNITY_STANDALONE_LINUX"][..],
        ),
        ("ios", &["UNITY_5_3_OR_NEWER", "UNITY_IOS"][..]),
    ] {
        let out = scratch.path().join(format!("FoilEngine.{name}.dll"));
        run_ok(&mut mcs(&mcs_path, &out, "library", defines, &sources));
        assert!(out.is_file(), "{name}: no assembly written");
    }

    // The Editor: the Unity layer's lifecycle, run (the sample is compiled in, not run); the
    // Editor-only scripts are compiled in too.
    sources.extend(cs_files(&unity.join("Editor")));
    let test_source = unity.join("Tests~/Mono/UnityLayerTests.cs");
    sources.push(test_source.clone());
    let exe = scratch.path().join("UnityLayerTests.exe");
    run_ok(&mut mcs(
        &mcs_path,
        &exe,
        "exe",
        &["UNITY_5_3_OR_NEWER", "UNITY_EDITOR"],
        &sources,
    ));
    let server = TestServer::start();
    run_csharp_tests(&mono_path, &exe, &test_source, &server, Transport::Native);
}

// ---- native libraries' import settings ----

/// One enabled platform of a library's committed `.meta`, as `PluginLayoutTests.cs` prints
/// the layout table: `<path>|<Group>: <Platform>|CPU=<cpu>|OS=<os or ->`.
fn enabled_platforms(path: &str, meta: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = meta
        .lines()
        .skip_while(|l| l.trim() != "platformData:")
        .peekable();
    while let Some(line) = lines.next() {
        if line.trim() != "- first:" {
            continue;
        }
        let platform = lines
            .next()
            .expect("a platform after first:")
            .trim()
            .to_string();
        let mut enabled = false;
        let (mut cpu, mut os) = (String::new(), "-".to_string());
        while let Some(next) = lines.peek() {
            if next.trim() == "- first:" || !next.starts_with("    ") {
                break;
            }
            let next = lines.next().unwrap().trim();
            if let Some(value) = next.strip_prefix("enabled: ") {
                enabled = value == "1";
            } else if let Some(value) = next.strip_prefix("CPU: ") {
                cpu = value.to_string();
            } else if let Some(value) = next.strip_prefix("OS: ") {
                os = value.to_string();
            }
        }
        if platform.starts_with("Any:") {
            assert!(!enabled, "{path}: enabled for any platform");
        } else if enabled {
            out.push(format!("{path}|{platform}|CPU={cpu}|OS={os}"));
        }
    }
    out
}

/// Every `.meta` under `dir`.
fn meta_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "meta") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn native_library_metas_match_the_import_layout() {
    let unity = unity_dir();
    // Every asset of the package has its own GUID (a repeated one makes Unity drop one asset).
    let mut guids = BTreeMap::new();
    for meta in meta_files(&unity) {
        let text = std::fs::read_to_string(&meta).unwrap();
        let guid = text
            .lines()
            .find_map(|l| l.strip_prefix("guid: "))
            .unwrap_or_else(|| panic!("{} has no guid", meta.display()))
            .to_string();
        assert_eq!(guid.len(), 32, "{}", meta.display());
        if let Some(other) = guids.insert(guid, meta.clone()) {
            panic!("{} and {} share a guid", meta.display(), other.display());
        }
    }

    // The committed library metas: explicit platforms, none for "any".
    let plugins = unity.join("Plugins");
    let mut from_metas = BTreeSet::new();
    let mut claimed: BTreeMap<String, String> = BTreeMap::new();
    for meta in meta_files(&plugins) {
        let text = std::fs::read_to_string(&meta).unwrap();
        if !text.contains("PluginImporter:") {
            continue;
        }
        let path = meta.strip_prefix(&plugins).unwrap().with_extension("");
        let path = path.to_str().unwrap().replace('\\', "/");
        let platforms = enabled_platforms(&path, &text);
        if path.ends_with(".jslib") {
            // The WebGL transport: part of the package (never copied), for WebGL players only.
            assert_eq!(platforms, [format!("{path}|WebGL: WebGL|CPU=|OS=-")]);
            continue;
        }
        assert!(!platforms.is_empty(), "{path}: enabled nowhere");
        for line in platforms {
            // Two libraries of the same file name never serve the same platform and CPU.
            let file = path.rsplit('/').next().unwrap();
            let slot = format!("{file}|{}", line.split_once('|').unwrap().1);
            if let Some(other) = claimed.insert(slot.clone(), path.clone()) {
                panic!("{path} and {other} both serve {slot}");
            }
            from_metas.insert(line);
        }
    }

    // The layout table the Editor script applies to copies: the same settings.
    let (Some(mcs_path), Some(mono_path)) = (
        require_tool("mcs", MONO_HINT),
        require_tool("mono", MONO_HINT),
    ) else {
        return;
    };
    let scratch = scratch_dir();
    let exe = scratch.path().join("PluginLayoutTests.exe");
    let sources = [
        unity.join("Editor/NativePluginLayout.cs"),
        unity.join("Tests~/Mono/PluginLayoutTests.cs"),
    ];
    run_ok(&mut mcs(&mcs_path, &exe, "exe", &[], &sources));
    let output = Command::new(&mono_path).arg(&exe).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let from_table: BTreeSet<String> = stdout.lines().map(str::to_string).collect();
    assert_eq!(from_metas, from_table);
}

// ---- P/Invoke declarations vs include/foil.h ----

/// Removes `/* ... */` and `// ...` comments from C or C# source, leaving string and
/// character literals (which may contain `//`, e.g. URLs) intact.
fn strip_comments(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if c == '"' || c == '\'' {
            // A literal: copied up to its unescaped closing quote.
            out.push(c);
            i += 1;
            while i < chars.len() && chars[i] != c && chars[i] != '\n' {
                if chars[i] == '\\' {
                    out.push(chars[i]);
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    out.push(ch);
                }
                i += 1;
            }
            if let Some(&ch) = chars.get(i) {
                out.push(ch);
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `persona_id` -> `personaId`; `out_client` -> `outClient`.
fn camel(snake: &str) -> String {
    let pascal = pascal(snake);
    let mut chars = pascal.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// `base_url` / `BASE_URL` -> `BaseUrl`.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lower = p.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[derive(Debug)]
struct CFunction {
    ret: String,
    /// (type, name)
    params: Vec<(String, String)>,
}

/// Splits `const struct FoilClient *client` into (`const struct FoilClient *`, `client`).
fn split_c_declarator(decl: &str) -> (String, String) {
    let decl = squash(decl);
    let cut = decl
        .rfind([' ', '*'])
        .unwrap_or_else(|| panic!("no name in C declaration {decl:?}"));
    let name = decl[cut + 1..].to_string();
    let ty = squash(&decl[..=cut].replace('*', " * "));
    (ty, name)
}

fn header_functions(header: &str) -> BTreeMap<String, CFunction> {
    let body = header
        .split("extern \"C\" {")
        .nth(1)
        .expect("extern \"C\" block in foil.h");
    let body: String = strip_comments(body)
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut functions = BTreeMap::new();
    for statement in body.split(';') {
        let statement = squash(statement);
        let Some(open) = statement.find("foil_") else {
            continue;
        };
        let Some(paren) = statement[open..].find('(') else {
            continue;
        };
        let name = statement[open..open + paren].trim().to_string();
        let ret = squash(&statement[..open].replace('*', " * "));
        let args = statement[open + paren + 1..]
            .rsplit_once(')')
            .expect("closing parenthesis")
            .0
            .trim();
        let params = if args == "void" || args.is_empty() {
            Vec::new()
        } else {
            args.split(',').map(split_c_declarator).collect()
        };
        functions.insert(name, CFunction { ret, params });
    }
    assert!(
        functions.len() >= 20,
        "parsed only {} functions from foil.h: {:?}",
        functions.len(),
        functions.keys()
    );
    functions
}

/// `NAME = N` entries of `typedef enum NAME { ... }`.
fn header_enum(header: &str, name: &str) -> Vec<(String, i64)> {
    let text = strip_comments(header);
    let start = text
        .find(&format!("typedef enum {name} {{"))
        .unwrap_or_else(|| panic!("enum {name} in foil.h"));
    let body = &text[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
    enum_entries(body)
}

fn enum_entries(body: &str) -> Vec<(String, i64)> {
    body.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let (n, v) = entry
                .split_once('=')
                .unwrap_or_else(|| panic!("enum entry without an explicit value: {entry:?}"));
            (
                n.trim().to_string(),
                v.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("enum value {v:?}")),
            )
        })
        .collect()
}

/// (type, name) fields of `typedef struct NAME { ... } NAME;`.
fn header_struct(header: &str, name: &str) -> Vec<(String, String)> {
    let text = strip_comments(header);
    let start = text
        .find(&format!("typedef struct {name} {{"))
        .unwrap_or_else(|| panic!("struct {name} in foil.h"));
    let body = &text[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
    body.split(';')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(split_c_declarator)
        .collect()
}

/// The block after `header` (e.g. `public enum FoilStatus`), between its braces.
fn cs_block<'a>(text: &'a str, header: &str) -> &'a str {
    let start = text
        .find(header)
        .unwrap_or_else(|| panic!("{header} in FoilNative.cs"));
    let body = &text[start..];
    &body[body.find('{').unwrap() + 1..body.find('}').unwrap()]
}

#[derive(Debug)]
struct CsFunction {
    ret: String,
    /// (modifier + type, name)
    params: Vec<(String, String)>,
    /// The attributes before `public static extern`.
    attributes: String,
}

fn cs_functions(text: &str) -> BTreeMap<String, CsFunction> {
    let mut functions = BTreeMap::new();
    for piece in text.split("static extern ").skip(1) {
        let decl = squash(&piece[..piece.find(';').expect("; after extern")]);
        let open = decl.find('(').expect("( in extern");
        let (ret, name) = decl[..open]
            .trim()
            .rsplit_once(' ')
            .expect("return type and name");
        let args = decl[open + 1..].rsplit_once(')').expect(")").0.trim();
        let params = if args.is_empty() {
            Vec::new()
        } else {
            args.split(',')
                .map(|a| {
                    let a = a.trim();
                    let (ty, name) = a.rsplit_once(' ').expect("parameter type and name");
                    (ty.to_string(), name.trim_start_matches('@').to_string())
                })
                .collect()
        };
        functions.insert(
            name.to_string(),
            CsFunction {
                ret: ret.to_string(),
                params,
                attributes: String::new(),
            },
        );
    }
    // The attributes of each extern: the text between the previous declaration's `;` (or
    // the class's `{`) and `public static extern NAME`.
    for (name, function) in functions.iter_mut() {
        let at = text
            .find(&format!(" {name}("))
            .expect("declaration found again");
        let before = &text[..at];
        let from = before.rfind(';').max(before.rfind('{')).unwrap_or(0);
        function.attributes = squash(&before[from..]);
    }
    functions
}

/// The C# types a C type may be declared as (blittable, IL2CPP-safe).
fn allowed_cs_types(c: &str) -> &'static [&'static str] {
    match c {
        "void" => &["void"],
        "bool" => &["bool"],
        "uint16_t" => &["ushort"],
        "int32_t" => &["int"],
        "uint32_t" => &["uint"],
        "uint64_t" => &["ulong"],
        "size_t" => &["UIntPtr"],
        "enum FoilStatus" => &["FoilStatus"],
        "enum FoilEventKind" => &["FoilEventKind"],
        "const char *" | "char *" | "void *" | "FoilEventCallback" => &["IntPtr"],
        "struct FoilClient *" | "const struct FoilClient *" => &["IntPtr"],
        "struct FoilClient * *" => &["out IntPtr", "ref IntPtr"],
        "const struct FoilClientConfig *" => &["ref FoilClientConfig", "in FoilClientConfig"],
        "struct FoilClientConfig *" => &["ref FoilClientConfig"],
        "struct FoilEvent *" => &["out FoilEvent", "ref FoilEvent"],
        "const struct FoilEvent *" => &["ref FoilEvent", "in FoilEvent"],
        _ => &[],
    }
}

#[test]
fn pinvoke_declarations_match_the_header() {
    let header = std::fs::read_to_string(workspace_root().join("include/foil.h")).expect("foil.h");
    let native_cs = std::fs::read_to_string(unity_dir().join("Runtime/Native/FoilNative.cs"))
        .expect("FoilNative.cs");
    let cs = strip_comments(&native_cs);
    let mut problems = Vec::new();

    // Functions: the same set, and each with the same signature.
    let c_functions = header_functions(&header);
    let cs_functions = cs_functions(&cs);
    for name in c_functions.keys() {
        if !cs_functions.contains_key(name) {
            problems.push(format!("{name}: in foil.h, not declared in FoilNative.cs"));
        }
    }
    for (name, f) in &cs_functions {
        let Some(c) = c_functions.get(name) else {
            problems.push(format!("{name}: declared in FoilNative.cs, not in foil.h"));
            continue;
        };
        if !f
            .attributes
            .contains("DllImport(LibName, CallingConvention = CallingConvention.Cdecl)")
        {
            problems.push(format!(
                "{name}: not [DllImport(LibName, CallingConvention = CallingConvention.Cdecl)]: {}",
                f.attributes
            ));
        }
        if !allowed_cs_types(&c.ret).contains(&f.ret.as_str()) {
            problems.push(format!(
                "{name}: returns {} in C#, {} in C (allowed: {:?})",
                f.ret,
                c.ret,
                allowed_cs_types(&c.ret)
            ));
        }
        if c.ret == "bool"
            && !f
                .attributes
                .contains("[return: MarshalAs(UnmanagedType.U1)]")
        {
            problems.push(format!(
                "{name}: a C bool return needs [return: MarshalAs(UnmanagedType.U1)]"
            ));
        }
        if f.params.len() != c.params.len() {
            problems.push(format!(
                "{name}: {} parameters in C#, {} in C",
                f.params.len(),
                c.params.len()
            ));
            continue;
        }
        for (i, ((cs_ty, cs_name), (c_ty, c_name))) in f.params.iter().zip(&c.params).enumerate() {
            if *cs_name != camel(c_name) {
                problems.push(format!(
                    "{name}: parameter {i} is {cs_name} in C#, {c_name} in C (expected {})",
                    camel(c_name)
                ));
            }
            if !allowed_cs_types(c_ty).contains(&cs_ty.as_str()) {
                problems.push(format!(
                    "{name}: parameter {c_name} is {cs_ty} in C#, {c_ty} in C (allowed: {:?})",
                    allowed_cs_types(c_ty)
                ));
            }
            if c_ty == "bool" {
                problems.push(format!(
                    "{name}: bool parameter {c_name} needs an explicit MarshalAs (not handled here)"
                ));
            }
        }
    }

    // Enums: the same names with the same numbers, both ways.
    for (c_name, cs_header, prefix) in [
        ("FoilStatus", "public enum FoilStatus : int", "FOIL_STATUS_"),
        (
            "FoilEventKind",
            "public enum FoilEventKind : int",
            "FOIL_EVENT_",
        ),
    ] {
        let c_values: Vec<(String, i64)> = header_enum(&header, c_name)
            .into_iter()
            .map(|(n, v)| {
                let short = n
                    .strip_prefix(prefix)
                    .unwrap_or_else(|| panic!("{n} lacks the prefix {prefix}"));
                (pascal(short), v)
            })
            .collect();
        let cs_values = enum_entries(cs_block(&cs, cs_header));
        if c_values != cs_values {
            problems.push(format!(
                "enum {c_name} differs:\n  foil.h:        {c_values:?}\n  FoilNative.cs: {cs_values:?}"
            ));
        }
    }

    // Structs: the same fields, in the same order, with matching types.
    for name in ["FoilClientConfig", "FoilEvent"] {
        if !squash(&cs).contains(&format!(
            "[StructLayout(LayoutKind.Sequential)] public struct {name}"
        )) {
            problems.push(format!(
                "struct {name} is not [StructLayout(LayoutKind.Sequential)]"
            ));
        }
        let c_fields = header_struct(&header, name);
        let cs_fields: Vec<(String, String)> = cs_block(&cs, &format!("public struct {name}"))
            .split(';')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|f| {
                let f = squash(f);
                let f = f.strip_prefix("public ").unwrap_or(&f);
                let (ty, n) = f.split_once(' ').expect("field type and name");
                (ty.to_string(), n.to_string())
            })
            .collect();
        if c_fields.len() != cs_fields.len() {
            problems.push(format!(
                "struct {name}: {} fields in C, {} in C#",
                c_fields.len(),
                cs_fields.len()
            ));
            continue;
        }
        for ((c_ty, c_name), (cs_ty, cs_name)) in c_fields.iter().zip(&cs_fields) {
            if *cs_name != pascal(c_name) || !allowed_cs_types(c_ty).contains(&cs_ty.as_str()) {
                problems.push(format!(
                    "struct {name}: C field `{c_ty} {c_name}` vs C# `{cs_ty} {cs_name}`"
                ));
            }
        }
    }

    // The version the declarations were written for.
    let version = header
        .lines()
        .find_map(|l| l.strip_prefix("#define FOIL_VERSION \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("FOIL_VERSION in foil.h");
    if !cs.contains(&format!("public const string Version = \"{version}\";")) {
        problems.push(format!(
            "FoilNative.Version is not FOIL_VERSION ({version})"
        ));
    }

    // iOS links the static library: the library name must be __Internal there.
    let squashed = squash(&cs);
    if !squashed.contains(
        "#if UNITY_IOS && !UNITY_EDITOR public const string LibName = \"__Internal\"; #else public const string LibName = \"foil\"; #endif",
    ) {
        problems.push("LibName is not \"__Internal\" on iOS and \"foil\" elsewhere".into());
    }

    // IL2CPP: no managed delegate is handed to native code except through a static
    // [MonoPInvokeCallback] method (the binding polls, so there should be none at all).
    for file in cs_files(&unity_dir().join("Runtime")) {
        let text = strip_comments(&std::fs::read_to_string(&file).expect("read C#"));
        let rel = file
            .strip_prefix(workspace_root())
            .unwrap_or(&file)
            .display();
        if text.contains("GetFunctionPointerForDelegate") && !text.contains("MonoPInvokeCallback") {
            problems.push(format!(
                "{rel}: passes a delegate to native code without [MonoPInvokeCallback]"
            ));
        }
        for (at, _) in text.match_indices("MonoPInvokeCallback") {
            // The attribute's target: the declaration up to its parameter list.
            let after = &text[at..];
            let target = after
                .find(']')
                .map(|close| &after[close + 1..])
                .and_then(|t| t.find('(').map(|open| squash(&t[..open])))
                .unwrap_or_default();
            if !target.split(' ').any(|word| word == "static") {
                problems.push(format!(
                    "{rel}: [MonoPInvokeCallback] on a target that is not a static method: {target}"
                ));
            }
        }
        let uses_unity = text.contains("UnityEngine") || text.contains("UnityEditor");
        if uses_unity && !text.trim_start().starts_with("#if UNITY_5_3_OR_NEWER") {
            problems.push(format!(
                "{rel}: uses UnityEngine outside `#if UNITY_5_3_OR_NEWER` (the core must not)"
            ));
        }
    }

    assert!(
        problems.is_empty(),
        "FoilNative.cs does not match include/foil.h:\n- {}",
        problems.join("\n- ")
    );
}
