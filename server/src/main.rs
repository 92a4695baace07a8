//! The `curvecast` binary: a thin entry point over [`server::cli`], carrying the built web
//! app when it was embedded at build time (see `build.rs`).

/// `(path under the app's root, bytes)` of every file of the embedded web app.
static EMBEDDED_APP: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/embedded_app.rs"));

fn main() -> std::process::ExitCode {
    server::cli::main(EMBEDDED_APP)
}
