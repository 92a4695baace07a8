//! Project automation (`cargo xtask <command>`), in Rust so there is no shell zoo.
//!
//! - `serve`: build everything (the wasm app, the server) and start the web app with demo data.
//! - `test`: install what the tests need, build the app, and run every test.
//! - `dist [--release]`: build the web app into `dist/`.
//! - `completions [--out DIR]`: shell completions (bash, zsh, fish) and man pages, written by
//!   the built `curvecast` itself (hidden `curvecast completions`), so this crate never links
//!   the server and polars; default `target/completions`.
//! - `screenshots`: the README's pictures, `docs/img/forecast.png` and
//!   `docs/img/fit-report.png`, taken in headless Chromium over the demo runs by the
//!   `e2e` example `screenshots` (`tests/examples/screenshots.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const WASM_TARGET: &str = "wasm32-unknown-unknown";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(&rest),
        Some("test") => test(),
        Some("dist") => dist(rest.contains(&"--release")).map(|_| ()),
        Some("completions") => completions(&rest),
        Some("screenshots") => screenshots(),
        _ => {
            eprintln!(
                "usage: cargo xtask <serve [curvecast serve flags] | test | dist [--release] | completions [--out DIR] | screenshots>"
            );
            std::process::exit(2)
        }
    }
}

/// The workspace root, asked of cargo at run time (a path baked in at compile time
/// would go stale when the build cache is shared between checkouts).
fn root() -> PathBuf {
    let manifest = Command::new(cargo_bin())
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| PathBuf::from(s.trim()));
    match manifest.as_deref().and_then(Path::parent) {
        Some(root) if root.join("Cargo.toml").exists() => root.to_path_buf(),
        _ => {
            eprintln!("xtask: run me inside the curvecast workspace");
            std::process::exit(2)
        }
    }
}

fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Cargo in the workspace root. Every build the xtask makes embeds the web app of
/// `dist/` into the `curvecast` binary (`server/build.rs`), so the same variable keeps
/// `serve`, `test` and `dist` sharing one build of the server.
fn cargo() -> Command {
    let mut cmd = Command::new(cargo_bin());
    let root = root();
    cmd.current_dir(&root)
        .env("CURVECAST_EMBED_DIST", root.join("dist"));
    cmd
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Builds the `curvecast` binary and returns its path.
fn build_curvecast() -> Result<PathBuf> {
    // The same package and target set as `cargo test`, so both share one polars build
    // (a narrower `-p server` resolves other features and compiles polars again).
    run(cargo().args(["build", "--all-targets"]))?;
    Ok(target_dir()?.join("debug/curvecast"))
}

fn serve(flags: &[&str]) -> Result<()> {
    dist(true)?;
    let bin = build_curvecast()?;
    let root = root();
    run(Command::new(bin)
        .current_dir(&root)
        .args(["serve", "--demo", "fixtures/demo", "--dist", "dist"])
        .args(flags))
}

/// `completions [--out DIR]`: the folder, relative to where xtask was started; by default
/// `target/completions` of the workspace.
fn completions_dir(flags: &[&str]) -> Result<Option<PathBuf>> {
    match flags {
        [] => Ok(None),
        ["--out", dir] => Ok(Some(PathBuf::from(dir))),
        [flag] if flag.starts_with("--out=") => Ok(Some(PathBuf::from(&flag["--out=".len()..]))),
        _ => bail!("usage: cargo xtask completions [--out DIR], not {flags:?}"),
    }
}

fn completions(flags: &[&str]) -> Result<()> {
    let out = completions_dir(flags)?.unwrap_or_else(|| root().join("target/completions"));
    let bin = build_curvecast()?;
    run(Command::new(bin).arg("completions").arg("--out").arg(&out))?;
    eprintln!(
        "xtask: bash: source {0}/curvecast.bash; zsh: {0}/_curvecast in your fpath; \
         fish: {0}/curvecast.fish in ~/.config/fish/completions; man -l {0}/man/curvecast.1",
        out.display()
    );
    Ok(())
}

/// Builds the web app and the `screenshots` example (with the same command as the tests,
/// so polars is not compiled again), which writes `docs/img/*.png`.
fn screenshots() -> Result<()> {
    ensure_browser()?;
    dist(false)?;
    build_curvecast()?;
    let out = root().join("docs/img");
    run(
        Command::new(target_dir()?.join("debug/examples/screenshots"))
            .current_dir(root())
            .arg("--out")
            .arg(&out),
    )?;
    eprintln!("xtask: look at them, then commit {}", out.display());
    Ok(())
}

fn test() -> Result<()> {
    ensure_browser()?;
    ensure_python_requests()?;
    ensure_curl()?;
    dist(false)?;
    run(cargo().args(["build", "--package", "shared", "--target", WASM_TARGET]))?;
    run(cargo().args(["test", "--no-fail-fast"]))
}

/// Builds the Leptos app to wasm32, generates its JS glue with wasm-bindgen (as a
/// library, so its version always matches the `wasm-bindgen` in Cargo.lock), and lays
/// out `dist/` with the page, the stylesheet and plotly.js.
fn dist(release: bool) -> Result<PathBuf> {
    ensure_wasm_target()?;
    let mut build = cargo();
    build.args(["build", "--package", "app", "--target", WASM_TARGET]);
    if release {
        build.arg("--release");
    }
    run(&mut build)?;
    let profile = if release { "release" } else { "debug" };
    let wasm = target_dir()?
        .join(WASM_TARGET)
        .join(profile)
        .join("app.wasm");
    let dist = root().join("dist");
    let pkg = dist.join("pkg");
    std::fs::create_dir_all(&pkg)?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)?
        // The library's default (true) differs from the CLI's and breaks `init()`.
        .omit_default_module_path(false)
        .debug(!release)
        .generate(&pkg)
        .map_err(|e| anyhow::anyhow!("wasm-bindgen: {e}"))?;
    std::fs::copy(root().join("app/index.html"), dist.join("index.html"))?;
    std::fs::copy(root().join("style/style.css"), dist.join("style.css"))?;
    std::fs::copy(plotly_js()?, dist.join("plotly.min.js"))?;
    eprintln!("xtask: web app built in {}", dist.display());
    Ok(dist)
}

