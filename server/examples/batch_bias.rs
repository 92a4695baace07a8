//! Where the `B_crit(L)` bias comes from: the synthetic sweep (Kaplan's constants, 3 models x
//! 8 batches) under several noise levels, logging intervals and smoothings, 10 seeds each.
//! Prints, per condition, the mean relative error of the extracted steps-to-target (against
//! the true `S_min (1 + B_crit/B)`), of the per-target `B_crit`, of `alpha_B` and `B*` per
//! model, and how often the 95% intervals of `alpha_B` and `B*` hold the truth.
//! Run: `cargo run --example batch_bias` (from the workspace root).

use server::batch::{self, synthetic};
use shared::api::batch::BatchOptions;
use shared::laws::batch::critical_batch;

fn main() {
    println!(
        "noise,every,smooth,steps_bias,steps_rms,bcrit_bias,alpha_b_bias,alpha_b_rms,b_star_bias,alpha_cover,b_star_cover,fits"
    );
    for (noise, every, smooth) in [
        (0.0, 10, 1),
        (0.0, 50, 1),
        (0.003, 10, 1),
        (0.003, 10, 3),
        (0.003, 50, 1),
        (0.003, 50, 3),
    ] {
        let (mut steps_err, mut bc_err, mut a_err, mut b_err) = (vec![], vec![], vec![], vec![]);
        let (mut a_in, mut b_in, mut fits) = (0, 0, 0);
        let seeds = if noise == 0.0 { 1 } else { 10 };
        for seed in 1..=seeds {
            let spec = synthetic::SweepSpec {
                every,
                noise,
                seed,
                ..Default::default()
            };
            let runs = synthetic::sweep(&spec);
            let options = BatchOptions {
                smoothing_window: smooth,
                ..BatchOptions::default()
            };
            let r = batch::analyze(&runs, &[], &options).unwrap();
            let law = &spec.law;
            for m in &r.models {
                let n = m.n_params.unwrap();
                for t in &m.targets {
                    let l = t.target_loss.unwrap();
                    let (s, _) = synthetic::true_s_e_min(law, n, l).unwrap();
                    let bc = critical_batch(l, law.b_star, law.alpha_b);
                    for p in &t.points {
                        steps_err.push(p.steps / (s * (1.0 + bc / p.batch)) - 1.0);
                    }
                    bc_err.push(t.b_crit.value / bc - 1.0);
                }
                let Some(fit) = &m.b_crit_law else { continue };
                fits += 1;
                a_err.push(fit.alpha_b.value / law.alpha_b - 1.0);
                b_err.push(fit.b_star.value / law.b_star - 1.0);
                let inside =
                    |ci: Option<[f64; 2]>, v: f64| ci.is_some_and(|[a, b]| a <= v && v <= b);
                a_in += inside(fit.alpha_b.ci, law.alpha_b) as usize;
                b_in += inside(fit.b_star.ci, law.b_star) as usize;
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
        println!(
            "{noise},{every},{smooth},{:+.4},{:.4},{:+.4},{:+.4},{:.4},{:+.4},{a_in},{b_in},{fits}",
            mean(&steps_err),
            rms(&steps_err),
            mean(&bc_err),
            mean(&a_err),
            rms(&a_err),
            mean(&b_err),
        );
    }
}
