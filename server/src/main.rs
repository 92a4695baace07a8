//! The `curvecast` binary: a thin entry point over [`server::cli`].

fn main() -> std::process::ExitCode {
    server::cli::main()
}
