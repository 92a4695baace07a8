//! The one error type of the `schedule` module.
//!
//! Every variant names the field (or the kind) that was wrong, so that a CLI or a URL
//! handler can show the user exactly what to fix.

use std::fmt;

/// What went wrong while building, parsing, validating, reconstructing or fitting a schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleError {
    /// The text form was empty.
    Empty,
    /// The text form (or JSON) named a schedule kind that does not exist.
    UnknownKind(String),
    /// A field that this kind does not have.
    UnknownField { kind: &'static str, field: String },
    /// A field this kind requires was not given.
    MissingField {
        kind: &'static str,
        field: &'static str,
    },
    /// The same field was given twice in the text form.
    DuplicateField(String),
    /// A field's value could not be read (not a number, an unknown shape, ...).
    BadValue {
        field: String,
        value: String,
        expected: &'static str,
    },
    /// A value was read but is out of range or inconsistent with another field.
    Invalid { field: &'static str, reason: String },
    /// The JSON form did not deserialize.
    Json(String),
    /// Reconstruction or fitting got no usable logged points.
    NoPoints,
    /// A logged point is unusable (non-finite or negative learning rate).
    BadPoint { index: usize, reason: String },
    /// A step that is not a whole number in `0..=MAX_STEPS` (or a caller's own limit).
    BadStep { step: f64, reason: String },
    /// A per-step array of this many entries would reach past step `MAX_STEPS`.
    TooManySteps(u64),
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(
                f,
                "empty schedule: expected e.g. `cosine:peak=3e-4,total=24000`"
            ),
            Self::UnknownKind(k) => write!(
                f,
                "unknown schedule kind `{k}` (expected one of: constant, cosine, linear, wsd, \
                 multi_step, two_stage, inverse_sqrt, array)"
            ),
            Self::UnknownField { kind, field } => {
                write!(f, "schedule `{kind}` has no field `{field}`")
            }
            Self::MissingField { kind, field } => {
                write!(f, "schedule `{kind}` needs the field `{field}`")
            }
            Self::DuplicateField(field) => write!(f, "field `{field}` is given twice"),
            Self::BadValue {
                field,
                value,
                expected,
            } => {
                write!(f, "field `{field}`: cannot read `{value}` as {expected}")
            }
            Self::Invalid { field, reason } => write!(f, "field `{field}`: {reason}"),
            Self::Json(msg) => write!(f, "invalid schedule JSON: {msg}"),
            Self::NoPoints => write!(f, "no logged (step, lr) points to work from"),
            Self::BadPoint { index, reason } => write!(f, "logged point #{index}: {reason}"),
            Self::BadStep { step, reason } => write!(f, "step {} {reason}", number(*step)),
            Self::TooManySteps(len) => write!(
                f,
                "{len} per-step values would reach past step {} (the limit, shared::schedule::MAX_STEPS)",
                super::MAX_STEPS
            ),
        }
    }
}

impl std::error::Error for ScheduleError {}

/// A user's number in a message: plain up to 1e15 (`1000000000000`), else in exponent
/// form (`1e20`), so that a hostile `1e308` does not print 309 digits.
fn number(v: f64) -> String {
    if v.abs() < 1e15 {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}
