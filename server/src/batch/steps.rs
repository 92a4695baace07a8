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

/// Half-width in ln step of the window around a crossing in which [`crossing`] fits its
/// local model (+-10% in steps).
pub const LOCAL_HALF_WIDTH: f64 = 0.1;

/// The window holds at least this many logged points (widened by index when sparse).
pub const LOCAL_MIN_POINTS: usize = 8;

/// The step at which `loss` reaches `target`, from a local model: a quadratic of ln loss in
/// ln step fitted by least squares to the points within [`LOCAL_HALF_WIDTH`] of the rough
/// crossing ([`rough_crossing`]), solved for the target, then once more around that answer.
/// Averaging the window removes the noise-induced early (first) crossing, and the quadratic
/// the lateness of a chord on a convex curve. Falls back to the rough crossing when steps or
/// losses are not positive or the local model does not cross the target inside its window.
/// `None` when never reached or already below at the first point (not observed).
pub fn crossing(steps: &[f64], loss: &[f64], target: f64) -> Option<f64> {
    let rough = rough_crossing(steps, loss, target)?;
    if !(steps[0] > 0.0 && target > 0.0 && loss.iter().all(|&l| l > 0.0)) {
        return Some(rough);
    }
    let mut center = rough.ln();
    for _ in 0..2 {
        let Some(u) = local_root(steps, loss, target.ln(), center) else {
            return Some(rough);
        };
        center += u;
    }
    Some(center.exp())
}

/// Fits `ln L = a + b u + c u^2` (u = ln step - center) over the window around `center` and
/// returns the root of `a + b u + c u^2 = y` nearest 0, if it is inside the window.
fn local_root(steps: &[f64], loss: &[f64], y: f64, center: f64) -> Option<f64> {
    let n = steps.len();
    let mut lo = steps.partition_point(|&s| s < (center - LOCAL_HALF_WIDTH).exp());
    let mut hi = steps.partition_point(|&s| s <= (center + LOCAL_HALF_WIDTH).exp());
    while hi - lo < LOCAL_MIN_POINTS.min(n) {
        if lo > 0 {
            lo -= 1;
        }
        if hi < n && hi - lo < LOCAL_MIN_POINTS {
            hi += 1;
        }
    }
    // Normal equations of the quadratic, in u scaled to the window so they stay well posed.
    let us: Vec<f64> = (lo..hi).map(|i| steps[i].ln() - center).collect();
    let w = us.iter().fold(0.0f64, |m, u| m.max(u.abs())).max(1e-12);
    let mut m = [[0.0; 3]; 3];
    let mut r = [0.0; 3];
    for (u, l) in us.iter().zip(&loss[lo..hi]) {
        let v = [1.0, u / w, (u / w) * (u / w)];
        for j in 0..3 {
            r[j] += v[j] * l.ln();
            for k in 0..3 {
                m[j][k] += v[j] * v[k];
            }
        }
    }
    let [a, b, c] = solve3(m, r)?;
    let (b, c) = (b / w, c / w / w);
    // c u^2 + b u + d = 0, the root nearest 0 in a form stable when c is small.
    let d = a - y;
    let disc = b * b - 4.0 * c * d;
    if !(b < 0.0 && disc >= 0.0) {
        return None;
    }
    let q = -0.5 * (b - disc.sqrt());
    let u = d / q;
    (u.is_finite() && u.abs() <= w).then_some(u)
}

/// Solves a 3x3 linear system by Gaussian elimination with partial pivoting.
fn solve3(mut m: [[f64; 3]; 3], mut r: [f64; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let p = (col..3).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))?;
        if m[p][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, p);
        r.swap(col, p);
        for row in col + 1..3 {
            let f = m[row][col] / m[col][col];
            for k in col..3 {
                m[row][k] -= f * m[col][k];
            }
            r[row] -= f * r[col];
        }
    }
    let mut x = [0.0; 3];
    for row in (0..3).rev() {
        let s: f64 = (row + 1..3).map(|k| m[row][k] * x[k]).sum();
        x[row] = (r[row] - s) / m[row][row];
    }
    Some(x)
}

