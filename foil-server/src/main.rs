fn main() -> std::process::ExitCode {
    foil_server::cli::main()
}
