//! The direct O(n T) evaluation of the multi-power law's loss-drop sums: the reference the
//! fast method is tested and benchmarked against, and the fallback outside its domain.

use super::{Aggregates, MultiPowerLaw};

/// Loss-drop aggregates at evaluation point `i`, summing every `k` in
/// `ld_start..=t` literally (zero-LR steps count as fully annealed, `G = 1`).
pub(super) fn aggregates(
    law: &MultiPowerLaw,
    i: usize,
    c: f64,
    beta: f64,
    gamma: f64,
) -> Aggregates {
    let t = law.steps[i];
    let z = law.prefix[t];
    let mut agg = Aggregates::default();
    for k in law.ld_start..=t {
        let eta = law.lrs[k];
        if eta <= 0.0 {
            continue;
        }
        let d = law.lrs[k - 1] - eta;
        let ln_eta = eta.ln();
        let u = 1.0 + c * (-gamma * ln_eta).exp() * (z - law.prefix[k - 1]);
        agg.add_exact(d, ln_eta, u, beta);
    }
    agg
}
