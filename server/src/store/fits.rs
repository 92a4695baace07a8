//! Fits in the store: the request, the status of its job, and the result.

use rusqlite::{Connection, OptionalExtension, params};
use shared::api::{FitDetail, FitReport, FitRequest, FitStatus, FitSummary};

use super::{Store, StoreError};

impl Store {
    /// Records a new fit as queued; returns its id.
    pub async fn add_fit(&self, request: FitRequest) -> Result<i64, StoreError> {
        self.with(move |conn| {
            let json = serde_json::to_string(&request).unwrap_or_default();
            let tx = conn.transaction()?;
            let id = super::next_id(&tx, "fits")?;
            tx.execute(
                "INSERT INTO fits (id, law, request, status) VALUES (?1, ?2, ?3, 'queued')",
                params![id, request.law, json],
            )?;
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    /// Moves a queued fit to running; `false` if it is no longer queued (cancelled, deleted).
    pub async fn start_fit(&self, id: i64) -> Result<bool, StoreError> {
        self.with(move |conn| {
            Ok(conn.execute(
                "UPDATE fits SET status = 'running' WHERE id = ?1 AND status = 'queued'",
                [id],
            )? > 0)
        })
        .await
    }

    /// Stores a fit's outcome, unless it was cancelled or deleted meanwhile.
    pub async fn finish_fit(
        &self,
        id: i64,
        outcome: Result<(Vec<f64>, FitReport), String>,
    ) -> Result<(), StoreError> {
        self.with(move |conn| {
            match outcome {
                Ok((params, report)) => conn.execute(
                    "UPDATE fits SET status = 'done', params = ?2, report = ?3, finished_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
                     WHERE id = ?1 AND status = 'running'",
                    params![id, serde_json::to_string(&params).unwrap_or_default(), serde_json::to_string(&report).unwrap_or_default()],
                )?,
                Err(error) => conn.execute(
                    "UPDATE fits SET status = 'failed', error = ?2, finished_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
                     WHERE id = ?1 AND status = 'running'",
                    params![id, error],
                )?,
            };
            Ok(())
        })
        .await
    }

    /// Cancels a queued or running fit; `None` if there is no such fit, else its status after.
    pub async fn cancel_fit(&self, id: i64) -> Result<Option<FitStatus>, StoreError> {
        self.with(move |conn| {
            conn.execute(
                "UPDATE fits SET status = 'cancelled', finished_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
                 WHERE id = ?1 AND status IN ('queued', 'running')",
                [id],
            )?;
            Ok(conn
                .query_row("SELECT status FROM fits WHERE id = ?1", [id], |r| r.get::<_, String>(0))
                .optional()?
                .map(|s| parse_status(&s)))
        })
        .await
    }

    pub async fn delete_fit(&self, id: i64) -> Result<bool, StoreError> {
        self.with(move |conn| Ok(conn.execute("DELETE FROM fits WHERE id = ?1", [id])? > 0))
            .await
    }

    pub async fn list_fits(&self) -> Result<Vec<FitSummary>, StoreError> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare(&format!("SELECT {SUMMARY_COLUMNS} FROM fits ORDER BY id"))?;
            Ok(stmt
                .query_map([], summary_of_row)?
                .collect::<Result<_, _>>()?)
        })
        .await
    }

    /// A fit's status line, without its request and report.
    pub async fn get_fit_summary(&self, id: i64) -> Result<Option<FitSummary>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {SUMMARY_COLUMNS} FROM fits WHERE id = ?1"),
                    [id],
                    summary_of_row,
                )
                .optional()?)
        })
        .await
    }

    pub async fn get_fit(&self, id: i64) -> Result<Option<FitDetail>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .query_row(
                    &format!(
                        "SELECT {SUMMARY_COLUMNS}, request, params, report FROM fits WHERE id = ?1"
                    ),
                    [id],
                    |r| {
                        let summary = summary_of_row(r)?;
                        let request: String = r.get(6)?;
                        let params: Option<String> = r.get(7)?;
                        let report: Option<String> = r.get(8)?;
                        Ok(FitDetail {
                            summary,
                            request: serde_json::from_str(&request).unwrap_or_default(),
                            params: params.and_then(|p| serde_json::from_str(&p).ok()),
                            report: report.and_then(|p| serde_json::from_str(&p).ok()),
                            report_text: None,
                            progress: None,
                        })
                    },
                )
                .optional()?)
        })
        .await
    }
}

const SUMMARY_COLUMNS: &str = "id, law, status, created_at, finished_at, error";

fn summary_of_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FitSummary> {
    Ok(FitSummary {
        id: r.get(0)?,
        law: r.get(1)?,
        status: parse_status(&r.get::<_, String>(2)?),
        created_at: r.get(3)?,
        finished_at: r.get(4)?,
        error: r.get(5)?,
    })
}

fn parse_status(text: &str) -> FitStatus {
    match text {
        "queued" => FitStatus::Queued,
        "running" => FitStatus::Running,
        "done" => FitStatus::Done,
        "cancelled" => FitStatus::Cancelled,
        _ => FitStatus::Failed,
    }
}

/// Fits left queued or running by a stopped server will never finish: say so.
pub(super) fn interrupt_unfinished(conn: &Connection) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE fits SET status = 'failed', error = 'interrupted: the server stopped before the fit finished; create it again'
         WHERE status IN ('queued', 'running')",
        [],
    )?;
    Ok(())
}
