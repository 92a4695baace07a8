//! The store: uploads, runs and their series in an embedded SQLite file.
//!
//! Architecture invariant: this is the only module that knows SQL. Every query is
//! parameterised. An upload and all its runs are written in one transaction, so a crash
//! never leaves a half-written run visible. Raw uploaded bytes are kept as uploaded, so
//! runs can be re-read after a parser fix; a refused upload is not stored. Ids only grow:
//! a deleted run, upload or fit keeps its id for ever (`id_sequence`). Fits: [`fits`].

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use shared::api::{LrSource, RunDetail, RunSummary, Series};

use crate::ingest::ParsedRun;

mod fits;

/// Schema migrations, applied in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE uploads (
        id INTEGER PRIMARY KEY,
        file_name TEXT NOT NULL,
        format TEXT,
        bytes BLOB NOT NULL,
        error TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        upload_id INTEGER NOT NULL REFERENCES uploads(id),
        name TEXT NOT NULL,
        lr_source TEXT NOT NULL,
        n_points INTEGER NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE series (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        steps BLOB NOT NULL,
        vals BLOB NOT NULL,
        PRIMARY KEY (run_id, name)
    );
",
    "
    ALTER TABLE runs ADD COLUMN attrs TEXT NOT NULL DEFAULT '{}';
    CREATE TABLE fits (
        id INTEGER PRIMARY KEY,
        law TEXT NOT NULL,
        request TEXT NOT NULL,
        status TEXT NOT NULL,
        params TEXT,
        report TEXT,
        error TEXT,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        finished_at TEXT
    );
",
    "
    ALTER TABLE runs ADD COLUMN schedule TEXT;
    ALTER TABLE runs ADD COLUMN sources TEXT NOT NULL DEFAULT '{}';
",
    // Ids never change meaning: each table takes its ids from a counter that only grows
    // (SQLite would otherwise reuse the id of the last row after a delete). Refused
    // uploads are no longer kept: those an older version stored are dropped.
    "
    CREATE TABLE id_sequence (name TEXT PRIMARY KEY, last INTEGER NOT NULL);
    INSERT INTO id_sequence (name, last)
        SELECT 'uploads', COALESCE(MAX(id), 0) FROM uploads
        UNION ALL SELECT 'runs', COALESCE(MAX(id), 0) FROM runs
        UNION ALL SELECT 'fits', COALESCE(MAX(id), 0) FROM fits;
    DELETE FROM uploads WHERE error IS NOT NULL AND id NOT IN (SELECT upload_id FROM runs);
",
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(
        "the database file holds a newer schema (version {found}) than this curvecast knows ({known})"
    )]
    NewerSchema { found: usize, known: usize },
    #[error("the store's worker thread failed: {0}")]
    Worker(String),
}

/// Filters of [`Store::list_runs`]; `None` matches everything.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    /// Case-insensitive substring of the run's name.
    pub name_contains: Option<String>,
    /// The detected format of the upload, e.g. `csv`.
    pub format: Option<String>,
    /// Runs with (`true`) or without (`false`) a learning rate (logged or a schedule).
    pub has_lr: Option<bool>,
    /// Runs with an id above this (keyset paging: stable while runs come and go).
    pub after: Option<i64>,
    /// At most this many runs, in id order.
    pub limit: Option<usize>,
}

/// What [`Store::delete_run`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum RunDeletion {
    Deleted,
    Missing,
    /// Kept: these fits use the run (fitted or held out).
    InUse(Vec<i64>),
}

/// What [`Store::replace_run_data`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum RunReplacement {
    Replaced(RunSummary),
    Missing,
    /// Kept as it was: these fits use the run.
    InUse(Vec<i64>),
}

/// An upload as it was received.
#[derive(Clone, Debug)]
pub struct RawUpload {
    pub file_name: String,
    /// The detected format (`json-points` for runs sent as JSON points).
    pub format: String,
    pub bytes: Vec<u8>,
}

