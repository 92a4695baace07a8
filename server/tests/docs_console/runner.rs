//! Running the console blocks of a file: a scratch folder laid out like the workspace root
//! (one per file, its blocks run in order), each block's commands in one `bash` (so `D=...`
//! and `cd` carry over), each command's output (stdout and stderr, interleaved as on a
//! terminal) and exit status compared with the block.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::markdown::{self, Block, Kind, Step};
use super::matcher;

/// The address the docs show; a `console server` block's real one replaces it.
pub const SHOWN_ADDRESS: &str = "127.0.0.1:8080";
/// A whole block must finish within this.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(600);

/// What the commands need: the workspace (for `fixtures/` and `../shared/data`) and the
/// `curvecast` binary to put on `PATH`.
pub struct Env {
    pub repo: PathBuf,
    pub curvecast: PathBuf,
}

/// The outcome of one file: the blocks that ran (`file:line`) and the failures.
#[derive(Default)]
pub struct Report {
    pub checked: Vec<String>,
    pub failures: Vec<String>,
}

/// Checks every console block of a Markdown text (`name` is how messages call the file).
pub fn check_text(env: &Env, name: &str, text: &str) -> Report {
    let mut report = Report::default();
    let blocks = match markdown::blocks(text) {
        Ok(blocks) => blocks,
        Err(e) => {
            report.failures.push(format!("{name}: {e}"));
            return report;
        }
    };
    // One scratch folder per file: a page is read top to bottom, so a file written by one
    // block (a saved fit) is there for the next. Shell variables are not (one bash each).
    let scratch = match Scratch::new(env) {
        Ok(scratch) => scratch,
        Err(e) => {
            report.failures.push(format!("{name}: scratch folder: {e}"));
            return report;
        }
    };
    // The server of the page's last `console server` block, kept for the blocks marked
    // `continued` after it (stopped when the next fresh one starts, or with the page).
    let mut server: Option<Server> = None;
    for block in blocks {
        let at = format!("{name}:{}", block.line);
        let kind = match block.kind() {
            Ok(Kind::Other) => continue,
            Ok(kind) => kind,
            Err(e) => {
                report.failures.push(format!("{at}: {e}"));
                continue;
            }
        };
        let started = Instant::now();
        let ran = match kind {
            Kind::Console | Kind::Other => run_block(env, &scratch, name, &block, None),
            Kind::ConsoleServer => {
                server = None;
                let dir = scratch.dir.path().join(format!("server-{}", block.line));
                std::fs::create_dir(&dir)
                    .map_err(|e| e.to_string())
                    .and_then(|()| Server::start(env, &dir, &scratch.work))
                    .and_then(|started| {
                        run_block(env, &scratch, name, &block, Some(&*server.insert(started)))
                    })
            }
            Kind::ConsoleServerContinued => match &server {
                Some(server) => run_block(env, &scratch, name, &block, Some(server)),
                None => Err("```console server continued: no server to continue (no \
                             ```console server block started one before it on this page)"
                    .to_string()),
            },
        };
        match ran {
            Ok(()) => report
                .checked
                .push(format!("{at} ({:.1} s)", started.elapsed().as_secs_f64())),
            Err(e) => report.failures.push(format!("{at}: console block:\n{e}")),
        }
    }
    report
}

/// Runs one block, against `server` for the `console server` kinds.
fn run_block(
    env: &Env,
    scratch: &Scratch,
    name: &str,
    block: &Block,
    server: Option<&Server>,
) -> Result<(), String> {
    let steps = markdown::session(block)?;
    let out = scratch.dir.path().join(format!("block-{}", block.line));
    std::fs::create_dir(&out).map_err(|e| e.to_string())?;
    let address = server.map(|s| s.address.clone());
    let shown_to_real = |text: &str| match &address {
        Some(real) => text.replace(SHOWN_ADDRESS, real),
        None => text.to_string(),
    };
    let commands: Vec<String> = steps.iter().map(|s| shown_to_real(&s.command)).collect();
    run_script(env, &scratch.work, &out, &commands)?;
    for (k, step) in steps.iter().enumerate() {
        let status = std::fs::read_to_string(out.join(format!("{k}.status")));
        let Ok(status) = status else {
            let said = std::fs::read_to_string(out.join("bash.stderr")).unwrap_or_default();
            return Err(format!(
                "{name}:{}: `{}` did not run; bash said:\n{said}",
                step.line,
                first_line(step)
            ));
        };
        let output = std::fs::read(out.join(k.to_string())).unwrap_or_default();
        let mut output = String::from_utf8_lossy(&output).into_owned();
        if let Some(real) = &address {
            output = output.replace(real.as_str(), SHOWN_ADDRESS);
        }
        // The later commands usually depend on this one: the first failure is the news.
        check_step(name, step, status.trim().parse().unwrap_or(-1), &output)?;
    }
    Ok(())
}

