//! Rebuilding the per-step learning-rate array from a sparse logged LR column.
//!
//! Trainers usually log the learning rate every k steps. The laws need one value per
//! step, so [`reconstruct`] fills the gaps:
//!
//! - between two logged steps: linear interpolation (exact for linear warmup and linear
//!   decay, error O(k^2 eta'') for curved decays, far below logging noise for k <= 100);
//! - before the first logged step `s0`: [`BeforeFirst::RampFromZero`] (default) assumes the
//!   usual linear warmup from 0 and ramps linearly from `eta(0) = 0` to the first logged
//!   value; [`BeforeFirst::Hold`] repeats the first logged value (use it for runs
//!   without warmup whose log simply starts late);
//! - after the last logged step: the last logged value is held.
//!
//! Points may come in any order; when a step is logged twice the later entry wins.
//! `len` is at most `MAX_STEPS + 1` ([`ScheduleError::TooManySteps`] otherwise): it is
//! usually computed from a user's last logged step, and it sizes the array.

use super::ScheduleError;

/// How to fill the steps before the first logged one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BeforeFirst {
    /// Linear ramp from 0 at step 0 to the first logged value (a warmup from 0).
    #[default]
    RampFromZero,
    /// Repeat the first logged value.
    Hold,
}

/// Sorts, checks and de-duplicates logged `(step, lr)` points.
pub(crate) fn clean_points(points: &[(u64, f64)]) -> Result<Vec<(u64, f64)>, ScheduleError> {
    if points.is_empty() {
        return Err(ScheduleError::NoPoints);
    }
    for (index, &(_, lr)) in points.iter().enumerate() {
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(ScheduleError::BadPoint {
                index,
                reason: format!("learning rate {lr} is not a finite value >= 0"),
            });
        }
    }
    let mut sorted: Vec<(usize, u64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, &(s, lr))| (i, s, lr))
        .collect();
    sorted.sort_by_key(|&(i, s, _)| (s, i));
    let mut out: Vec<(u64, f64)> = Vec::with_capacity(sorted.len());
    for (_, s, lr) in sorted {
        match out.last_mut() {
            Some(last) if last.0 == s => last.1 = lr,
            _ => out.push((s, lr)),
        }
    }
    Ok(out)
}

/// Per-step learning rates `eta(0..len)` rebuilt from logged `(step, lr)` points
/// (see the module docs for the interpolation rules).
pub fn reconstruct(
    points: &[(u64, f64)],
    len: usize,
    before: BeforeFirst,
) -> Result<Vec<f64>, ScheduleError> {
    super::check_len(len)?;
    let pts = clean_points(points)?;
    let (s0, v0) = pts[0];
    let mut out = Vec::with_capacity(len);
    let mut seg = 0; // index of the logged point at or before t
    for t in 0..len as u64 {
        let v = if t < s0 {
            match before {
                BeforeFirst::Hold => v0,
                BeforeFirst::RampFromZero => v0 * t as f64 / s0 as f64,
            }
        } else {
            while seg + 1 < pts.len() && pts[seg + 1].0 <= t {
                seg += 1;
            }
            match pts.get(seg + 1) {
                Some(&(s1, v1)) => {
                    let (sa, va) = pts[seg];
                    va + (v1 - va) * (t - sa) as f64 / (s1 - sa) as f64
                }
                None => pts[seg].1,
            }
        };
        out.push(v);
    }
    Ok(out)
}