/// A cheaply clonable handle; SQLite work runs on tokio's blocking pool. Writes go
/// through one connection; reads through a second, read-only one, so that under WAL a
/// listing or a poll never waits for an upload's commit (and its fsync).
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        fits::interrupt_unfinished(&conn)?;
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            reader: Arc::new(Mutex::new(reader)),
        })
    }

    /// Runs `work` in one read transaction (a consistent snapshot) on the reader.
    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = reader
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let tx = conn.transaction()?;
            let out = work(&tx)?;
            tx.finish()?;
            Ok(out)
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Worker(e.to_string()))?
    }

    /// Saves an upload and its runs atomically; returns the new runs.
    pub async fn add_upload(
        &self,
        file_name: String,
        format: String,
        bytes: impl AsRef<[u8]> + Send + 'static,
        runs: Vec<ParsedRun>,
    ) -> Result<Vec<RunSummary>, StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let upload_id = next_id(&tx, "uploads")?;
            tx.execute(
                "INSERT INTO uploads (id, file_name, format, bytes) VALUES (?1, ?2, ?3, ?4)",
                params![upload_id, file_name, format, bytes.as_ref()],
            )?;
            let mut ids = Vec::with_capacity(runs.len());
            for run in &runs {
                let run_id = next_id(&tx, "runs")?;
                tx.execute(
                    "INSERT INTO runs (id, upload_id, name, lr_source, n_points) VALUES (?1, ?2, ?3, 'none', 0)",
                    params![run_id, upload_id, run.name],
                )?;
                write_data(&tx, run_id, run)?;
                ids.push(run_id);
            }
            let summaries = ids.iter().map(|&id| summary(&tx, id)).collect::<Result<Vec<_>, _>>()?;
            tx.commit()?;
            Ok(summaries.into_iter().flatten().collect())
        })
        .await
    }

    pub async fn list_runs(&self, filter: RunFilter) -> Result<Vec<RunSummary>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM runs r JOIN uploads u ON u.id = r.upload_id
                 WHERE (?1 IS NULL OR instr(lower(r.name), lower(?1)) > 0)
                   AND (?2 IS NULL OR u.format = ?2)
                   AND (?3 IS NULL OR (r.lr_source = 'logged' OR r.schedule IS NOT NULL) = ?3)
                   AND (?4 IS NULL OR r.id > ?4)
                 ORDER BY r.id LIMIT ?5"
            ))?;
            // SQLite reads a negative LIMIT as none.
            let limit = filter.limit.map_or(-1, |l| l.min(i64::MAX as usize) as i64);
            let runs = stmt
                .query_map(
                    params![
                        filter.name_contains,
                        filter.format,
                        filter.has_lr,
                        filter.after,
                        limit
                    ],
                    summary_of_row,
                )?
                .collect::<Result<_, _>>()?;
            Ok(runs)
        })
        .await
    }

    /// Renames a run and/or sets or clears its schedule; `None` if there is no such run.
    pub async fn update_run(
        &self,
        id: i64,
        name: Option<String>,
        schedule: Option<Option<String>>,
    ) -> Result<Option<RunSummary>, StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            if let Some(name) = name {
                tx.execute("UPDATE runs SET name = ?2 WHERE id = ?1", params![id, name])?;
            }
            if let Some(schedule) = schedule {
                tx.execute(
                    "UPDATE runs SET schedule = ?2 WHERE id = ?1",
                    params![id, schedule],
                )?;
            }
            let summary = summary(&tx, id)?;
            tx.commit()?;
            Ok(summary)
        })
        .await
    }

    /// Deletes a run and its series unless a fit uses it; the upload it came from is kept.
    pub async fn delete_run(&self, id: i64) -> Result<RunDeletion, StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let users = fit_users(&tx, id)?;
            if !users.is_empty() {
                return Ok(RunDeletion::InUse(users));
            }
            let deleted = tx.execute("DELETE FROM runs WHERE id = ?1", [id])? > 0;
            tx.commit()?;
            Ok(if deleted {
                RunDeletion::Deleted
            } else {
                RunDeletion::Missing
            })
        })
        .await
    }

    /// A run's name and the raw upload it came from.
    pub async fn run_upload(&self, id: i64) -> Result<Option<(String, RawUpload)>, StoreError> {
        self.with(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT r.name, u.file_name, u.format, u.bytes FROM runs r JOIN uploads u ON u.id = r.upload_id WHERE r.id = ?1",
                    [id],
                    |r| {
                        Ok((
                            r.get(0)?,
                            RawUpload {
                                file_name: r.get(1)?,
                                format: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                                bytes: r.get(3)?,
                            },
                        ))
                    },
                )
                .optional()?)
        })
        .await
    }

    /// Replaces a run's series, attributes and sources with `data` (a re-read of its
    /// upload) and applies a rename / schedule change, all in one transaction. A run a fit
    /// uses is left as it is (a stored fit must stay reproducible from its runs).
    pub async fn replace_run_data(
        &self,
        id: i64,
        data: ParsedRun,
        name: Option<String>,
        schedule: Option<Option<String>>,
    ) -> Result<RunReplacement, StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            if summary(&tx, id)?.is_none() {
                return Ok(RunReplacement::Missing);
            }
            let users = fit_users(&tx, id)?;
            if !users.is_empty() {
                return Ok(RunReplacement::InUse(users));
            }
            tx.execute("DELETE FROM series WHERE run_id = ?1", [id])?;
            write_data(&tx, id, &data)?;
            if let Some(name) = name {
                tx.execute("UPDATE runs SET name = ?2 WHERE id = ?1", params![id, name])?;
            }
            if let Some(schedule) = schedule {
                tx.execute(
                    "UPDATE runs SET schedule = ?2 WHERE id = ?1",
                    params![id, schedule],
                )?;
            }
            let summary = summary(&tx, id)?.expect("checked above, in this transaction");
            tx.commit()?;
            Ok(RunReplacement::Replaced(summary))
        })
        .await
    }

    pub async fn count_runs(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            Ok(conn.query_row("SELECT count(*) FROM runs", [], |r| r.get::<_, i64>(0))? as u64)
        })
        .await
    }

    /// Uploads kept (each with its raw bytes), and their bytes in all.
    pub async fn count_uploads(&self) -> Result<(u64, u64), StoreError> {
        self.read(|conn| {
            let (n, bytes) = conn.query_row(
                "SELECT count(*), COALESCE(SUM(length(bytes)), 0) FROM uploads",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )?;
            Ok((n as u64, bytes as u64))
        })
        .await
    }

    pub async fn get_run(&self, id: i64) -> Result<Option<RunDetail>, StoreError> {
        self.read(move |conn| {
            let Some(summary) = summary(conn, id)? else {
                return Ok(None);
            };
            let mut stmt = conn
                .prepare("SELECT name, steps, vals FROM series WHERE run_id = ?1 ORDER BY name")?;
            let points = stmt
                .query_map([id], |r| {
                    let steps: Vec<u8> = r.get(1)?;
                    let vals: Vec<u8> = r.get(2)?;
                    Ok((
                        r.get::<_, String>(0)?,
                        Series {
                            steps: from_blob(&steps),
                            values: from_blob(&vals),
                        },
                    ))
                })?
                .collect::<Result<_, _>>()?;
            let sources: String =
                conn.query_row("SELECT sources FROM runs WHERE id = ?1", [id], |r| r.get(0))?;
            Ok(Some(RunDetail {
                summary,
                points,
                sources: serde_json::from_str(&sources).unwrap_or_default(),
            }))
        })
        .await
    }
}

