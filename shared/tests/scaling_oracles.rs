//! Oracles for the Chinchilla, Kaplan and critical-batch formulas.

use shared::laws::Law;
use shared::laws::batch::{
    KAPLAN_ALPHA_B, KAPLAN_B_STAR, McCandlishLaw, SuLaw, SuParams, c_min, critical_batch,
    examples_at_batch, s_min, steps_at_batch,
};
use shared::laws::chinchilla::{Chinchilla, ChinchillaLaw};
use shared::laws::hyper::{PowerLawC, PowerLawND};
use shared::laws::kaplan::{KaplanND, KaplanNS, KaplanPower};

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn chinchilla_compute_optimal_allocation() {
    // Hoffmann's parameters: N_opt(1e21) = 1.824e9, D_opt(1e21) = 9.136e10 (+-0.5%).
    let h = Chinchilla::HOFFMANN;
    assert!(
        rel(h.n_opt(1e21), 1.824e9) < 5e-3,
        "N_opt {}",
        h.n_opt(1e21)
    );
    assert!(
        rel(h.d_opt(1e21), 9.136e10) < 5e-3,
        "D_opt {}",
        h.d_opt(1e21)
    );
    // The frontier spends exactly C = 6 N D, and is the minimum loss at that compute.
    for c in [1e19, 1e21, 1e24] {
        let (n, d) = (h.n_opt(c), h.d_opt(c));
        assert!(rel(6.0 * n * d, c) < 1e-12);
        for f in [0.8, 1.25] {
            assert!(h.loss(n * f, c / (6.0 * n * f)) > h.loss_opt(c));
        }
    }
}

#[test]
fn chinchilla_log_parametrisation() {
    let h = Chinchilla::EPOCH;
    let p = h.to_log_params();
    let back = Chinchilla::from_log_params(p);
    for (a, b) in [(back.a, h.a), (back.b, h.b), (back.e, h.e)] {
        assert!(rel(a, b) < 1e-14);
    }
    let (n, d) = ([4e8, 7e9, 7e10], [8e9, 1.4e11, 1.4e12]);
    let law = ChinchillaLaw::new(&n, &d).unwrap();
    let pred = law.predict(&p).unwrap();
    for i in 0..3 {
        assert!(rel(pred[i], h.loss(n[i], d[i])) < 1e-13);
    }
}

#[test]
fn kaplan_constants() {
    // B_crit(2.0) = 7.37e6 tokens with B* = 2e8, alpha_B = 0.21.
    let b = critical_batch(2.0, KAPLAN_B_STAR, KAPLAN_ALPHA_B);
    assert!(rel(b, 7.37e6) < 1e-3, "B_crit(2) = {b}");
    // L(N, D) reduces to L(N) as D -> infinity and to L(D) as N -> infinity.
    let nd = KaplanND::PUBLISHED;
    assert!(rel(nd.loss(1e9, 1e30), KaplanPower::L_OF_N.loss(1e9)) < 1e-9);
    assert!(rel(nd.loss(1e40, 1e10), KaplanPower::L_OF_D.loss(1e10)) < 1e-9);
    let ns = KaplanNS::PUBLISHED;
    assert!(ns.loss(1e9, 1e5) > ns.loss(1e9, 1e6));
}

#[test]
fn batch_relations() {
    let (s_min_v, b_crit) = (1e4, 5e5);
    for b in [1e4, 5e5, 1e7] {
        let s = steps_at_batch(s_min_v, b_crit, b);
        assert!(rel(s_min(s, b, b_crit), s_min_v) < 1e-14);
        // (S/S_min - 1)(E/E_min - 1) = 1 with E_min = B_crit S_min.
        let e_min = b_crit * s_min_v;
        let e = examples_at_batch(e_min, b_crit, b);
        assert!(rel((s / s_min_v - 1.0) * (e / e_min - 1.0), 1.0) < 1e-12);
        assert!(rel(c_min(e, b, b_crit), e_min) < 1e-14);
    }
    // Regressing S on 1/B: S = S_min + E_min / B.
    let law = McCandlishLaw::new(&[1e4, 1e5]).unwrap();
    let s = law.predict(&[s_min_v, b_crit * s_min_v]).unwrap();
    assert!(rel(s[0], steps_at_batch(s_min_v, b_crit, 1e4)) < 1e-14);
}

#[test]
fn su_curve_solves_its_equation() {
    let p = SuParams::KAPLAN;
    let (n, b) = (1e8, 1e6);
    let mut last = f64::INFINITY;
    for steps in [1e3, 1e4, 1e5, 1e6] {
        let l = p.loss(n, steps, b).unwrap();
        let s_min_v = steps / (1.0 + critical_batch(l, p.b_star, p.alpha_b) / b);
        let rhs = KaplanNS {
            n_c: p.n_c,
            alpha_n: p.alpha_n,
            s_c: p.s_c,
            alpha_s: p.alpha_s,
        }
        .loss(n, s_min_v);
        assert!(rel(l, rhs) < 1e-12, "L {l} vs rhs {rhs}");
        assert!(l < last, "loss falls with steps");
        last = l;
    }
    let law = SuLaw::new(&[n], &[1e4], &[b]).unwrap();
    assert!(
        rel(
            law.predict(&p.to_params()).unwrap()[0],
            p.loss(n, 1e4, b).unwrap()
        ) < 1e-15
    );
    assert!(SuLaw::new(&[n], &[0.0], &[b]).is_err());
}

#[test]
fn hyper_parameter_laws() {
    let lr = PowerLawC::DEEPSEEK_LR.eval(1e20);
    assert!(rel(lr, 0.3118 * 1e20f64.powf(-0.125)) < 1e-15);
    let bs = PowerLawND::STEP_LAW_BATCH_TOKENS.eval(1e9, 1e11);
    assert!(rel(bs, 0.58 * 1e11f64.powf(0.571)) < 1e-15);
}
