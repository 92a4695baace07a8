//! Honest warnings: does a forecast's schedule leave what the fit saw?
//!
//! At fit time [`run_coverage`] records, per fitted run (not held-out ones), its peak
//! learning rate, its last fitted step and its schedule [`family`]; [`Coverage::new`]
//! sums them up, and the fit report keeps the result. A forecast then asks [`check`],
//! which the server (`/predict`, `/best-schedule`, `curvecast predict`) and the browser
//! (the Forecast page) share, so both say the same thing. The rules:
//!
//! - `peak_lr_outside_fit`: the candidate's peak LR is outside `[min, max]` of the fitted
//!   runs' peak LRs widened by [`PEAK_TOLERANCE`] (1%) on each side, so that a text
//!   `3e-4` matches a run whose logged peak reads 2.9999e-4 (float32, rounding in logs).
//!   The laws take the LR as a known input, so a new peak LR is extrapolation even when
//!   the shape is familiar.
//! - `horizon_beyond_fit`: the forecast runs more than [`HORIZON_FACTOR`] (3) times the
//!   longest fitted run's last step. Power-law terms extrapolated that far in time rest
//!   on the exponent alone.
//! - `family_not_fitted`: the candidate's family (of its own per-step LRs, see [`family`])
//!   is none of the fitted runs' families, or is `other` (no known shape, so no fitted
//!   run can vouch for it).
//! - `coverage_unknown`: the fit was saved before fits recorded their coverage.
//!
//! All messages are ASCII: the API also sends them in a response header.

mod family;

pub use family::{Family, family};

use crate::api::{Coverage, ForecastWarning, RunCoverage};

/// Relative tolerance on each side of the fitted peak-LR range.
pub const PEAK_TOLERANCE: f64 = 0.01;
/// Forecasts longer than this many times the longest fitted run are flagged.
pub const HORIZON_FACTOR: f64 = 3.0;

/// What one fitted run covers: `lrs` its per-step learning rates (index = step) and
/// `last_step` its last fitted loss point. Only the LRs up to that step count: the
/// fit saw nothing after it.
pub fn run_coverage(run: &str, lrs: &[f64], last_step: usize) -> RunCoverage {
    let seen = &lrs[..last_step.saturating_add(1).min(lrs.len())];
    RunCoverage {
        run: run.to_string(),
        peak_lr: peak(seen),
        last_step,
        family: family(seen).name().to_string(),
    }
}

impl Coverage {
    /// The fitted runs' ranges: peak LRs, longest run, families (sorted, once each).
    pub fn new(runs: Vec<RunCoverage>) -> Self {
        let peaks = runs.iter().map(|r| r.peak_lr);
        let lo = peaks.clone().fold(f64::INFINITY, f64::min);
        let hi = peaks.fold(0.0, f64::max);
        let mut families: Vec<String> = runs.iter().map(|r| r.family.clone()).collect();
        families.sort();
        families.dedup();
        Coverage {
            peak_lr: [if lo.is_finite() { lo } else { 0.0 }, hi],
            last_step: runs.iter().map(|r| r.last_step).max().unwrap_or(0),
            families,
            runs,
        }
    }

    /// The longest forecast that is not flagged.
    pub fn horizon_limit(&self) -> usize {
        (HORIZON_FACTOR * self.last_step as f64) as usize
    }
}

/// The warnings for a forecast of `steps` steps under per-step learning rates `lrs`: the
/// LRs the forecast runs through, up to the schedule's own end (a text schedule's
/// `to_array()`; past its total a schedule only holds its end value, which would read as
/// another family). `steps` is the forecast's length: `lrs.len()` for `/predict` and the
/// Forecast page, the evaluated step for `/best-schedule`. `None` coverage (a fit saved
/// before coverage was recorded) gives one `coverage_unknown` warning.
pub fn check(coverage: Option<&Coverage>, lrs: &[f64], steps: usize) -> Vec<ForecastWarning> {
    let Some(c) = coverage else {
        return vec![warning(
            "coverage_unknown",
            "this fit does not record which peak LRs, lengths and schedule families it was fitted on (it predates that record): refit it to have forecasts checked against them".into(),
        )];
    };
    let mut out = Vec::new();
    let p = peak(lrs);
    let [lo, hi] = c.peak_lr;
    if p < lo * (1.0 - PEAK_TOLERANCE) || p > hi * (1.0 + PEAK_TOLERANCE) {
        out.push(warning(
            "peak_lr_outside_fit",
            format!(
                "peak LR {} is {} the fitted runs' peak LR{} ({}): the law is extrapolated in learning rate",
                short(p),
                if p < lo { "below" } else { "above" },
                if lo == hi { "" } else { "s" },
                if lo == hi {
                    short(lo)
                } else {
                    format!("{} to {}", short(lo), short(hi))
                }
            ),
        ));
    }
    if steps > c.horizon_limit() {
        out.push(warning(
            "horizon_beyond_fit",
            format!(
                "{steps} steps is more than {HORIZON_FACTOR} x the longest fitted run (last step {}): the law is extrapolated far in time",
                c.last_step
            ),
        ));
    }
    let f = family(lrs);
    if f == Family::Other {
        out.push(warning(
            "family_not_fitted",
            format!(
                "the schedule matches no known family (fitted: {}): its shape was never seen",
                c.families.join(", ")
            ),
        ));
    } else if !c.families.iter().any(|x| x == f.name()) {
        out.push(warning(
            "family_not_fitted",
            format!(
                "schedule family {} was never fitted (fitted: {})",
                f.name(),
                c.families.join(", ")
            ),
        ));
    }
    out
}