/// The columns [`summary_of_row`] reads, for a run `r` joined with its upload `u`; the
/// series names come in one sub-query (unit separator between names).
const SUMMARY_COLUMNS: &str = "r.id, r.name, u.file_name, u.format, r.created_at, r.n_points, r.lr_source, r.attrs, r.schedule,
     (SELECT group_concat(name, char(31)) FROM (SELECT name FROM series s WHERE s.run_id = r.id ORDER BY name))";

/// Writes a run's series, LR source, point count, attributes and sources (its row exists,
/// its series rows do not).
fn write_data(tx: &Connection, run_id: i64, run: &ParsedRun) -> Result<(), rusqlite::Error> {
    let lr_source = if run.series.contains_key("lr") {
        LrSource::Logged
    } else {
        LrSource::None
    };
    // Points of the training loss, or of the eval loss for an eval-only run.
    let n_points = run
        .series
        .get("loss")
        .or_else(|| run.series.get("eval_loss"))
        .map_or(0, |s| s.steps.len());
    let attrs = serde_json::to_string(&run.attrs).unwrap_or_else(|_| "{}".into());
    let sources = serde_json::to_string(&run.sources).unwrap_or_else(|_| "{}".into());
    tx.execute(
        "UPDATE runs SET lr_source = ?2, n_points = ?3, attrs = ?4, sources = ?5 WHERE id = ?1",
        params![
            run_id,
            lr_source_text(lr_source),
            n_points as i64,
            attrs,
            sources
        ],
    )?;
    for (name, series) in &run.series {
        tx.execute(
            "INSERT INTO series (run_id, name, steps, vals) VALUES (?1, ?2, ?3, ?4)",
            params![
                run_id,
                name,
                to_blob(&series.steps),
                to_blob(&series.values)
            ],
        )?;
    }
    Ok(())
}

