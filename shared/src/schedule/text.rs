//! The compact text form of a [`Schedule`], for the CLI and URLs.
//!
//! Grammar: `kind:key=value,key=value,...` (whitespace around tokens is ignored).
//!
//! - `kind`: `constant`, `cosine`, `linear`, `wsd`, `multi_step`, `two_stage`,
//!   `inverse_sqrt`, `array` (`-` may replace `_`; `multistep`, `twostage`, `invsqrt`
//!   are accepted too).
//! - keys are the JSON field names, except `final` for `final_lr` (`final_lr` is accepted).
//! - steps (`warmup`, `total`, `decay_start`, `switch`) are non-negative integers
//!   (`2.4e4` is accepted when it is a whole number); rates and fractions are decimal numbers;
//!   lists (`milestones`, `lrs`) separate items with `/`: `milestones=0.8/0.9`;
//!   `ramp` and `shape` take the names of [`WarmupRamp`] and [`DecayShape`].
//!
//! Examples: `wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt`,
//! `cosine:peak=3e-4,final=3e-5,warmup=2160,total=24000`, `constant:peak=3e-4,total=24000`.
//!
//! Parsing validates the result ([`Schedule::validate`]); errors name the bad field.
//! `Display` prints the canonical form, and parsing it gives back an equal schedule.

use super::{DecayShape, Schedule, ScheduleError, WarmupRamp};
use std::fmt;
use std::str::FromStr;

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ScheduleError::Empty);
        }
        let (kind_text, rest) = s.split_once(':').unwrap_or((s, ""));
        let kind = canonical_kind(kind_text)
            .ok_or_else(|| ScheduleError::UnknownKind(kind_text.trim().to_string()))?;
        let fields = Fields::parse(kind, rest)?;
        let schedule = fields.build()?;
        schedule.validate()?;
        Ok(schedule)
    }
}

fn canonical_kind(text: &str) -> Option<&'static str> {
    let k = text.trim().to_ascii_lowercase().replace('-', "_");
    Some(match k.as_str() {
        "constant" | "const" => "constant",
        "cosine" | "cos" => "cosine",
        "linear" => "linear",
        "wsd" => "wsd",
        "multi_step" | "multistep" => "multi_step",
        "two_stage" | "twostage" => "two_stage",
        "inverse_sqrt" | "invsqrt" | "rsqrt" => "inverse_sqrt",
        "array" => "array",
        _ => return None,
    })
}

/// Keys each kind accepts, in canonical (printing) order.
fn keys_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "constant" | "inverse_sqrt" => &["peak", "warmup", "ramp", "total"],
        "cosine" | "linear" => &["peak", "final", "warmup", "ramp", "total"],
        "wsd" => &[
            "peak",
            "final",
            "warmup",
            "ramp",
            "total",
            "decay",
            "decay_start",
            "shape",
        ],
        "multi_step" => &["peak", "warmup", "ramp", "total", "milestones", "factor"],
        "two_stage" => &["peak", "warmup", "ramp", "total", "switch", "lr2"],
        _ => &["lrs"],
    }
}

/// The `key=value` pairs of one text form, checked against the kind's keys.
struct Fields {
    kind: &'static str,
    pairs: Vec<(&'static str, String)>,
}

impl Fields {
    fn parse(kind: &'static str, rest: &str) -> Result<Self, ScheduleError> {
        let allowed = keys_of(kind);
        let mut pairs: Vec<(&'static str, String)> = Vec::new();
        for item in rest.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| ScheduleError::BadValue {
                    field: item.to_string(),
                    value: String::new(),
                    expected: "a `key=value` pair",
                })?;
            let key = key.trim().to_ascii_lowercase();
            let key = if key == "final_lr" {
                "final".to_string()
            } else {
                key
            };
            let canonical =
                allowed
                    .iter()
                    .find(|k| **k == key)
                    .ok_or_else(|| ScheduleError::UnknownField {
                        kind,
                        field: key.clone(),
                    })?;
            if pairs.iter().any(|(k, _)| k == canonical) {
                return Err(ScheduleError::DuplicateField(key));
            }
            pairs.push((canonical, value.trim().to_string()));
        }
        Ok(Self { kind, pairs })
    }

    fn raw(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, key: &'static str) -> Result<&str, ScheduleError> {
        self.raw(key).ok_or(ScheduleError::MissingField {
            kind: self.kind,
            field: json_name(key),
        })
    }

    fn f64_req(&self, key: &'static str) -> Result<f64, ScheduleError> {
        parse_f64(key, self.required(key)?)
    }

    fn f64_or(&self, key: &'static str, default: f64) -> Result<f64, ScheduleError> {
        self.raw(key).map_or(Ok(default), |v| parse_f64(key, v))
    }

    fn step_req(&self, key: &'static str) -> Result<u64, ScheduleError> {
        parse_step(key, self.required(key)?)
    }

    fn step_or(&self, key: &'static str, default: u64) -> Result<u64, ScheduleError> {
        self.raw(key).map_or(Ok(default), |v| parse_step(key, v))
    }

