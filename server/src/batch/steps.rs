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

/// The first step at which `loss` is at or below `target`, linearly interpolated between
/// the two logged points around the crossing; `None` when never reached or already
/// below at the first point (the crossing is not observed).
pub fn first_crossing(steps: &[f64], loss: &[f64], target: f64) -> Option<f64> {
    let i = loss.iter().position(|&l| l <= target)?;
    if i == 0 {
        return None;
    }
    let (l0, l1) = (loss[i - 1], loss[i]);
    let (s0, s1) = (steps[i - 1], steps[i]);
    Some(s0 + (s1 - s0) * (l0 - target) / (l0 - l1))
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

/// The fractions of the loss range (from the highest run minimum up to the lowest run
/// start) that bound the automatic targets: the low end keeps clear of the noise floor
/// of the slowest run, the high end of the warmup.
pub const TARGET_RANGE: [f64; 2] = [0.03, 0.5];

/// `n` targets evenly spaced in log loss over [`TARGET_RANGE`] of the range that every
/// smoothed curve crosses.
pub fn auto_targets(smoothed: &[&[f64]], n: usize) -> Result<Vec<f64>, FitError> {
    let lo = smoothed
        .iter()
        .map(|l| l.iter().copied().fold(f64::INFINITY, f64::min))
        .fold(f64::NEG_INFINITY, f64::max);
    let hi = smoothed.iter().map(|l| l[0]).fold(f64::INFINITY, f64::min);
    if !(hi > lo) {
        return Err(FitError::Input(format!(
            "no loss is crossed by every run (the highest final loss {lo} is not below the lowest first loss {hi}); give the targets"
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
        assert_eq!(first_crossing(&steps, &loss, 2.5), Some(25.0));
        assert_eq!(first_crossing(&steps, &loss, 3.0), Some(20.0));
        assert_eq!(first_crossing(&steps, &loss, 4.5), None);
        assert_eq!(first_crossing(&steps, &loss, 1.0), None);
        assert_eq!(smooth(&[1.0, 2.0, 6.0], 3), vec![1.5, 3.0, 4.0]);
    }
}