fn warning(code: &str, message: String) -> ForecastWarning {
    ForecastWarning {
        code: code.to_string(),
        message,
    }
}

fn peak(lrs: &[f64]) -> f64 {
    lrs.iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
}

/// A learning rate in few characters: `3e-4`, `2.5e-4`, `1.234e-3` (ASCII: warnings also
/// travel in an HTTP header).
pub fn short(v: f64) -> String {
    let s = format!("{v:.3e}");
    match s.split_once('e') {
        Some((mantissa, exp)) if mantissa.contains('.') => {
            format!(
                "{}e{exp}",
                mantissa.trim_end_matches('0').trim_end_matches('.')
            )
        }
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Schedule;

    fn lrs(spec: &str) -> Vec<f64> {
        spec.parse::<Schedule>().unwrap().to_array()
    }

    /// The multi-power-law protocol's fitted runs: cosine and constant, 24000 steps, 3e-4.
    fn fitted() -> Coverage {
        Coverage::new(vec![
            run_coverage(
                "cosine_24000",
                &lrs("cosine:peak=3e-4,final=3e-5,warmup=2160,total=24000"),
                23_920,
            ),
            run_coverage(
                "constant_24000",
                &lrs("constant:peak=3e-4,warmup=2160,total=24000"),
                23_936,
            ),
        ])
    }

    fn codes(spec: &str, steps: Option<usize>) -> Vec<String> {
        let l = lrs(spec);
        let n = steps.unwrap_or(l.len());
        check(Some(&fitted()), &l, n)
            .into_iter()
            .map(|w| w.code)
            .collect()
    }

    #[test]
    fn coverage_sums_up_the_fitted_runs() {
        let c = fitted();
        assert_eq!(c.peak_lr, [3e-4, 3e-4]);
        assert_eq!(c.last_step, 23_936);
        assert_eq!(c.families, ["constant", "cosine"]);
        assert_eq!(c.horizon_limit(), 71_808);
        // Only what the fit saw: a cosine cut at step 100 is still at its peak.
        let cut = run_coverage("cut", &lrs("cosine:peak=3e-4,total=24000"), 100);
        assert_eq!((cut.family.as_str(), cut.last_step), ("constant", 100));
    }

    #[test]
    fn in_range_forecasts_carry_no_warning() {
        for spec in [
            "cosine:peak=3e-4,final=3e-5,warmup=2160,total=24000",
            "cosine:peak=3e-4,final=1e-4,warmup=500,total=70000",
            "constant:peak=2.98e-4,total=10000",
            "constant:peak=3.02e-4,total=71808",
        ] {
            assert_eq!(codes(spec, None), Vec::<String>::new(), "{spec}");
        }
    }

    #[test]
    fn each_rule_fires_on_its_own() {
        assert_eq!(
            codes("cosine:peak=1e-3,final=3e-5,warmup=2160,total=24000", None),
            ["peak_lr_outside_fit"]
        );
        assert_eq!(
            codes("constant:peak=2.9e-4,total=24000", None),
            ["peak_lr_outside_fit"]
        );
        assert_eq!(
            codes("constant:peak=3e-4,total=71809", None),
            ["horizon_beyond_fit"]
        );
        // A horizon past the schedule's own total (best-schedule's `horizon`) counts too.
        assert_eq!(
            codes("constant:peak=3e-4,total=24000", Some(100_000)),
            ["horizon_beyond_fit"]
        );
        assert_eq!(
            codes(
                "wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt",
                None
            ),
            ["family_not_fitted"]
        );
        assert_eq!(
            codes("cosine:peak=6e-4,warmup=2160,total=240000", None),
            ["peak_lr_outside_fit", "horizon_beyond_fit"]
        );
    }

    #[test]
    fn messages_say_what_and_how_far() {
        let l = lrs("linear:peak=1e-3,warmup=100,total=100000");
        let w = check(Some(&fitted()), &l, l.len());
        let text: Vec<&str> = w.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            text,
            [
                "peak LR 1e-3 is above the fitted runs' peak LR (3e-4): the law is extrapolated in learning rate",
                "100000 steps is more than 3 x the longest fitted run (last step 23936): the law is extrapolated far in time",
                "schedule family linear was never fitted (fitted: constant, cosine)",
            ]
        );
        assert!(w.iter().all(|w| w.message.is_ascii()));
        let cyclic: Vec<f64> = (0..10_000)
            .map(|t| 3e-4 * (0.6 + 0.4 * (t as f64 / 500.0).cos()))
            .collect();
        assert_eq!(
            check(Some(&fitted()), &cyclic, 10_000)[0].message,
            "the schedule matches no known family (fitted: constant, cosine): its shape was never seen"
        );
        assert_eq!(check(None, &l, 10)[0].code, "coverage_unknown");
        assert_eq!(short(2.5e-4), "2.5e-4");
        assert_eq!(short(3.0001e-4), "3e-4");
        assert_eq!(short(1.2346e-3), "1.235e-3");
    }
}