    fn list_req(&self, key: &'static str) -> Result<Vec<f64>, ScheduleError> {
        let raw = self.required(key)?;
        raw.split('/')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| parse_f64(key, v))
            .collect()
    }

    fn build(&self) -> Result<Schedule, ScheduleError> {
        if self.kind == "array" {
            return Ok(Schedule::Array {
                lrs: self.list_req("lrs")?,
            });
        }
        let peak = self.f64_req("peak")?;
        let warmup = self.step_or("warmup", 0)?;
        let ramp = match self.raw("ramp") {
            None => WarmupRamp::default(),
            Some(v) => WarmupRamp::from_name(v).ok_or_else(|| ScheduleError::BadValue {
                field: "ramp".into(),
                value: v.into(),
                expected: "a warmup ramp (zero, linspace, shifted)",
            })?,
        };
        let total = self.step_req("total")?;
        Ok(match self.kind {
            "constant" => Schedule::Constant {
                peak,
                warmup,
                ramp,
                total,
            },
            "inverse_sqrt" => Schedule::InverseSqrt {
                peak,
                warmup,
                ramp,
                total,
            },
            "cosine" => Schedule::Cosine {
                peak,
                final_lr: self.f64_or("final", 0.0)?,
                warmup,
                ramp,
                total,
            },
            "linear" => Schedule::Linear {
                peak,
                final_lr: self.f64_or("final", 0.0)?,
                warmup,
                ramp,
                total,
            },
            "wsd" => Schedule::Wsd {
                peak,
                final_lr: self.f64_or("final", 0.0)?,
                warmup,
                ramp,
                total,
                decay: self
                    .raw("decay")
                    .map(|v| parse_f64("decay", v))
                    .transpose()?,
                decay_start: self
                    .raw("decay_start")
                    .map(|v| parse_step("decay_start", v))
                    .transpose()?,
                shape: match self.raw("shape") {
                    None => DecayShape::default(),
                    Some(v) => DecayShape::from_name(v).ok_or_else(|| ScheduleError::BadValue {
                        field: "shape".into(),
                        value: v.into(),
                        expected: "a shape (linear, sqrt, cosine, square, geometric)",
                    })?,
                },
            },
            "multi_step" => Schedule::MultiStep {
                peak,
                warmup,
                ramp,
                total,
                milestones: self.list_req("milestones")?,
                factor: self.f64_req("factor")?,
            },
            _ => Schedule::TwoStage {
                peak,
                warmup,
                ramp,
                total,
                switch: self.step_req("switch")?,
                lr2: self.f64_req("lr2")?,
            },
        })
    }
}

/// JSON field name of a text key (only `final` differs).
fn json_name(key: &'static str) -> &'static str {
    if key == "final" { "final_lr" } else { key }
}

fn parse_f64(key: &str, v: &str) -> Result<f64, ScheduleError> {
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| ScheduleError::BadValue {
            field: key.to_string(),
            value: v.to_string(),
            expected: "a finite number",
        })
}

fn parse_step(key: &str, v: &str) -> Result<u64, ScheduleError> {
    if let Ok(n) = v.parse::<u64>() {
        return Ok(n);
    }
    // Accept `2.4e4`-style whole numbers, which are common in configs.
    match v.parse::<f64>() {
        Ok(x) if x >= 0.0 && x.fract() == 0.0 && x < 2f64.powi(53) => Ok(x as u64),
        _ => Err(ScheduleError::BadValue {
            field: key.to_string(),
            value: v.to_string(),
            expected: "a whole number of steps",
        }),
    }
}

/// Shortest round-trip decimal: exponent form for small and large magnitudes (`3e-4`),
/// plain otherwise (`0.2`, `24000`).
pub(crate) fn fmt_f64(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e7).contains(&a) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

fn fmt_list(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| fmt_f64(*v))
        .collect::<Vec<_>>()
        .join("/")
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.kind())?;
        let mut parts: Vec<String> = Vec::new();
        if let Self::Array { lrs } = self {
            return write!(f, "lrs={}", fmt_list(lrs));
        }
        parts.push(format!("peak={}", fmt_f64(self.peak())));
        match self {
            Self::Cosine { final_lr, .. }
            | Self::Linear { final_lr, .. }
            | Self::Wsd { final_lr, .. } => parts.push(format!("final={}", fmt_f64(*final_lr))),
            _ => {}
        }
        if self.warmup() != 0 {
            parts.push(format!("warmup={}", self.warmup()));
        }
        if !self.ramp().is_default() {
            parts.push(format!("ramp={}", self.ramp()));
        }
        parts.push(format!("total={}", self.total()));
        match self {
            Self::Wsd {
                decay,
                decay_start,
                shape,
                ..
            } => {
                if let Some(d) = decay {
                    parts.push(format!("decay={}", fmt_f64(*d)));
                }
                if let Some(d) = decay_start {
                    parts.push(format!("decay_start={d}"));
                }
                parts.push(format!("shape={shape}"));
            }
            Self::MultiStep {
                milestones, factor, ..
            } => {
                parts.push(format!("milestones={}", fmt_list(milestones)));
                parts.push(format!("factor={}", fmt_f64(*factor)));
            }
            Self::TwoStage { switch, lr2, .. } => {
                parts.push(format!("switch={switch}"));
                parts.push(format!("lr2={}", fmt_f64(*lr2)));
            }
            _ => {}
        }
        f.write_str(&parts.join(","))
    }
}
