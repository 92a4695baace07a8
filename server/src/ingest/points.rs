//! Runs sent as JSON points (`POST /api/runs` with a JSON body) get the checks a file gets:
//! a `loss` series, equal lengths, finite numbers, increasing steps. Errors name the run,
//! the series and the index.

use shared::api::RunUpload;

use super::{IngestError, IngestErrorKind, Limits, ParsedRun};

/// Checks `upload` and turns it into a run; `file` names it in errors.
pub fn from_points(
    file: &str,
    upload: RunUpload,
    limits: &Limits,
) -> Result<ParsedRun, IngestError> {
    let malformed =
        |column: &str, message: String| IngestError::malformed(file, message).with_column(column);
    if upload.name.trim().is_empty() {
        return Err(IngestError::missing(file, "the run has no `name`"));
    }
    let Some(loss) = upload.points.get("loss") else {
        return Err(IngestError::missing(file, "no `loss` series in `points`").with_column("loss"));
    };
    if loss.steps.is_empty() {
        return Err(IngestError::new(
            IngestErrorKind::Empty,
            file,
            "the `loss` series has no points",
        )
        .with_column("loss"));
    }
    let mut total = 0;
    for (name, series) in &upload.points {
        if series.steps.len() != series.values.len() {
            return Err(malformed(
                name,
                format!(
                    "{} steps but {} values",
                    series.steps.len(),
                    series.values.len()
                ),
            ));
        }
        total += series.steps.len();
        if total > limits.max_rows {
            return Err(IngestError::too_large(
                file,
                "max_rows",
                format!("more than {} points", limits.max_rows),
            ));
        }
        for (i, (&step, &value)) in series.steps.iter().zip(&series.values).enumerate() {
            if !(step.is_finite() && step >= 0.0) {
                return Err(malformed(
                    name,
                    format!("steps[{i}] = {step} is not a finite step >= 0"),
                ));
            }
            if !value.is_finite() {
                return Err(malformed(
                    name,
                    format!("values[{i}] = {value} is not a finite number"),
                ));
            }
            if i > 0 && step <= series.steps[i - 1] {
                return Err(malformed(
                    name,
                    format!("steps[{i}] = {step} does not increase"),
                ));
            }
        }
    }
    if let Some((name, value)) = upload.attrs.iter().find(|(_, v)| !v.is_finite()) {
        return Err(malformed(
            &format!("attrs.{name}"),
            format!("{value} is not a finite number"),
        ));
    }
    let sources = upload
        .points
        .keys()
        .map(|k| (k.clone(), "JSON points".to_string()))
        .collect();
    Ok(ParsedRun {
        name: upload.name,
        series: upload.points,
        attrs: upload.attrs,
        sources,
    })
}
