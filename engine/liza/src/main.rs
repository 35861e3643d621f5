fn main() -> std::process::ExitCode {
    liza::cli::run()
}
