//! The files Godot reads stay consistent with the crate: the addon's `foil_engine.gdextension`
//! (entry symbol, API level, library names, icons), the demo's list of extensions (so it runs
//! from a fresh clone), and the demo's use of the nodes' API.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `section -> key -> value` of an INI-style file (comments and quotes stripped).
fn ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_string();
            continue;
        }
        let (key, value) = line.split_once('=').expect("key = value");
        sections
            .entry(current.clone())
            .or_default()
            .insert(key.trim().into(), value.trim().trim_matches('"').into());
    }
    sections
}

/// The addon, as it ships: `res://addons/foil_engine/` of the demo project.
const ADDON: &str = "demo/addons/foil_engine";

#[test]
fn the_gdextension_file_matches_the_crate() {
    let text = read(&crate_dir().join(ADDON).join("foil_engine.gdextension"));
    let file = ini(&text);
    let config = &file["configuration"];
    assert_eq!(config["entry_symbol"], "gdext_rust_init");
    // The API level the crate is built against is the minimum Godot version.
    let manifest = read(&crate_dir().join("Cargo.toml"));
    let api = manifest
        .split('"')
        .find_map(|s| s.strip_prefix("api-"))
        .expect("an api-4-x feature of godot");
    assert_eq!(config["compatibility_minimum"], api.replace('-', "."));

    let libraries = &file["libraries"];
    for (key, path) in libraries {
        let platform = key.split('.').next().unwrap();
        let name = match platform {
            "linux" => "libfoil_godot.so",
            "windows" => "foil_godot.dll",
            "macos" => "libfoil_godot.dylib",
            other => panic!("unexpected platform {other}"),
        };
        assert!(
            path.starts_with("res://addons/foil_engine/bin/"),
            "{key} = {path}"
        );
        assert!(path.ends_with(&format!("/{name}")), "{key} = {path}");
        let build = key.split('.').nth(1).expect("platform.build[.arch]");
        assert!(path.contains(&format!("/{build}/")), "{key} = {path}");
    }
    for needed in [
        "linux.debug.x86_64",
        "linux.release.x86_64",
        "windows.debug.x86_64",
        "windows.release.x86_64",
        "macos.debug",
        "macos.release",
    ] {
        assert!(libraries.contains_key(needed), "no {needed}");
    }
    let paths: BTreeSet<&String> = libraries.values().collect();
    assert_eq!(paths.len(), libraries.len(), "one file per entry");

    // An editor icon for every class the extension registers, and each icon file exists.
    let icons = &file["icons"];
    assert_eq!(
        icons.keys().cloned().collect::<BTreeSet<_>>(),
        godot_classes()
    );
    for icon in icons.values() {
        let relative = icon
            .strip_prefix("res://")
            .unwrap_or_else(|| panic!("{icon}"));
        let svg = read(&crate_dir().join("demo").join(relative));
        assert!(svg.starts_with("<svg"), "{icon} is an SVG");
    }

    // The demo loads the addon without an editor scan first (`godot --path demo` from a fresh
    // clone): Godot reads the list of extensions from `.godot/extension_list.cfg`.
    let listed = read(&crate_dir().join("demo/.godot/extension_list.cfg"));
    assert_eq!(
        listed.lines().collect::<Vec<_>>(),
        ["res://addons/foil_engine/foil_engine.gdextension"]
    );
}

/// The library `cargo test` just built exports the entry symbol the file names.
#[cfg(target_os = "linux")]
#[test]
fn the_built_library_exports_the_entry_symbol() {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let library = deps.join("libfoil_godot.so");
    assert!(library.is_file(), "{} not built", library.display());
    let output = std::process::Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&library)
        .output()
        .expect("nm (binutils) is needed for this test");
    assert!(output.status.success());
    let symbols = String::from_utf8_lossy(&output.stdout);
    assert!(
        symbols.lines().any(|l| l.ends_with(" T gdext_rust_init")),
        "gdext_rust_init not exported"
    );
}