/// Runs the commands in one `bash` in `work`, each in braces (so assignments and `cd` stay
/// in the shell) with its output and status in `out/K` and `out/K.status`, outside the
/// folder the commands see.
fn run_script(env: &Env, work: &Path, out: &Path, commands: &[String]) -> Result<(), String> {
    let mut script = String::new();
    for (k, command) in commands.iter().enumerate() {
        script.push_str(&format!(
            "{{\n{command}\n}} >\"$CONSOLE_OUT/{k}\" 2>&1 </dev/null\necho $? >\"$CONSOLE_OUT/{k}.status\"\n"
        ));
    }
    let script_path = out.join("block.sh");
    std::fs::write(&script_path, script).map_err(|e| e.to_string())?;
    let mut shell = Command::new("bash");
    shell
        .arg(&script_path)
        .current_dir(work)
        .env("CONSOLE_OUT", out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(out.join("bash.stderr")).map_err(|e| e.to_string())?);
    isolate(&mut shell, env);
    // Its own process group, so whatever the commands leave running can be stopped.
    std::os::unix::process::CommandExt::process_group(&mut shell, 0);
    let child = shell
        .spawn()
        .map_err(|e| format!("cannot start bash: {e}"))?;
    if wait(child, BLOCK_TIMEOUT) {
        Ok(())
    } else {
        Err(format!("did not finish in {} s", BLOCK_TIMEOUT.as_secs()))
    }
}

/// One command's status and output against the block.
fn check_step(name: &str, step: &Step, status: i32, output: &str) -> Result<(), String> {
    let compared = matcher::compare(name, &step.expected, output);
    if compared.is_ok() && status == step.status {
        return Ok(());
    }
    let mut message = format!(
        "{name}:{}: `{}` exited with {status}",
        step.line,
        first_line(step)
    );
    if status != step.status {
        message.push_str(&format!(
            ", expected {} (a command expected to fail ends its output with `{}N]`)",
            step.status,
            markdown::STATUS_PREFIX
        ));
    }
    match compared {
        Err(diff) => message.push_str(&format!(", its output differs:\n{diff}")),
        Ok(()) => message.push_str(", its output matches"),
    }
    Err(message)
}

fn first_line(step: &Step) -> &str {
    step.command.lines().next().unwrap_or("")
}

/// A temporary folder with `curvecast/` as the commands' folder, holding a copy of
/// `fixtures/` (so a command that writes there cannot touch the repository), and `shared`
/// pointing at the workspace's `../shared`, so `../shared/data` resolves as it does from
/// the root. Each block's script, outputs (and server database) go to `block-LINE/` beside.
struct Scratch {
    dir: tempfile::TempDir,
    work: PathBuf,
}

impl Scratch {
    fn new(env: &Env) -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let work = dir.path().join("curvecast");
        copy_dir(&env.repo.join("fixtures"), &work.join("fixtures"))?;
        let shared = env.repo.join("../shared");
        if shared.exists() {
            std::os::unix::fs::symlink(shared.canonicalize()?, dir.path().join("shared"))?;
        }
        Ok(Scratch { dir, work })
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// `curvecast` first on `PATH`, and none of the settings that would change what it prints
/// on a developer's machine.
fn isolate(command: &mut Command, env: &Env) {
    let bin = env.curvecast.parent().expect("the binary is in a folder");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin.to_path_buf()];
    paths.extend(std::env::split_paths(&path));
    command
        .env("PATH", std::env::join_paths(paths).expect("PATH entries"))
        .env("NO_COLOR", "1")
        .env_remove("CURVECAST_DB")
        .env_remove("CURVECAST_TOKEN")
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG");
}

/// Waits for the child up to `limit`; then (or at once, when it has ended) stops its
/// whole process group. Returns whether it ended by itself.
fn wait(mut child: Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let ended = loop {
        match child.try_wait() {
            Ok(Some(_)) => break true,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => break false,
        }
    };
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
    ended
}

