//! Runs sent as JSON points (`POST /api/runs` with a JSON body) get the checks a file gets:
//! a `loss` series, equal lengths, increasing steps, and the value rules of
//! [`super::values`] (whole steps within `max_step`, losses > 0, learning rates >= 0,
//! within their bounds). JSON has no NaN, so every number must be finite. Errors name
//! the run, the series and the index (`points.loss.values[3]`).

use shared::api::RunUpload;

use super::values::{self, Rule};
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
        let rule = Rule::of_key(name);
        let at = |what: &str, i: usize| format!("points.{name}.{what}[{i}]");
        for (i, (&step, &value)) in series.steps.iter().zip(&series.values).enumerate() {
            if let Err(why) = values::check_step(step, limits) {
                return Err(malformed(name, why).with_at(at("steps", i)));
            }
            if !value.is_finite() {
                return Err(malformed(name, format!("{value} is not a finite number"))
                    .with_at(at("values", i)));
            }
            if let Err(why) = values::check_value(rule, value, limits) {
                return Err(malformed(name, why).with_at(at("values", i)));
            }
            if i > 0 && step <= series.steps[i - 1] {
                return Err(malformed(name, format!("step {step} does not increase"))
                    .with_at(at("steps", i)));
            }
        }
    }
    for (name, &value) in &upload.attrs {
        let column = format!("attrs.{name}");
        if !value.is_finite() {
            return Err(malformed(
                &column,
                format!("{value} is not a finite number"),
            ));
        }
        if let Err(why) = values::check_value(Rule::of_key(name), value, limits) {
            return Err(malformed(&column, why));
        }
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
