//! The family of a learning-rate schedule, read off its per-step learning rates.
//!
//! One classifier for everything (a fitted run's logged and rebuilt LRs, a schedule given
//! as text, an explicit `lrs` array), so that a cosine logged every 128 steps and the
//! text form `cosine:...` land in the same family by construction. It is O(n) and cheap
//! enough to run in the browser on every keystroke.
//!
//! Rules, on the steps from the first at the peak learning rate (the end of warmup) on:
//!
//! 1. `other` if the LR rises again by more than 1% of the peak after falling (cycles,
//!    restarts), or if nothing follows the warmup.
//! 2. `constant` if it is within 1% of the peak on at least 99% of those steps (a drop on
//!    the last 1%, such as a final LR logged as 0, changes nothing the law saw).
//! 3. `step` (two-stage, multi-step) if it changes on fewer than 5% of those steps: a
//!    decay that short acts as a drop, whatever its shape.
//! 4. Otherwise the closest template (root mean square, relative to the drop from the
//!    peak), simplest first, a later one winning only by 1% of the miss plus 0.2% of the
//!    drop: `cosine` and `linear` (decays from the end of warmup), `inverse_sqrt`, then
//!    `wsd-linear`, `wsd-cosine`, `wsd-sqrt`, `wsd-square`, `wsd-geometric` (at the peak
//!    until the last step there, then that decay; the last three also from the end of
//!    warmup, as `wsd` with `decay=1` writes them). Each decay's depth is fitted by least
//!    squares; a decay from the end of warmup may have been planned to end up to 4 times
//!    later than the log does (a run stopped early, or still running, keeps its family).
//!    `other` if even the closest misses by more than 5%.
//!
//! So a WSD decaying over the whole run is a `cosine` or `linear`, a cosine to its own
//! peak is `constant`: the family describes the learning rates the law saw.

use crate::schedule::DecayShape;

/// LRs within this fraction of the peak count as at the peak.
const LEVEL: f64 = 0.01;
/// A run at the peak (within [`LEVEL`]) on this share of its steps after warmup is
/// `constant` (a drop on the very last steps, e.g. a final LR logged as 0, changes nothing).
const CONSTANT_SHARE: f64 = 0.99;
/// Consecutive LRs closer than this fraction of the peak count as unchanged.
const FLAT: f64 = 1e-6;
/// Below this share of changing steps, a decay is a `step` drop.
const STEP_CHANGING: f64 = 0.05;
/// Largest template miss (RMS over the drop from the peak) that still names a family.
const MISFIT: f64 = 0.05;
/// A later template must beat the best so far by this fraction of its miss, and by
/// [`MARGIN_ABS`] of the drop: near-ties go to the simpler family.
const MARGIN: f64 = 0.01;
const MARGIN_ABS: f64 = 0.002;
/// Points a template is compared at (evenly spread; the classifier stays O(n)).
const TEMPLATE_POINTS: usize = 2000;
/// How much longer than the log a decay may have been planned (a run stopped early):
/// 1 to 4 times the steps after its start, in steps of 3%.
const STRETCHES: [f64; 48] = {
    let mut s = [1.0; 48];
    let mut i = 1;
    while i < 48 {
        s[i] = s[i - 1] * 1.03;
        i += 1;
    }
    s
};

/// A schedule family (see the module docs for how one is recognised).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Constant,
    Cosine,
    Linear,
    InverseSqrt,
    /// Piecewise constant with drops (`two_stage`, `multi_step`).
    Step,
    /// Warmup, stable at the peak, then a decay of this shape to the end.
    Wsd(DecayShape),
    /// None of the above.
    Other,
}

impl Family {
    /// The stable name used in fit reports and warnings (`wsd-sqrt`, `inverse_sqrt`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Family::Constant => "constant",
            Family::Cosine => "cosine",
            Family::Linear => "linear",
            Family::InverseSqrt => "inverse_sqrt",
            Family::Step => "step",
            Family::Wsd(DecayShape::Linear) => "wsd-linear",
            Family::Wsd(DecayShape::Sqrt) => "wsd-sqrt",
            Family::Wsd(DecayShape::Cosine) => "wsd-cosine",
            Family::Wsd(DecayShape::Square) => "wsd-square",
            Family::Wsd(DecayShape::Geometric) => "wsd-geometric",
            Family::Other => "other",
        }
    }
}

