//! The library games ship (issue 18): `scripts/dist --only foil` builds `libfoil` with the
//! `dist` profile against glibc 2.17 (cargo-zigbuild), and this test checks what came out —
//! no `GLIBC_` symbol version newer than 2.17, at most 8 MiB, an ELF `SONAME`, only `foil_`
//! functions exported, the headers beside it and the archive made — then links a C program
//! against it and runs it.
//!
//! The build takes minutes (fat LTO), so it runs only with `FOIL_TEST_DIST=1` (set by
//! `.ci/run`); without it the test prints why it skips.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The highest glibc symbol version the library may need.
const GLIBC_BASELINE: (u32, u32) = (2, 17);
/// The most the stripped library may weigh.
const MAX_BYTES: u64 = 8 * 1024 * 1024;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds foil-ffi-tests")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> String {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        output.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `GLIBC_2.x` versions named in `objdump -T` output.
fn glibc_versions(dynamic_symbols: &str) -> Vec<(u32, u32)> {
    dynamic_symbols
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        })
        .collect()
}

/// Names of the functions and data the library defines in its dynamic symbol table.
fn exported(nm_output: &str) -> Vec<String> {
    nm_output
        .lines()
        .filter_map(|line| line.split_whitespace().last())
        .map(str::to_owned)
        .collect()
}

#[test]
fn glibc_versions_are_read_from_objdump() {
    let sample = "0000 DF *UND* 0000 (GLIBC_2.2.5) memcpy\n0000 DF *UND* 0000 (GLIBC_2.17) clock_gettime\n0000 DF *UND* 0000 GLIBC_2.3.4 __sprintf_chk";
    assert_eq!(glibc_versions(sample), [(2, 2), (2, 17), (2, 3)]);
}

#[test]
fn the_dist_library_loads_on_old_glibc_and_exports_only_its_api() {
    if !std::env::var("FOIL_TEST_DIST").is_ok_and(|v| v == "1") {
        println!(
            "SKIP: set FOIL_TEST_DIST=1 to build the distribution library (minutes) and check it"
        );
        return;
    }
    let root = workspace();
    run(Command::new("bash")
        .arg(root.join("scripts/dist"))
        .args(["--only", "foil"])
        .current_dir(&root));

    let version = env!("CARGO_PKG_VERSION");
    let dir = root.join(format!("target/dist/foil-{version}-linux-x86_64"));
    let lib = dir.join("lib/libfoil.so");
    assert!(
        dir.join("lib/libfoil.a").is_file(),
        "static library laid out"
    );
    for header in ["foil.h", "foil.hpp"] {
        assert_eq!(
            std::fs::read(dir.join("include").join(header)).unwrap(),
            std::fs::read(root.join("include").join(header)).unwrap(),
            "{header} laid out as committed"
        );
    }
    assert!(
        root.join(format!("target/dist/foil-{version}-linux-x86_64.tar.gz"))
            .is_file(),
        "release archive made"
    );

    // The Unity package tarball: the package with the library beside its committed import
    // settings, no tests.
    let tgz = dir.join(format!("unity/com.foilengine.native-{version}.tgz"));
    let listing = run(Command::new("tar").arg("-tzf").arg(&tgz));
    for entry in [
        "package/package.json",
        "package/Plugins/Linux/x86_64/libfoil.so",
        "package/Plugins/Linux/x86_64/libfoil.so.meta",
        "package/Runtime/FoilEngineClient.cs",
        "package/Editor/NativePluginImport.cs",
        "package/Plugins/WebGL/FoilEngine.jslib",
        "package/Plugins/WebGL/FoilEngine.jslib.meta",
    ] {
        assert!(
            listing.lines().any(|l| l == entry),
            "{entry} not in {listing}"
        );
    }
    assert!(!listing.contains("Tests~"), "tests shipped: {listing}");

    let size = std::fs::metadata(&lib).unwrap().len();
    assert!(
        size <= MAX_BYTES,
        "libfoil.so is {size} bytes (limit {MAX_BYTES})"
    );

    let dynamic = run(Command::new("objdump").arg("-T").arg(&lib));
    let versions = glibc_versions(&dynamic);
    assert!(!versions.is_empty(), "no GLIBC_ versions found:\n{dynamic}");
    let newest = versions.iter().max().unwrap();
    assert!(
        *newest <= GLIBC_BASELINE,
        "needs GLIBC_{}.{}, newer than the 2.17 baseline",
        newest.0,
        newest.1
    );

    let headers = run(Command::new("objdump").arg("-p").arg(&lib));
    assert!(
        headers
            .lines()
            .any(|l| l.split_whitespace().eq(["SONAME", "libfoil.so"])),
        "SONAME libfoil.so missing:\n{headers}"
    );

    let symbols = exported(&run(Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&lib)));
    assert!(symbols.iter().any(|s| s == "foil_version"), "{symbols:?}");
    let foreign: Vec<_> = symbols.iter().filter(|s| !s.starts_with("foil_")).collect();
    assert!(foreign.is_empty(), "exported besides the API: {foreign:?}");

    // A C program links against the laid-out library and headers, and runs.
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("version.c");
    std::fs::write(
        &source,
        "#include <stdio.h>\n#include <string.h>\n#include \"foil.h\"\n\
         int main(void) { printf(\"%s\\n\", foil_version()); \
         return strcmp(foil_version(), FOIL_VERSION) != 0; }\n",
    )
    .unwrap();
    let program = work.path().join("version");
    run(Command::new("cc")
        .arg(&source)
        .arg("-I")
        .arg(dir.join("include"))
        .arg("-L")
        .arg(dir.join("lib"))
        .arg(format!("-Wl,-rpath,{}", dir.join("lib").display()))
        .args(["-lfoil", "-o"])
        .arg(&program));
    let printed = run(&mut Command::new(&program));
    assert_eq!(printed.trim(), version);
}
