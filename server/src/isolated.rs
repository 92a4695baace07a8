//! Reads the uploads whose decoder can abort the whole process in a child process.
//!
//! polars-parquet aborts (it does not panic) on some damaged Parquet data pages: a
//! corrupt run length asks for an allocation of 2^61 bytes. The server must survive any
//! upload, so Parquet files, and archives that may hold them, are read by a child
//! `curvecast read-worker` that gets the bytes on stdin and answers with the reading as
//! JSON; a child that dies or hangs becomes an error for that file. Other formats are
//! read in-process (a panic in those readers is already caught and reported).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::ingest::{self, Format, IngestError, Limits, Mapping, ParsedFile, detect};

/// A child still reading after this long is killed and the file reported as too slow.
const WORKER_TIMEOUT: Duration = Duration::from_secs(120);

/// Reads one uploaded file like [`ingest::ingest_with`], in a child process when its
/// format's decoder can abort.
pub fn ingest(
    file: &str,
    bytes: &[u8],
    mapping: &Mapping,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    if !can_abort(file, bytes, mapping) {
        return ingest::ingest_with(file, bytes, mapping, limits);
    }
    match worker_binary() {
        Some(exe) => run_worker(&exe, file, bytes, mapping, limits),
        None => {
            tracing::warn!("no curvecast binary to read {file} in; reading it in-process");
            ingest::ingest_with(file, bytes, mapping, limits)
        }
    }
}

/// Reads several files like [`ingest::ingest_batch`] (event files of one folder make one
/// run), those whose decoder can abort each in a child process.
pub fn ingest_batch(
    files: &[(String, Vec<u8>)],
    mapping: &Mapping,
    limits: &Limits,
) -> Vec<(String, Result<ParsedFile, IngestError>)> {
    let (risky, safe): (Vec<_>, Vec<_>) = files
        .iter()
        .cloned()
        .partition(|(name, bytes)| can_abort(name, bytes, mapping));
    let mut results = ingest::ingest_batch(&safe, mapping, limits);
    results.extend(risky.into_iter().map(|(name, bytes)| {
        let result = ingest(&name, &bytes, mapping, limits);
        (name, result)
    }));
    results
}

/// The body of `curvecast read-worker`: reads stdin, prints the reading as JSON.
pub fn worker_main(file: &str, mapping: &Mapping, limits: &Limits) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes)?;
    let result = ingest::ingest_with(file, &bytes, mapping, limits);
    let json = serde_json::to_vec(&result).map_err(std::io::Error::other)?;
    std::io::stdout().write_all(&json)
}

fn can_abort(file: &str, bytes: &[u8], mapping: &Mapping) -> bool {
    let format = match &mapping.format {
        Some(name) => Format::from_name(name),
        None => detect::detect(file, bytes).ok(),
    };
    matches!(format, Some(Format::Parquet | Format::Zip))
}

/// The `curvecast` binary: this process, or (for tests, which run from
/// `target/<profile>/deps`) the one built beside it.
fn worker_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let name = format!("curvecast{}", std::env::consts::EXE_SUFFIX);
    if exe.file_name()? == name.as_str() {
        return Some(exe);
    }
    let dir = exe.parent()?;
    [dir.join(&name), dir.parent()?.join(&name)]
        .into_iter()
        .find(|p| p.is_file())
}

fn run_worker(
    exe: &PathBuf,
    file: &str,
    bytes: &[u8],
    mapping: &Mapping,
    limits: &Limits,
) -> Result<ParsedFile, IngestError> {
    let failed =
        |why: String| IngestError::malformed(file, format!("the file could not be read ({why})"));
    // Both serialise plain fields: they cannot fail.
    let mapping = serde_json::to_string(mapping).unwrap_or_default();
    let limits = serde_json::to_string(limits).unwrap_or_default();
    let mut child = Command::new(exe)
        .arg("read-worker")
        .arg("--file")
        .arg(file)
        .arg("--mapping")
        .arg(&mapping)
        .arg("--limits")
        .arg(&limits)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("the reader process did not start: {e}")))?;

    // Feed stdin and drain stdout/stderr on their own threads so that no pipe fills up.
    let (stdout, stderr, status) = std::thread::scope(|scope| {
        let mut stdin = child.stdin.take().expect("stdin is piped");
        scope.spawn(move || {
            // A child that dies early closes the pipe: its exit status says why.
            let _ = stdin.write_all(bytes);
        });
        let mut out = child.stdout.take().expect("stdout is piped");
        let mut err = child.stderr.take().expect("stderr is piped");
        let stdout = scope.spawn(move || {
            let mut buf = Vec::new();
            let _ = out.read_to_end(&mut buf);
            buf
        });
        let stderr = scope.spawn(move || {
            let mut buf = String::new();
            let _ = err.read_to_string(&mut buf);
            buf
        });
        let status = wait_with_timeout(&mut child, WORKER_TIMEOUT);
        (
            stdout.join().unwrap_or_default(),
            stderr.join().unwrap_or_default(),
            status,
        )
    });

    let status = status.ok_or_else(|| {
        failed(format!(
            "the reader took more than {} s and was stopped",
            WORKER_TIMEOUT.as_secs()
        ))
    })?;
    if !status.success() {
        let first_line = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(failed(format!(
            "the reader stopped with {status}{}; the file is probably damaged",
            if first_line.is_empty() {
                String::new()
            } else {
                format!(": {first_line}")
            }
        )));
    }
    serde_json::from_slice::<Result<ParsedFile, IngestError>>(&stdout)
        .map_err(|e| failed(format!("the reader's answer was not understood: {e}")))?
}

/// Waits for the child; kills it and returns `None` after `timeout`.
fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if start.elapsed() < timeout => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}
