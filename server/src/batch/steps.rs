//! From loss curves to steps-to-target: smoothing, the choice of target losses and the
//! first (interpolated) step at which each run reaches each target.

use shared::api::batch::SweepRun;

use crate::fit::FitError;

/// Centered moving average over `window` points (shrunk at the ends); 1 or 0: unchanged.
pub fn smooth(loss: &[f64], window: usize) -> Vec<f64> {
    let half = window.max(1) / 2;
    if half == 0 {
        return loss.to_vec();
    }
    (0..loss.len())
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half + 1).min(loss.len()));
            loss[a..b].iter().sum::<f64>() / (b - a) as f64
        })
        .collect()
}

/// The step at which `loss` reaches `target`: the midpoint of the first crossing down (first
/// point at or below) and the last crossing down (after the last point above), each
/// interpolated with its previous point linearly in (ln step, ln loss) (curves are close to
/// power laws there; linearly when a step is not positive). On a noisy flat curve the first
/// crossing comes early and the last one late by about as much, so their midpoint is
/// nearly unbiased where either alone is not (a last crossing more than 1.5x later than the
/// first is a spike, and ignored). `None` when never reached or already below at
/// the first point (the crossing is not observed).
pub fn first_crossing(steps: &[f64], loss: &[f64], target: f64) -> Option<f64> {
    let first = loss.iter().position(|&l| l <= target)?;
    if first == 0 {
        return None;
    }
    let last_above = loss.iter().rposition(|&l| l > target)?;
    let at = |i: usize| interpolate(steps[i - 1], steps[i], loss[i - 1], loss[i], target);
    let down = at(first);
    if last_above + 1 >= loss.len() || last_above + 1 == first {
        return Some(down);
    }
    let up = at(last_above + 1);
    // Far later: a spike or a divergence, not noise around the target.
    if up > 1.5 * down {
        return Some(down);
    }
    Some(0.5 * (down + up))
}

/// The step between `(s0, l0)` (above `target`) and `(s1, l1)` (at or below) where the
/// line reaches `target`.
fn interpolate(s0: f64, s1: f64, l0: f64, l1: f64, target: f64) -> f64 {
    if s0 > 0.0 && l1 > 0.0 && l0 > l1 {
        let f = (l0.ln() - target.ln()) / (l0.ln() - l1.ln());
        return (s0.ln() + f * (s1.ln() - s0.ln())).exp();
    }
    s0 + (s1 - s0) * (l0 - target) / (l0 - l1)
}

/// Checks a run's curve: same lengths, finite, strictly increasing steps, positive batch.
pub fn check_run(run: &SweepRun) -> Result<(), FitError> {
    let name = &run.name;
    if !(run.batch.is_finite() && run.batch > 0.0) {
        return Err(FitError::Input(format!(
            "run '{name}': batch size {} is not a positive number",
            run.batch
        )));
    }
    if run.steps.len() != run.loss.len() {
        return Err(FitError::Input(format!(
            "run '{name}': {} steps but {} losses",
            run.steps.len(),
            run.loss.len()
        )));
    }
    if run.loss.len() < 2 {
        return Err(FitError::Input(format!(
            "run '{name}' has {} loss points; a crossing needs at least 2",
            run.loss.len()
        )));
    }
    if let Some(i) = run.loss.iter().position(|l| !l.is_finite()) {
        return Err(FitError::Input(format!(
            "run '{name}': loss at step {} is not finite",
            run.steps[i]
        )));
    }
    if let Some(w) = run.steps.windows(2).find(|w| !(w[1] > w[0])) {
        return Err(FitError::Input(format!(
            "run '{name}': steps must increase (step {} follows {})",
            w[1], w[0]
        )));
    }
    Ok(())
}

/// The fractions of the loss range (from the highest run minimum up to the lowest "early"
/// loss) that bound the automatic targets: the low end keeps clear of the noise floor of
/// the slowest run, the high end of the first transient.
pub const TARGET_RANGE: [f64; 2] = [0.03, 0.5];

/// A run's "early" loss is its smoothed loss at this logged point: every target is then
/// crossed after at least this many logged points of every run, so that the smoothing
/// and the interpolation between sparse early points do not bias the steps.
pub const EARLY_POINT: usize = 20;

/// `n` targets evenly spaced in log loss over [`TARGET_RANGE`] of the range that every
/// smoothed curve crosses.
pub fn auto_targets(smoothed: &[&[f64]], n: usize) -> Result<Vec<f64>, FitError> {
    let lo = smoothed
        .iter()
        .map(|l| l.iter().copied().fold(f64::INFINITY, f64::min))
        .fold(f64::NEG_INFINITY, f64::max);
    let hi = smoothed
        .iter()
        .map(|l| l[EARLY_POINT.min(l.len() - 1)])
        .fold(f64::INFINITY, f64::min);
    if !(hi > lo) {
        return Err(FitError::Input(format!(
            "no loss is crossed by every run (the highest final loss {lo} is not below the lowest loss at the runs' logged point {EARLY_POINT}, {hi}); give the targets"
        )));
    }
    let (a, b) = (
        (lo + TARGET_RANGE[0] * (hi - lo)).ln(),
        (lo + TARGET_RANGE[1] * (hi - lo)).ln(),
    );
    let n = n.max(1);
    Ok((0..n)
        .map(|i| {
            let f = if n == 1 {
                0.5
            } else {
                i as f64 / (n - 1) as f64
            };
            (a + f * (b - a)).exp()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_is_interpolated_and_needs_a_start_above() {
        let steps = [10.0, 20.0, 30.0];
        let loss = [4.0, 3.0, 2.0];
        // ln-ln interpolation: 3.0 -> 2.0 over 20 -> 30, target 2.5.
        let f = (3f64.ln() - 2.5f64.ln()) / (3f64.ln() - 2f64.ln());
        let want = (20f64.ln() + f * (30f64.ln() - 20f64.ln())).exp();
        assert!((first_crossing(&steps, &loss, 2.5).unwrap() - want).abs() < 1e-9);
        assert!((first_crossing(&steps, &loss, 3.0).unwrap() - 20.0).abs() < 1e-9);
        assert_eq!(first_crossing(&[0.0, 10.0], &[4.0, 2.0], 3.0), Some(5.0));
        // Noise: down at 100 -> 110 (first), back up, down again at 120 -> 130 (last): midpoint.
        let noisy = [3.0, 2.0, 3.0, 2.0, 1.0];
        let s = [100.0, 110.0, 120.0, 130.0, 140.0];
        let (a, b) = (
            interpolate(100.0, 110.0, 3.0, 2.0, 2.5),
            interpolate(120.0, 130.0, 3.0, 2.0, 2.5),
        );
        assert!((first_crossing(&s, &noisy, 2.5).unwrap() - 0.5 * (a + b)).abs() < 1e-9);
        // A last crossing more than 1.5x later is a spike: the first crossing alone.
        let s = [10.0, 20.0, 30.0, 40.0, 50.0];
        assert!(
            (first_crossing(&s, &noisy, 2.5).unwrap() - interpolate(10.0, 20.0, 3.0, 2.0, 2.5))
                .abs()
                < 1e-9
        );
        assert_eq!(first_crossing(&steps, &loss, 4.5), None);
        assert_eq!(first_crossing(&steps, &loss, 1.0), None);
        assert_eq!(smooth(&[1.0, 2.0, 6.0], 3), vec![1.5, 3.0, 4.0]);
    }
}