/// The rough step at which `loss` reaches `target`: the midpoint of the first crossing down
/// (first point at or below) and the last crossing down (after the last point above), each
/// interpolated with its previous point linearly in (ln step, ln loss) (linearly when a step
/// is not positive); a last crossing more than 1.5x later than the first is a spike, and
/// ignored. `None` when never reached or already below at the first point.
pub fn rough_crossing(steps: &[f64], loss: &[f64], target: f64) -> Option<f64> {
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
        assert!((rough_crossing(&steps, &loss, 2.5).unwrap() - want).abs() < 1e-9);
        assert!((rough_crossing(&steps, &loss, 3.0).unwrap() - 20.0).abs() < 1e-9);
        assert_eq!(rough_crossing(&[0.0, 10.0], &[4.0, 2.0], 3.0), Some(5.0));
        // Noise: down at 100 -> 110 (first), back up, down again at 120 -> 130 (last): midpoint.
        let noisy = [3.0, 2.0, 3.0, 2.0, 1.0];
        let s = [100.0, 110.0, 120.0, 130.0, 140.0];
        let (a, b) = (
            interpolate(100.0, 110.0, 3.0, 2.0, 2.5),
            interpolate(120.0, 130.0, 3.0, 2.0, 2.5),
        );
        assert!((rough_crossing(&s, &noisy, 2.5).unwrap() - 0.5 * (a + b)).abs() < 1e-9);
        // A last crossing more than 1.5x later is a spike: the first crossing alone.
        let s = [10.0, 20.0, 30.0, 40.0, 50.0];
        assert!(
            (rough_crossing(&s, &noisy, 2.5).unwrap() - interpolate(10.0, 20.0, 3.0, 2.0, 2.5))
                .abs()
                < 1e-9
        );
        assert_eq!(rough_crossing(&steps, &loss, 4.5), None);
        assert_eq!(rough_crossing(&steps, &loss, 1.0), None);
        assert_eq!(smooth(&[1.0, 2.0, 6.0], 3), vec![1.5, 3.0, 4.0]);
    }

    #[test]
    fn local_model_is_exact_on_a_curved_log_log_curve_and_steadier_under_noise() {
        // ln L quadratic in ln s: the local model is exact where a chord is late.
        let f = |s: f64| (1.2 - 0.15 * s.ln() + 0.004 * s.ln().powi(2)).exp();
        let steps: Vec<f64> = (1..=400).map(|k| (k * 50) as f64).collect();
        let loss: Vec<f64> = steps.iter().map(|&s| f(s)).collect();
        for s_true in [1234.0, 5000.0, 17_777.0] {
            let got = crossing(&steps, &loss, f(s_true)).unwrap();
            assert!((got / s_true - 1.0).abs() < 1e-9, "{got} vs {s_true}");
        }
        assert_eq!(crossing(&steps, &loss, 10.0), None);
        // 0.3% log-normal noise: over 200 noise draws the local model's error is smaller
        // than the rough crossing's, and its mean is near 0.
        let mut rng = crate::rng::SplitMix64(3);
        let (mut local, mut rough) = (Vec::new(), Vec::new());
        for _ in 0..200 {
            let noisy: Vec<f64> = loss
                .iter()
                .map(|l| l * (0.003 * rng.normal()).exp())
                .collect();
            let target = f(8000.0);
            local.push(crossing(&steps, &noisy, target).unwrap() / 8000.0 - 1.0);
            rough.push(rough_crossing(&steps, &noisy, target).unwrap() / 8000.0 - 1.0);
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
        assert!(
            rms(&local) < 0.7 * rms(&rough),
            "{} vs {}",
            rms(&local),
            rms(&rough)
        );
        assert!(
            mean(&local).abs() < 3.0 * rms(&local) / 200f64.sqrt(),
            "{}",
            mean(&local)
        );
    }
}