/// The family of per-step learning rates `lrs` (index = step).
pub fn family(lrs: &[f64]) -> Family {
    let peak = lrs.iter().copied().fold(0.0, f64::max);
    if !(peak > 0.0 && peak.is_finite()) || lrs.iter().any(|v| !v.is_finite()) {
        return Family::Other;
    }
    let warmup = lrs
        .iter()
        .position(|&v| v >= peak * (1.0 - FLAT))
        .unwrap_or(0);
    let tail = &lrs[warmup..];
    if tail.len() < 2 {
        return Family::Other;
    }
    let mut low = peak;
    for &v in tail {
        if v > low + LEVEL * peak {
            return Family::Other;
        }
        low = low.min(v);
    }
    let near_peak = tail.iter().filter(|&&v| v >= peak * (1.0 - LEVEL)).count();
    if near_peak as f64 >= CONSTANT_SHARE * tail.len() as f64 {
        return Family::Constant;
    }
    let changing = tail
        .windows(2)
        .filter(|w| (w[1] - w[0]).abs() > FLAT * peak)
        .count();
    if (changing as f64) < STEP_CHANGING * tail.len() as f64 {
        return Family::Step;
    }
    closest_template(tail, peak, warmup)
}

/// Rule 4 of the module docs.
fn closest_template(tail: &[f64], peak: f64, warmup: usize) -> Family {
    let m = tail.len();
    let drop = peak - tail.iter().copied().fold(peak, f64::min);
    // Last step at the peak: where a WSD decay starts (0: a decay from the warmup on).
    let start = tail
        .iter()
        .position(|&v| v < peak * (1.0 - FLAT))
        .unwrap_or(m)
        .saturating_sub(1);
    let stride = m.div_ceil(TEMPLATE_POINTS).max(1);
    let at: Vec<usize> = (0..m).step_by(stride).collect();
    let rms = |y: &dyn Fn(usize) -> f64| {
        let sum: f64 = at.iter().map(|&j| (tail[j] - y(j)).powi(2)).sum();
        (sum / at.len() as f64).sqrt() / drop
    };
    // A decay of `shape` from `start`, its depth by least squares. From the end of warmup
    // it may end up to 4 times later than the log (a run stopped before its schedule
    // ended); a WSD decay ends with the log (stretched, one shape mimics another).
    let decay = |shape: DecayShape, start: usize| {
        let mut best = f64::INFINITY;
        let stretches = if start == 0 {
            &STRETCHES[..]
        } else {
            &STRETCHES[..1]
        };
        for &stretch in stretches {
            let h = |j: usize| {
                let p = j.saturating_sub(start) as f64 / ((m - start) as f64 * stretch);
                1.0 - shape.value(1.0, 0.0, p)
            };
            let (num, den) = at.iter().fold((0.0, 0.0), |(n, d), &j| {
                (n + (peak - tail[j]) * h(j), d + h(j) * h(j))
            });
            let depth = if den > 0.0 { num / den } else { 0.0 };
            best = best.min(rms(&|j| peak - depth * h(j)));
            if matches!(shape, DecayShape::Linear) {
                break; // a stopped linear decay is a linear decay
            }
        }
        best
    };
    // The geometric decay is memoryless (a stopped one is geometric too): end at the last value.
    let end = tail[m - 1];
    let geometric = |start: usize| {
        rms(&|j| {
            let p = j.saturating_sub(start) as f64 / (m - 1 - start).max(1) as f64;
            DecayShape::Geometric.value(peak, end, p)
        })
    };
    let tau = warmup.max(1) as f64;
    let both = |f: &dyn Fn(usize) -> f64| f(0).min(f(start));
    // Simplest first: a later template must beat the best so far clearly.
    let candidates = [
        (Family::Cosine, decay(DecayShape::Cosine, 0)),
        (Family::Linear, decay(DecayShape::Linear, 0)),
        (
            Family::InverseSqrt,
            rms(&|j| peak * (tau / ((warmup + j) as f64).max(tau)).sqrt()),
        ),
        (
            Family::Wsd(DecayShape::Linear),
            decay(DecayShape::Linear, start),
        ),
        (
            Family::Wsd(DecayShape::Cosine),
            decay(DecayShape::Cosine, start),
        ),
        (
            Family::Wsd(DecayShape::Sqrt),
            both(&|s| decay(DecayShape::Sqrt, s)),
        ),
        (
            Family::Wsd(DecayShape::Square),
            both(&|s| decay(DecayShape::Square, s)),
        ),
        (Family::Wsd(DecayShape::Geometric), both(&geometric)),
    ];
    let mut best = (Family::Other, f64::INFINITY);
    for (family, err) in candidates {
        if err < best.1 * (1.0 - MARGIN) - MARGIN_ABS {
            best = (family, err);
        }
    }
    if best.1 <= MISFIT {
        best.0
    } else {
        Family::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{BeforeFirst, Schedule, reconstruct};

    fn of(spec: &str) -> &'static str {
        family(&spec.parse::<Schedule>().unwrap().to_array()).name()
    }

    /// The schedule logged every `every` steps from the end of warmup, rebuilt per step
    /// as the fit rebuilds a logged LR column.
    fn logged(spec: &str, every: usize) -> &'static str {
        let s: Schedule = spec.parse().unwrap();
        let pts: Vec<(u64, f64)> = (s.warmup()..s.total())
            .step_by(every)
            .map(|t| (t, s.eta(t)))
            .collect();
        let len = pts.last().unwrap().0 as usize + 1;
        family(&reconstruct(&pts, len, BeforeFirst::RampFromZero).unwrap()).name()
    }

    const CASES: &[(&str, &str)] = &[
        ("constant:peak=3e-4,warmup=2160,total=24000", "constant"),
        ("constant:peak=3e-4,total=500", "constant"),
        (
            "cosine:peak=3e-4,final=3e-5,warmup=2160,total=24000",
            "cosine",
        ),
        (
            "cosine:peak=3e-4,warmup=100,ramp=linspace,total=5000",
            "cosine",
        ),
        (
            "linear:peak=1e-3,final=1e-4,warmup=300,total=10000",
            "linear",
        ),
        (
            "inverse_sqrt:peak=1e-3,warmup=1000,total=50000",
            "inverse_sqrt",
        ),
        (
            "wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt",
            "wsd-sqrt",
        ),
        (
            "wsd:peak=3e-4,final=3e-5,warmup=2160,total=24000,decay_start=20000,shape=geometric",
            "wsd-geometric",
        ),
        (
            "wsd:peak=3e-4,final=3e-5,warmup=2160,total=24000,decay_start=20000,shape=linear",
            "wsd-linear",
        ),
        (
            "wsd:peak=1e-3,warmup=300,total=25000,decay=0.5,shape=cosine",
            "wsd-cosine",
        ),
        (
            "wsd:peak=1e-3,warmup=300,total=25000,decay=0.1,shape=square",
            "wsd-square",
        ),
        (
            "two_stage:peak=3e-4,warmup=2160,ramp=linspace,total=16000,switch=8000,lr2=9e-5",
            "step",
        ),
        (
            "multi_step:peak=1e-3,warmup=500,total=20000,milestones=0.5/0.75,factor=0.3",
            "step",
        ),
    ];

    #[test]
    fn text_forms_fall_in_their_own_family() {
        for (spec, want) in CASES {
            assert_eq!(of(spec), *want, "{spec}");
        }
    }

    #[test]
    fn logged_every_128_steps_they_fall_in_the_same_family() {
        for (spec, want) in CASES {
            assert_eq!(logged(spec, 128), *want, "{spec}");
        }
    }

    #[test]
    fn degenerate_schedules_take_the_family_they_look_like() {
        // A WSD decaying over the whole run is the plain decay; a decay to the peak is constant.
        assert_eq!(
            of("wsd:peak=1e-3,warmup=100,total=9000,decay=1,shape=cosine"),
            "cosine"
        );
        assert_eq!(
            of("wsd:peak=1e-3,warmup=100,total=9000,decay=1,shape=linear"),
            "linear"
        );
        assert_eq!(
            of("cosine:peak=1e-3,final=1e-3,warmup=100,total=9000"),
            "constant"
        );
        assert_eq!(
            of("wsd:peak=1e-3,warmup=100,total=9000,decay=0"),
            "constant"
        );
        // A decay over 2% of the run acts as a drop.
        assert_eq!(of("wsd:peak=1e-3,warmup=100,total=9000,decay=0.02"), "step");
        assert_eq!(
            of("multi_step:peak=1e-3,total=9000,milestones=0.5,factor=1"),
            "constant"
        );
    }

    #[test]
    fn cycles_and_nonsense_are_other() {
        let cyclic: Vec<f64> = (0..10_000)
            .map(|t| 1e-3 * (1.5 + (t as f64 / 500.0).cos()))
            .collect();
        assert_eq!(family(&cyclic), Family::Other);
        assert_eq!(family(&[]), Family::Other);
        assert_eq!(family(&[0.0; 10]), Family::Other);
        assert_eq!(family(&[1e-3, f64::NAN]), Family::Other);
        // Quadratic growth of the drop, then a plateau: no template within 5%.
        let odd: Vec<f64> = (0..10_000)
            .map(|t| 1e-3 * (1.0 - 0.9 * (t.min(3000) as f64 / 3000.0).powi(4)))
            .collect();
        assert_eq!(family(&odd), Family::Other);
    }
}
