//! Exports of predictions in long format with predictable headers
//! (`run,step,loss,lower,upper`): CSV, JSON and Parquet.
//!
//! Architecture invariant: with `ingest`, the only module that knows polars.

use polars::prelude::*;
use shared::api::{PredictedPoint, PredictionRow};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Parquet,
}

impl Format {
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "csv" | "text/csv" => Some(Format::Csv),
            "json" | "application/json" => Some(Format::Json),
            "parquet" | "application/vnd.apache.parquet" => Some(Format::Parquet),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv",
            Format::Json => "application/json",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// The points of run `run` in `format`.
pub fn predictions(
    run: &str,
    points: &[PredictedPoint],
    format: Format,
) -> Result<Vec<u8>, String> {
    match format {
        Format::Csv => {
            let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
            let mut out = String::from("run,step,loss,lower,upper\n");
            for p in points {
                out.push_str(&format!(
                    "{},{},{},{},{}\n",
                    csv_field(run),
                    p.step,
                    p.loss,
                    opt(p.lower),
                    opt(p.upper)
                ));
            }
            Ok(out.into_bytes())
        }
        Format::Json => {
            let rows: Vec<PredictionRow> = points
                .iter()
                .map(|p| PredictionRow {
                    run: run.to_string(),
                    step: p.step,
                    loss: p.loss,
                    lower: p.lower,
                    upper: p.upper,
                })
                .collect();
            serde_json::to_vec(&rows).map_err(|e| e.to_string())
        }
        Format::Parquet => {
            let mut frame = DataFrame::new(
                points.len(),
                vec![
                    Column::new("run".into(), vec![run; points.len()]),
                    Column::new(
                        "step".into(),
                        points.iter().map(|p| p.step as u64).collect::<Vec<_>>(),
                    ),
                    Column::new(
                        "loss".into(),
                        points.iter().map(|p| p.loss).collect::<Vec<_>>(),
                    ),
                    Column::new(
                        "lower".into(),
                        points.iter().map(|p| p.lower).collect::<Vec<_>>(),
                    ),
                    Column::new(
                        "upper".into(),
                        points.iter().map(|p| p.upper).collect::<Vec<_>>(),
                    ),
                ],
            )
            .map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            ParquetWriter::new(&mut out)
                .finish(&mut frame)
                .map_err(|e| e.to_string())?;
            Ok(out)
        }
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
