//! Gives the shared library an ELF SONAME on Linux and Android, so a program linked against
//! `libfoil.so` records `libfoil.so` as its dependency rather than the build machine's path.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "android" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libfoil.so");
    }
}
