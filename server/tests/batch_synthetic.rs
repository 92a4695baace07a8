//! End to end on a sweep generated with known answers (Su et al.'s law with Kaplan's
//! constants, 0.3% log-normal noise): S_min, E_min and B_crit per target must be recovered
//! within their own 95% intervals (at least 90% of them), B* and alpha_B within 20% and 3%.

use server::batch::{self, synthetic};
use shared::api::batch::BatchOptions;
use shared::laws::batch::critical_batch;

#[test]
fn known_s_min_e_min_and_bcrit_law_are_recovered() {
    // Logged every 10 steps (as trainers usually log): at every 50, the highest targets are
    // crossed within the first few logged points and their steps come out ~2% late.
    let spec = synthetic::SweepSpec {
        every: 10,
        ..Default::default()
    };
    let runs = synthetic::sweep(&spec);
    let options = BatchOptions {
        smoothing_window: 3,
        ..BatchOptions::default()
    };
    let r = batch::analyze(&runs, &[], &options).unwrap();
    assert_eq!(r.models.len(), 3);
    let (mut checked, mut inside) = (0, 0);
    for m in &r.models {
        let n = m.n_params.unwrap();
        assert_eq!(m.targets.len(), 8, "{}: {:?}", m.model, r.warnings);
        for t in &m.targets {
            let l = t.target_loss.unwrap();
            let (s_true, e_true) = synthetic::true_s_e_min(&spec.law, n, l).unwrap();
            let b_true = critical_batch(l, spec.law.b_star, spec.law.alpha_b);
            for (what, e, truth) in [
                ("S_min", &t.s_min, s_true),
                ("E_min", &t.e_min, e_true),
                ("B_crit", &t.b_crit, b_true),
            ] {
                let [lo, hi] = e.ci.unwrap();
                checked += 1;
                if lo <= truth && truth <= hi {
                    inside += 1;
                } else {
                    eprintln!(
                        "{} L={l}: {what} {} [{lo}, {hi}] misses {truth}",
                        m.model, e.value
                    );
                }
                // Never far off, even when outside a narrow interval.
                assert!(
                    (e.value / truth - 1.0).abs() < 0.1,
                    "{} L={l}: {what} {} vs {truth}",
                    m.model,
                    e.value
                );
            }
        }
        // B_crit(L): its t-intervals come from the scatter of the targets' B_crit about the
        // line, but the targets share the same runs, so those intervals are too narrow to
        // hold the truth (alpha_B 0.2073 [0.2060, 0.2086] for the largest model). Checked
        // against the truth with fixed tolerances instead: alpha_B 3%, B* 20%.
        let law = m.b_crit_law.as_ref().unwrap();
        assert!(
            (law.alpha_b.value / spec.law.alpha_b - 1.0).abs() < 0.03,
            "{}: alpha_B {:?}",
            m.model,
            law.alpha_b
        );
        assert!(
            (law.b_star.value / spec.law.b_star - 1.0).abs() < 0.2,
            "{}: B* {:?}",
            m.model,
            law.b_star
        );
    }
    // 95% intervals: at least 90% of the 72 must hold the truth.
    assert!(
        inside as f64 >= 0.9 * checked as f64,
        "{inside} of {checked} intervals hold the truth"
    );
    let pooled = r.b_crit_law.as_ref().unwrap();
    eprintln!("pooled B_crit(L): {pooled:?}");
    assert!(
        (pooled.alpha_b.value / spec.law.alpha_b - 1.0).abs() < 0.03,
        "{pooled:?}"
    );
    assert!(
        (pooled.b_star.value / spec.law.b_star - 1.0).abs() < 0.2,
        "{pooled:?}"
    );
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
