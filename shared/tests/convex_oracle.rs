//! Oracle: the convex-bound law (Schaipp et al. 2025) against `Omega` computed exactly as
//! the reference code does (fabian-sp/lr-scheduling, `ScheduleBase._compute_refined_rate`
//! with `RateFitter._vec_eval`'s gradient-norm model, transcribed below), O(T) per point,
//! on the real 24,000-step schedules; a closed form for a constant LR; and the scale
//! symmetry that makes the 8-parameter law unidentifiable.

mod common;

use common::{mpl_curve, mpl_schedule};
use shared::laws::Law;
use shared::laws::convex::ConvexLaw;

/// `D, G1, G2, A1, A2, B, C, M`.
const P: [f64; 8] = [2.0, 3.0, 1.0, -2e-4, -0.3, 1.5, 2.8, 1.2];

/// The reference's rate at horizon `big_t` (the first `big_t` LRs), grad norms
/// `G1 exp(A1 t) + G2 t^A2 + B` at `t = 1..`.
fn reference_omega(etas: &[f64], p: &[f64; 8], big_t: usize) -> f64 {
    let [d, g1, g2, a1, a2, b, _, _] = *p;
    let e = &etas[..big_t];
    let grad: Vec<f64> = (1..=big_t)
        .map(|t| {
            let t = t as f64;
            g1 * (a1 * t).exp() + g2 * t.powf(a2) + b
        })
        .collect();
    let eta_grad: Vec<f64> = e.iter().zip(&grad).map(|(e, g)| e * e * g * g).collect();
    let sum_etas: f64 = e.iter().sum();
    let sum_eta_grad: f64 = eta_grad.iter().sum();
    let term1 = d * d / (2.0 * sum_etas);
    let term2 = sum_eta_grad / (2.0 * sum_etas);
    // alpha_k = sum_{t>k} eta_t, beta_k = alpha_k + eta_k, gamma_k = sum_{t>=k} eta_t^2 G_t^2,
    // term3 = 1/2 sum over all but the last k of eta_k / alpha_k * gamma_k / beta_k.
    let (mut term3, mut cum_eta, mut cum_grad) = (0.0, 0.0, 0.0);
    for k in 0..big_t - 1 {
        cum_eta += e[k];
        cum_grad += eta_grad[k];
        let alpha = sum_etas - cum_eta;
        let beta = alpha + e[k];
        let gamma = sum_eta_grad - cum_grad + eta_grad[k];
        term3 += 0.5 * (e[k] / alpha) * (gamma / beta);
    }
    term1 + term2 + term3
}

#[test]
fn matches_the_reference_rate_on_real_schedules() {
    for name in ["cosine_24000", "wsd_20000_24000"] {
        let lrs = mpl_schedule(name).to_array();
        let (steps, _) = mpl_curve("25", name);
        let law = ConvexLaw::new(&lrs, &steps).unwrap();
        let got = law.predict(&P).unwrap();
        for (i, &s) in steps.iter().enumerate() {
            // The loss logged at 0-based step s follows s + 1 updates.
            let want = P[6] + P[7] * reference_omega(&lrs, &P, s + 1);
            assert!(
                (got[i] - want).abs() <= 1e-10 * want,
                "{name} step {s}: {} vs {want}",
                got[i]
            );
        }
        let last = steps.len() - 1;
        println!(
            "{name}: L({}) = {:.9}, L({}) = {:.9}",
            steps[0], got[0], steps[last], got[last]
        );
    }
}

#[test]
fn constant_lr_and_gradient_norm_have_a_closed_form() {
    // Omega_T = D^2 / (2 eta T) + eta g^2 / 2 (1 + H_{T-1}), H the harmonic numbers.
    let (eta, g, d) = (3e-4, 2.5, 1.7);
    let lrs = vec![eta; 30_000];
    let steps: Vec<usize> = vec![0, 1, 9, 99, 2_999, 29_999];
    let p = [d, 0.0, 0.0, 0.0, 0.0, g, 0.0, 1.0];
    let got = ConvexLaw::new(&lrs, &steps).unwrap().predict(&p).unwrap();
    for (i, &s) in steps.iter().enumerate() {
        let t = s + 1;
        let h: f64 = (1..t).map(|k| 1.0 / k as f64).sum();
        let want = d * d / (2.0 * eta * t as f64) + eta * g * g / 2.0 * (1.0 + h);
        assert!((got[i] - want).abs() <= 1e-12 * want, "T = {t}");
    }
}

#[test]
fn scaling_d_g_b_by_l_and_m_by_l_squared_changes_nothing() {
    let lrs = mpl_schedule("cosine_24000").to_array();
    let (steps, _) = mpl_curve("25", "cosine_24000");
    let law = ConvexLaw::new(&lrs, &steps).unwrap();
    let base = law.predict(&P).unwrap();
    let l = 7.0;
    let scaled = [
        P[0] * l,
        P[1] * l,
        P[2] * l,
        P[3],
        P[4],
        P[5] * l,
        P[6],
        P[7] / (l * l),
    ];
    for (a, b) in base.iter().zip(law.predict(&scaled).unwrap()) {
        assert!((a - b).abs() <= 1e-13 * a);
    }
}

#[test]
fn the_fast_jacobian_is_the_direct_one_and_a_zero_lr_point_is_infinite() {
    let lrs = mpl_schedule("wsd_20000_24000").to_array();
    let (steps, _) = mpl_curve("25", "wsd_20000_24000");
    let law = ConvexLaw::new(&lrs, &steps).unwrap();
    let (n, np) = (law.n_points(), law.n_params());
    let (fast_out, fast) = law.predict_with_jacobian(&P).unwrap();
    let (mut out, mut slow) = (vec![0.0; n], vec![0.0; n * np]);
    law.eval_naive(&P, &mut out, Some(&mut slow)).unwrap();
    for i in 0..n {
        assert!((fast_out[i] - out[i]).abs() <= 1e-12 * out[i]);
    }
    for j in 0..np {
        let col_max = (0..n).map(|i| slow[i * np + j].abs()).fold(0.0, f64::max);
        for i in 0..n {
            let (a, b) = (fast[i * np + j], slow[i * np + j]);
            assert!(
                (a - b).abs() <= 1e-9 * col_max,
                "jac[{i}][{j}]: {a:e} vs {b:e}"
            );
        }
    }
    let mut ends_at_zero = lrs.clone();
    ends_at_zero[23_999] = 0.0;
    let law = ConvexLaw::new(&ends_at_zero, &[23_998, 23_999]).unwrap();
    let v = law.predict(&P).unwrap();
    assert!(v[0].is_finite() && v[1] == f64::INFINITY, "{v:?}");
}