fn metadata(deps: bool) -> Result<serde_json::Value> {
    let mut cmd = cargo();
    cmd.args(["metadata", "--format-version", "1"]);
    if !deps {
        cmd.arg("--no-deps");
    }
    Ok(serde_json::from_str(&output(&mut cmd)?)?)
}

fn target_dir() -> Result<PathBuf> {
    let meta = metadata(false)?;
    Ok(PathBuf::from(
        meta["target_directory"]
            .as_str()
            .context("cargo metadata has no target_directory")?,
    ))
}

/// plotly.js as shipped inside the `plotly` crate's sources: served by us, never a CDN.
fn plotly_js() -> Result<PathBuf> {
    let meta = metadata(true)?;
    let packages = meta["packages"]
        .as_array()
        .context("cargo metadata has no packages")?;
    let manifest = packages
        .iter()
        .find(|p| p["name"] == "plotly")
        .and_then(|p| p["manifest_path"].as_str())
        .context("the plotly crate is not in the dependency graph")?;
    let js = Path::new(manifest)
        .parent()
        .context("plotly's manifest has no folder")?
        .join("resource/plotly.min.js");
    if !js.exists() {
        bail!("{} is missing", js.display());
    }
    Ok(js)
}

fn ensure_wasm_target() -> Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !installed.lines().any(|l| l.trim() == WASM_TARGET) {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    Ok(())
}

/// Python 3 with `requests`, for the API guide's Python example (`docs/api.md`, run by
/// `server/tests/readme_python.rs`).
fn ensure_python_requests() -> Result<()> {
    let have = Command::new("python3")
        .args(["-c", "import requests"])
        .status()
        .is_ok_and(|s| s.success());
    if have {
        return Ok(());
    }
    eprintln!("xtask: installing Debian's python3-requests for the API guide's Python example");
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "python3-requests"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// curl, for the API sessions of the README and the guides (`server/tests/docs_console`).
fn ensure_curl() -> Result<()> {
    if Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(());
    }
    eprintln!("xtask: installing Debian's curl for the API examples of the docs");
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "curl"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Debian's Chromium and its driver, for the browser tests.
fn ensure_browser() -> Result<()> {
    let have = |bin: &str| Path::new(bin).exists();
    if have("/usr/bin/chromium") && have("/usr/bin/chromedriver") {
        return Ok(());
    }
    eprintln!("xtask: installing Debian's chromium and chromium-driver for the browser tests");
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_completions_folder_comes_from_out_or_defaults() {
        assert_eq!(completions_dir(&[]).unwrap(), None);
        assert_eq!(
            completions_dir(&["--out", "x/y"]).unwrap(),
            Some(PathBuf::from("x/y"))
        );
        assert_eq!(
            completions_dir(&["--out=z"]).unwrap(),
            Some(PathBuf::from("z"))
        );
        assert!(completions_dir(&["--out"]).is_err());
        assert!(completions_dir(&["--outt", "x"]).is_err());
    }
}
