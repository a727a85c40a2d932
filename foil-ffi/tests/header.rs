//! `include/foil.h` is generated from the sources by cbindgen and committed; these tests keep
//! it current, keep its version macros equal to Cargo's version and `foil_version()`, and
//! check that it compiles as C and C++.
//!
//! Regenerate the header with:
//!
//! ```text
//! FOIL_BLESS=1 cargo test -p foil-ffi --test header
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

const BLESS: &str = "FOIL_BLESS=1 cargo test -p foil-ffi --test header";

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    crate_dir().join("../include/foil.h")
}

/// The header as cbindgen makes it now.
fn generate() -> String {
    let mut config = cbindgen::Config::from_file(crate_dir().join("cbindgen.toml"))
        .expect("foil-ffi/cbindgen.toml");
    config.after_includes = Some(format!(
        "\n/** The version of this header (and of the library built with it). */\n\
         #define FOIL_VERSION \"{}\"\n\
         #define FOIL_VERSION_MAJOR {}\n\
         #define FOIL_VERSION_MINOR {}\n\
         #define FOIL_VERSION_PATCH {}",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    ));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir().join("src/lib.rs"))
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("UTF-8 header")
}

#[test]
fn committed_header_is_current() {
    let fresh = generate();
    let path = header_path();
    if std::env::var("FOIL_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("write include/foil.h");
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let first_difference = committed
            .lines()
            .zip(fresh.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(n, (a, b))| format!("line {}:\n  committed: {a}\n  generated: {b}", n + 1))
            .unwrap_or_else(|| "one file is a prefix of the other".into());
        panic!(
            "include/foil.h is out of date with foil-ffi/src ({first_difference}).\n\
             Regenerate it with:\n\n    {BLESS}\n"
        );
    }
}

fn macro_value(header: &str, name: &str) -> String {
    let prefix = format!("#define {name} ");
    header
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{name} missing from include/foil.h"))
        .trim()
        .to_string()
}

#[test]
fn versions_agree() {
    let header = std::fs::read_to_string(header_path()).expect("include/foil.h");
    let cargo = env!("CARGO_PKG_VERSION");
    assert_eq!(macro_value(&header, "FOIL_VERSION"), format!("\"{cargo}\""));
    assert_eq!(
        macro_value(&header, "FOIL_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert_eq!(
        macro_value(&header, "FOIL_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_MINOR")
    );
    assert_eq!(
        macro_value(&header, "FOIL_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION_PATCH")
    );
    // SAFETY: foil_version returns a static NUL-terminated string.
    let runtime = unsafe { std::ffi::CStr::from_ptr(foil::foil_version()) };
    assert_eq!(runtime.to_str().unwrap(), cargo);
}

/// Compiles a translation unit that includes the header (and uses a few of its names) with
/// the system's C and C++ compilers, warnings as errors.
#[test]
fn header_compiles_as_c_and_cpp() {
    let dir = tempfile::tempdir().unwrap();
    let source = r#"
#include "foil.h"
int main(void) {
  FoilClientConfig config;
  static FoilEvent event;
  FoilStatus status = FOIL_STATUS_OK;
  foil_client_config_init(&config);
  (void)event; (void)status;
  return FOIL_EVENT_NONE + FOIL_VERSION_MAJOR * 0;
}
"#;
    let include = crate_dir().join("../include");
    for (compiler, ext, std) in [("cc", "c", "-std=c99"), ("c++", "cpp", "-std=c++17")] {
        if Command::new(compiler).arg("--version").output().is_err() {
            // .ci/run installs gcc/g++; a developer machine without them skips this part.
            eprintln!("SKIP: {compiler} not found");
            continue;
        }
        let file = dir.path().join(format!("use_header.{ext}"));
        std::fs::write(&file, source).unwrap();
        let output = Command::new(compiler)
            .args([std, "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I"])
            .arg(&include)
            .arg(&file)
            .output()
            .expect("run the compiler");
        assert!(
            output.status.success(),
            "{compiler} rejected include/foil.h:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
