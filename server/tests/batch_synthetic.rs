//! End to end on sweeps generated with known answers (Su et al.'s law with Kaplan's
//! constants, 0.3% log-normal noise), over 10 noise seeds: S_min, E_min and B_crit per target
//! must be inside their own 95% intervals in at least 90% of cases, and B* and alpha_B of each
//! model's and of the pooled B_crit(L) inside theirs in at least 8 of the 10 seeds; the
//! band of each fitted B_crit(L) line must hold the true law at 90% of the target losses.

use server::batch::{self, synthetic};
use shared::api::batch::{BatchOptions, Estimate};
use shared::laws::batch::critical_batch;

fn inside(e: &Estimate, truth: f64) -> bool {
    e.ci.is_some_and(|[lo, hi]| lo <= truth && truth <= hi)
}

#[test]
fn known_s_min_e_min_and_bcrit_law_are_recovered_within_their_intervals() {
    let options = BatchOptions {
        smoothing_window: 3,
        ..BatchOptions::default()
    };
    let (mut checked, mut held) = (0, 0);
    let (mut band_checked, mut band_held) = (0, 0);
    // Per law (3 models, then pooled): seeds where alpha_B's and B*'s intervals hold the truth.
    let mut alpha_in = [0; 4];
    let mut b_star_in = [0; 4];
    let seeds = 1..=10u64;
    for seed in seeds.clone() {
        // Logged every 10 steps, as trainers usually log.
        let spec = synthetic::SweepSpec {
            every: 10,
            seed,
            ..Default::default()
        };
        let law = spec.law;
        let r = batch::analyze(&synthetic::sweep(&spec), &[], &options).unwrap();
        assert_eq!(r.models.len(), 3);
        let mut laws = Vec::new();
        for m in &r.models {
            let n = m.n_params.unwrap();
            assert_eq!(m.targets.len(), 8, "{}: {:?}", m.model, r.warnings);
            for t in &m.targets {
                let l = t.target_loss.unwrap();
                let (s_true, e_true) = synthetic::true_s_e_min(&law, n, l).unwrap();
                let b_true = critical_batch(l, law.b_star, law.alpha_b);
                for (what, e, truth) in [
                    ("S_min", &t.s_min, s_true),
                    ("E_min", &t.e_min, e_true),
                    ("B_crit", &t.b_crit, b_true),
                ] {
                    checked += 1;
                    held += inside(e, truth) as usize;
                    // Never far off, even when outside a narrow interval.
                    assert!(
                        (e.value / truth - 1.0).abs() < 0.1,
                        "seed {seed} {} L={l}: {what} {} vs {truth}",
                        m.model,
                        e.value
                    );
                }
            }
            laws.push(m.b_crit_law.clone().unwrap());
        }
        laws.push(r.b_crit_law.clone().unwrap());
        // The band of the fitted line (drawn on the Batch page) at the target losses.
        let losses: Vec<f64> = r.models[0]
            .targets
            .iter()
            .filter_map(|t| t.target_loss)
            .collect();
        for fit in &laws {
            for &l in &losses {
                let (_, band) = fit.at(l);
                band_checked += 1;
                band_held += band.is_some_and(|[lo, hi]| {
                    let truth = critical_batch(l, law.b_star, law.alpha_b);
                    lo <= truth && truth <= hi
                }) as usize;
            }
            // Narrowest among the targets, not beyond them (the sign of the correlation).
            let width = |l: f64| fit.at(l).1.map(|[lo, hi]| hi / lo).unwrap();
            let (lo, hi) = (
                losses.iter().copied().fold(f64::MAX, f64::min),
                losses.iter().copied().fold(0.0, f64::max),
            );
            let grid = (0..=200)
                .map(|i| (lo.ln() - 0.5 + ((hi / lo).ln() + 1.0) * i as f64 / 200.0).exp());
            let narrowest = grid.min_by(|a, b| width(*a).total_cmp(&width(*b))).unwrap();
            assert!(
                (lo..=hi).contains(&narrowest),
                "the band is narrowest at L = {narrowest}, outside the targets {lo}..{hi}: {fit:?}"
            );
        }
        for (k, fit) in laws.iter().enumerate() {
            alpha_in[k] += inside(&fit.alpha_b, law.alpha_b) as usize;
            b_star_in[k] += inside(&fit.b_star, law.b_star) as usize;
            eprintln!(
                "seed {seed} law {k}: alpha_B {:.4} {:?}, B* {:.4e} {:?}",
                fit.alpha_b.value, fit.alpha_b.ci, fit.b_star.value, fit.b_star.ci
            );
        }
    }
    eprintln!(
        "coverage over {} seeds (3 models, pooled): alpha_B {alpha_in:?}, B* {b_star_in:?}; per target {held} of {checked}",
        seeds.count()
    );
    assert!(
        held as f64 >= 0.9 * checked as f64,
        "{held} of {checked} per-target intervals hold the truth"
    );
    eprintln!("B_crit(L) bands hold the true law in {band_held} of {band_checked} cases");
    assert!(
        band_held as f64 >= 0.9 * band_checked as f64,
        "B_crit(L) bands hold the true law in {band_held} of {band_checked} cases"
    );
    for k in 0..4 {
        assert!(alpha_in[k] >= 8, "alpha_B held in {alpha_in:?} of 10 seeds");
        assert!(b_star_in[k] >= 8, "B* held in {b_star_in:?} of 10 seeds");
    }
}

#[test]
fn bad_runs_and_options_are_refused_with_the_reason() {
    let mut runs = synthetic::sweep(&synthetic::SweepSpec {
        n_params: vec![6e7],
        ..Default::default()
    });
    let ok = BatchOptions::default();
    let mut bad = runs.clone();
    bad[2].batch = 0.0;
    let e = batch::analyze(&bad, &[], &ok).unwrap_err().to_string();
    assert!(e.contains(&bad[2].name) && e.contains("batch size"), "{e}");
    let mut bad = runs.clone();
    bad[1].steps.swap(3, 4);
    let e = batch::analyze(&bad, &[], &ok).unwrap_err().to_string();
    assert!(e.contains("steps must increase"), "{e}");
    let e = batch::analyze(
        &runs,
        &[],
        &BatchOptions {
            ci_level: 1.5,
            ..ok.clone()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("ci_level"), "{e}");
    let e = batch::analyze(&[], &[], &ok).unwrap_err().to_string();
    assert!(e.contains("no data"), "{e}");
    // A target no run reaches: warned and skipped, the others still fitted.
    let r = batch::analyze(
        &runs,
        &[],
        &BatchOptions {
            targets: vec![1.0, 3.2],
            ..ok.clone()
        },
    )
    .unwrap();
    assert_eq!(r.models[0].targets.len(), 1);
    assert!(
        r.warnings.iter().any(|w| w.contains("target 1")),
        "{:?}",
        r.warnings
    );
    runs.truncate(2);
    let e = batch::analyze(
        &runs,
        &[],
        &BatchOptions {
            targets: vec![3.2],
            ..ok
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("cannot give 2 parameters"), "{e}");
}
