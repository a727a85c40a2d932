//! The `foil-server` binary: see [`foil_server::cli`].

fn main() -> std::process::ExitCode {
    foil_server::cli::main()
}
