//! A synthetic batch sweep with known answers: loss curves from Su et al.'s law
//! (`L(N, S_min)` with `B_crit(L)`) at several model sizes and batch sizes, with
//! multiplicative noise. For tests and the worked example of `docs/batch.md`.

use shared::api::batch::SweepRun;
use shared::laws::batch::{SuParams, critical_batch};

use crate::rng::SplitMix64;

/// What to generate.
#[derive(Clone, Debug)]
pub struct SweepSpec {
    pub law: SuParams,
    pub n_params: Vec<f64>,
    /// Batch sizes in the unit of `law.b_star` (tokens for Kaplan's constants).
    pub batches: Vec<f64>,
    /// Logged every `every` steps up to `last`.
    pub every: usize,
    pub last: usize,
    /// Standard deviation of the log-normal noise on each logged loss.
    pub noise: f64,
    pub seed: u64,
}

impl Default for SweepSpec {
    /// Kaplan's constants; 3 model sizes x 8 batch sizes (2^15..2^22 tokens); 0.3% noise.
    fn default() -> Self {
        Self {
            law: SuParams::KAPLAN,
            n_params: vec![2e7, 6e7, 2e8],
            batches: (15..=22).map(|k| 2f64.powi(k)).collect(),
            every: 50,
            last: 60_000,
            noise: 0.003,
            seed: 7,
        }
    }
}

/// The true steps at infinite batch and examples at batch 1 to reach `loss` (model `n`):
/// `S_min = S_c / (L - X)^(1/alpha_S)`, `E_min = S_min B_crit(L)`; `None` below the
/// lowest reachable loss `X = (N_c/N)^alpha_N`.
pub fn true_s_e_min(law: &SuParams, n: f64, loss: f64) -> Option<(f64, f64)> {
    let x = (law.n_c / n).powf(law.alpha_n);
    (loss > x).then(|| {
        let s = law.s_c / (loss - x).powf(1.0 / law.alpha_s);
        (s, s * critical_batch(loss, law.b_star, law.alpha_b))
    })
}

pub fn sweep(spec: &SweepSpec) -> Vec<SweepRun> {
    let mut rng = SplitMix64(spec.seed);
    let mut runs = Vec::new();
    for &n in &spec.n_params {
        for &b in &spec.batches {
            let steps: Vec<f64> = (1..=spec.last / spec.every)
                .map(|k| (k * spec.every) as f64)
                .collect();
            let loss = steps
                .iter()
                .map(|&s| {
                    let l = spec.law.loss(n, s, b).unwrap_or(f64::NAN);
                    l * (spec.noise * rng.normal()).exp()
                })
                .collect();
            runs.push(SweepRun {
                name: format!("N{n:e}_B{b}"),
                model: None,
                n_params: Some(n),
                batch: b,
                steps,
                loss,
            });
        }
    }
    runs
}

/// The runs as a long CSV `run,step,loss,batch_size,n_params` (readable by `ingest`).
pub fn to_csv(runs: &[SweepRun]) -> String {
    let mut out = String::from("run,step,loss,batch_size,n_params\n");
    for r in runs {
        let n = r.n_params.map_or(String::new(), |n| n.to_string());
        for (s, l) in r.steps.iter().zip(&r.loss) {
            out.push_str(&format!("{},{s},{l},{},{n}\n", r.name, r.batch));
        }
    }
    out
}
