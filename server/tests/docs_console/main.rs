//! Every console block of `README.md` and `docs/**/*.md` is run, and its output compared.
//!
//! The convention (also in `docs/README.md`):
//!
//! - A fenced block whose info string is `console` is a session. A line starting with `$ `
//!   is a command (a line ending in `\` continues it on the next line); the lines after it,
//!   up to the next command, are its expected output (stdout and stderr as a terminal shows
//!   them). Blocks marked anything else (`sh`, `python`, none) are never run, and an `sh`
//!   block with `$ ` prompts is an error: it looks like a session that would go unchecked.
//! - Elisions: `...` alone on a line matches any number of lines, `[..]` inside a line any
//!   text within that line: for times, long numbers, ids, long tables.
//! - A command must exit with status 0, unless its expected output ends with a line
//!   `[exit status: N]`.
//! - The commands of a block run one after the other in one `bash`, so `D=...` and `cd`
//!   carry over to the block's next commands. Each file gets a fresh scratch folder laid
//!   out like the workspace root (a copy of `fixtures/`, and `../shared/data` resolving to
//!   the real data), shared by its blocks in order: a file one block writes (`fit.json`)
//!   is there for the next, a shell variable is not. The built `curvecast` is first on
//!   `PATH`.
//! - ```` ```console server ````: a `curvecast serve` is started first on a free loopback
//!   port with a fresh database and the demo runs (`--demo fixtures/demo`), as after
//!   `cargo xtask serve`; `127.0.0.1:8080` in the commands is replaced by its address
//!   (and its address in the output by `127.0.0.1:8080`).
//! - ```` ```console server continued ````: the same, against the server (and database) of
//!   the page's previous server block, as a reader who keeps one server running through a
//!   tour: runs uploaded and fits made there are still there.
//!
//! A mismatch names the file and line of the command and shows a diff whose expected lines
//! carry their line in the file.

mod markdown;
mod matcher;
mod runner;

use std::path::{Path, PathBuf};

fn env() -> runner::Env {
    runner::Env {
        repo: Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
        curvecast: PathBuf::from(env!("CARGO_BIN_EXE_curvecast")),
    }
}

/// `README.md` and every `.md` under `docs/`, relative to the workspace root, sorted.
fn documents(repo: &Path) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = format!("{prefix}/{}", entry.file_name().to_string_lossy());
            if entry.path().is_dir() {
                walk(&entry.path(), &name, out);
            } else if name.ends_with(".md") {
                out.push(name);
            }
        }
    }
    let mut files = vec!["README.md".to_string()];
    walk(&repo.join("docs"), "docs", &mut files);
    files[1..].sort();
    files
}

#[test]
fn every_console_block_of_the_readme_and_the_guides_prints_what_it_shows() {
    let env = env();
    let files = documents(&env.repo);
    assert!(
        files.iter().any(|f| f.starts_with("docs/")),
        "no guides under docs/: {files:?}"
    );
    let (mut checked, mut failures) = (Vec::new(), Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(env.repo.join(file)).unwrap();
        let report = runner::check_text(&env, file, &text);
        checked.extend(report.checked);
        failures.extend(report.failures);
    }
    println!("checked console blocks:\n  {}", checked.join("\n  "));
    assert!(
        failures.is_empty(),
        "{} console block(s) do not print what they show:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The README's examples and the CLI guide are sessions; a lost fence fails here.
    for file in ["README.md", "docs/cli.md"] {
        assert!(
            checked.iter().any(|c| c.starts_with(&format!("{file}:"))),
            "no console block checked in {file}"
        );
    }
}

/// Issue 18: the README is a front page (under 150 lines), and its pictures are committed
/// and small (`cargo xtask screenshots` makes them).
#[test]
fn the_readme_stays_a_short_front_page_with_small_pictures() {
    let repo = env().repo;
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines < 150,
        "README.md has {lines} lines: move detail into docs/"
    );
    for image in ["docs/img/forecast.png", "docs/img/fit-report.png"] {
        assert!(
            readme.contains(&format!("]({image})")),
            "README shows {image}"
        );
        let bytes = std::fs::metadata(repo.join(image))
            .unwrap_or_else(|e| panic!("{image}: {e} (cargo xtask screenshots makes it)"))
            .len();
        assert!(bytes < 300 * 1024, "{image} is {bytes} bytes");
    }
}