/// The fits whose request fits or holds out the run.
fn fit_users(tx: &Connection, id: i64) -> Result<Vec<i64>, rusqlite::Error> {
    tx.prepare(
        "SELECT DISTINCT f.id FROM fits f, json_each(f.request, '$.runs') j WHERE j.value = ?1
         UNION
         SELECT DISTINCT f.id FROM fits f, json_each(f.request, '$.holdout') j WHERE j.value = ?1
         ORDER BY 1",
    )?
    .query_map([id], |r| r.get(0))?
    .collect()
}

fn summary_of_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunSummary> {
    let schedule: Option<String> = r.get(8)?;
    let lr_source = match parse_lr_source(&r.get::<_, String>(6)?) {
        LrSource::None if schedule.is_some() => LrSource::Schedule,
        logged => logged,
    };
    let series: Option<String> = r.get(9)?;
    Ok(RunSummary {
        id: r.get(0)?,
        name: r.get(1)?,
        file_name: r.get(2)?,
        format: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
        created_at: r.get(4)?,
        series: series
            .map(|s| s.split('\u{1f}').map(str::to_string).collect())
            .unwrap_or_default(),
        n_points: r.get::<_, i64>(5)? as u64,
        lr_source,
        attrs: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default(),
        schedule,
    })
}

fn summary(conn: &Connection, id: i64) -> Result<Option<RunSummary>, rusqlite::Error> {
    conn.query_row(
        &format!(
            "SELECT {SUMMARY_COLUMNS} FROM runs r JOIN uploads u ON u.id = r.upload_id WHERE r.id = ?1"
        ),
        [id],
        summary_of_row,
    )
    .optional()
}

/// The next id of `table`: one above every id it ever handed out, deleted ones included.
fn next_id(conn: &Connection, table: &str) -> Result<i64, rusqlite::Error> {
    conn.query_row(
        "UPDATE id_sequence SET last = last + 1 WHERE name = ?1 RETURNING last",
        [table],
        |row| row.get(0),
    )
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let applied: usize =
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::NewerSchema {
            found: applied,
            known: MIGRATIONS.len(),
        });
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (version + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

fn lr_source_text(source: LrSource) -> &'static str {
    match source {
        LrSource::Logged => "logged",
        LrSource::Schedule => "schedule",
        LrSource::None => "none",
    }
}

fn parse_lr_source(text: &str) -> LrSource {
    match text {
        "logged" => LrSource::Logged,
        "schedule" => LrSource::Schedule,
        _ => LrSource::None,
    }
}

/// Series are stored as little-endian f64 arrays: compact and fast for long curves.
fn to_blob(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn from_blob(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8")))
        .collect()
}