/// `curvecast serve` on a free loopback port, a fresh database with the demo runs; stopped
/// when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(env: &Env, dir: &Path, work: &Path) -> Result<Self, String> {
        let log = dir.join("server.log");
        let mut command = Command::new(&env.curvecast);
        command
            .args(["serve", "--addr", "127.0.0.1:0", "--demo", "fixtures/demo"])
            .arg("--db")
            .arg(dir.join("server.db"))
            .arg("--dist")
            .arg(dir.join("no-web-app"))
            .current_dir(work)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).map_err(|e| e.to_string())?)
            .stderr(Stdio::null());
        isolate(&mut command, env);
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start curvecast serve: {e}"))?;
        let mut server = Server {
            child,
            address: String::new(),
        };
        // It logs its address once it listens (the demo runs are loaded before that).
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(at) = text.find("listening on http://") {
                let rest = &text[at + "listening on http://".len()..];
                server.address = rest
                    .split(|c: char| c.is_whitespace() || c == '\u{1b}')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                return Ok(server);
            }
            let ended = server.child.try_wait().ok().flatten().is_some();
            if ended || Instant::now() > deadline {
                return Err(format!("curvecast serve did not start; its log:\n{text}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;

    use super::*;

    fn env() -> Env {
        super::super::env()
    }

    #[test]
    fn a_passing_block_with_variables_elisions_and_an_expected_failure() {
        let text = "\
```console
$ X=hello
$ echo \"$X\" && printf 'a\\nb\\nc\\n'
hello
...
c
$ ls ../shared/data/zhang_cbs fixtures/demo
../shared/data/zhang_cbs:
steps_to_goal_loss_vs_batch.csv
[..]
fixtures/demo:
demo_constant.csv
...
$ curvecast --version
curvecast [..]
$ sh -c 'echo oops >&2; exit 3'
oops
[exit status: 3]
```
";
        let report = check_text(&env(), "ok.md", text);
        assert!(report.failures.is_empty(), "{}", report.failures.join("\n"));
        assert_eq!(report.checked.len(), 1);
    }

    #[test]
    fn the_blocks_of_a_file_share_files_not_variables() {
        let text = "\
```console
$ X=1; echo saved > note.txt
```
Later:
```console
$ cat note.txt; echo \"[$X]\"
saved
[]
```
";
        let report = check_text(&env(), "two.md", text);
        assert!(report.failures.is_empty(), "{}", report.failures.join("\n"));
        assert_eq!(report.checked.len(), 2);
    }

    #[test]
    fn a_wrong_output_or_status_fails_naming_the_file_and_line() {
        let text = "intro\n\n```console\n$ echo one\none\n$ echo two\nthree\n$ echo never\n```\n";
        let report = check_text(&env(), "docs/x.md", text);
        assert!(report.checked.is_empty());
        let [failure] = &report.failures[..] else {
            panic!("{:?}", report.failures)
        };
        assert!(failure.starts_with("docs/x.md:3: console block:\ndocs/x.md:6: `echo two` exited with 0, its output differs:"), "{failure}");
        assert!(
            failure.contains("- docs/x.md:7 | three\n+             | two"),
            "{failure}"
        );

        let report = check_text(&env(), "s.md", "```console\n$ false\n```\n");
        assert!(
            report.failures[0].contains("s.md:2: `false` exited with 1, expected 0"),
            "{}",
            report.failures[0]
        );
        let report = check_text(
            &env(),
            "s.md",
            "```console\n$ true\n[exit status: 1]\n```\n",
        );
        assert!(
            report.failures[0].contains("exited with 0, expected 1"),
            "{}",
            report.failures[0]
        );
    }

    #[test]
    fn only_console_blocks_run() {
        let marker = tempfile::tempdir().unwrap();
        let file = marker.path().join("ran");
        let text = format!(
            "```sh\ntouch {0}\n```\n```\ntouch {0}\n```\n```text\n$ touch {0}\n```\n",
            file.display()
        );
        let report = check_text(&env(), "sh.md", &text);
        assert!(report.failures.is_empty() && report.checked.is_empty());
        assert!(!file.exists());
        // A session marked as a shell script is an error, not a silently skipped check.
        let report = check_text(&env(), "sh.md", "```sh\n$ ls\n```\n");
        assert!(
            report.failures[0].starts_with("sh.md:1: has `$ ` prompts"),
            "{}",
            report.failures[0]
        );
    }

    #[test]
    fn a_server_block_talks_to_a_fresh_server_at_the_shown_address() {
        let text = "\
```console server
$ curl -s http://127.0.0.1:8080/api/runs?q=demo_cos
[..]\"name\":\"demo_cosine\"[..]
$ curl -s -o /dev/null -w '%{url_effective}\\n' http://127.0.0.1:8080/api/health
http://127.0.0.1:8080/api/health
```
";
        let report = check_text(&env(), "api.md", text);
        assert!(report.failures.is_empty(), "{}", report.failures.join("\n"));
    }

    #[test]
    fn a_continued_server_block_keeps_the_server_and_a_fresh_one_does_not() {
        let text = "\
```console server
$ curl -s -F file=@fixtures/formats/long.csv http://127.0.0.1:8080/api/runs
{\"runs\":[{\"id\":4,[..]},{\"id\":5,[..]}],\"warnings\":[]}
```
A plain block between them:
```console
$ echo between
between
```
```console server continued
$ curl -s http://127.0.0.1:8080/api/health
{\"status\":\"ok\",\"version\":\"[..]\",\"runs\":5,\"active_fits\":0}
```
```console server
$ curl -s http://127.0.0.1:8080/api/health
{\"status\":\"ok\",\"version\":\"[..]\",\"runs\":3,\"active_fits\":0}
```
";
        let report = check_text(&env(), "tour.md", text);
        assert!(report.failures.is_empty(), "{}", report.failures.join("\n"));
        assert_eq!(report.checked.len(), 4);

        let text = "```console server continued\n$ true\n```\n";
        let report = check_text(&env(), "alone.md", text);
        assert!(
            report.failures[0].contains("no server to continue"),
            "{}",
            report.failures[0]
        );
    }

    #[test]
    fn a_block_that_does_not_end_is_stopped() {
        let started = Instant::now();
        let child = Command::new("bash")
            .args(["-c", "sleep 30 & sleep 30"])
            .process_group(0)
            .spawn()
            .unwrap();
        assert!(!wait(child, Duration::from_millis(200)));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