/// The classes the crate registers: every `#[derive(GodotClass)]` struct in `src/`.
fn godot_classes() -> BTreeSet<String> {
    let mut classes = BTreeSet::new();
    for entry in std::fs::read_dir(crate_dir().join("src")).unwrap() {
        let source = read(&entry.unwrap().path());
        for (i, _) in source.match_indices("#[derive(GodotClass)]") {
            let after = &source[i..];
            let name = after
                .split("pub struct ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .expect("a struct after the derive");
            classes.insert(name.to_string());
        }
    }
    assert!(classes.len() >= 2, "{classes:?}");
    classes
}

/// Names declared after `#[signal]` / `#[func]` in a node's source.
fn declared(source: &str, attribute: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut armed = false;
    for line in source.lines().map(str::trim) {
        if line == attribute {
            armed = true;
        } else if armed && line.starts_with("fn ") {
            let name = line[3..].split('(').next().unwrap();
            names.insert(name.to_string());
            armed = false;
        }
    }
    names
}

#[test]
fn the_demo_uses_only_what_the_node_declares() {
    let node = read(&crate_dir().join("src/node.rs"));
    let signals = declared(&node, "#[signal]");
    let funcs = declared(&node, "#[func]");
    for s in [
        "session_started",
        "message_received",
        "text_delta",
        "state_changed",
        "score_changed",
        "machine_completed",
        "machines_unlocked",
        "session_ended",
        "request_failed",
    ] {
        assert!(signals.contains(s), "signal {s} missing: {signals:?}");
    }
    for f in [
        "list_personas",
        "list_machines",
        "init_session",
        "send_message",
        "send_message_stream",
        "get_session",
        "get_history",
        "reset",
        "cancel",
    ] {
        assert!(funcs.contains(f), "method {f} missing: {funcs:?}");
    }
    // Every Signal the dispatcher produces has its Godot signal.
    let dispatch = read(&crate_dir().join("src/dispatch.rs"));
    let start = dispatch.find("pub fn name(&self)").unwrap();
    let end = start + dispatch[start..].find("\n    }\n").unwrap();
    for emitted in dispatch[start..end].split('"').skip(1).step_by(2) {
        assert!(signals.contains(emitted), "no #[signal] fn {emitted}");
    }

    let conversation = read(&crate_dir().join("src/conversation_node.rs"));
    let conversation_signals = declared(&conversation, "#[signal]");
    let conversation_funcs = declared(&conversation, "#[func]");
    for s in [
        "started",
        "reply_delta",
        "reply_finished",
        "failed",
        "session_ended",
    ] {
        assert!(conversation_signals.contains(s), "FoilConversation: no {s}");
    }
    for f in ["start", "say", "reset", "cancel", "is_busy"] {
        assert!(conversation_funcs.contains(f), "FoilConversation: no {f}");
    }

    let script = read(&crate_dir().join("demo/main.gd"));
    for (variable, signals, funcs, at_least) in [
        ("foil.", &signals, &funcs, 3),
        ("npc.", &conversation_signals, &conversation_funcs, 10),
    ] {
        let mut used = 0;
        for (i, _) in script.match_indices(variable) {
            let rest = &script[i + variable.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let after = &rest[name.len()..];
            if after.starts_with(".connect(") {
                assert!(
                    signals.contains(&name),
                    "main.gd connects to unknown {variable}{name}"
                );
            } else if after.starts_with('(') {
                assert!(
                    funcs.contains(&name),
                    "main.gd calls unknown {variable}{name}"
                );
            } else {
                continue; // a property
            }
            used += 1;
        }
        assert!(used >= at_least, "main.gd wires {variable} ({used} uses)");
    }
    let scene = read(&crate_dir().join("demo/main.tscn"));
    assert!(scene.contains("type=\"FoilClient\""));
    assert!(scene.contains("type=\"FoilConversation\""));
    assert!(scene.contains("path=\"res://main.gd\""));
}
