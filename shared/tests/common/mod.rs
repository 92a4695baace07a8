//! Helpers shared by the integration tests: reading the shared data, a seeded RNG and a
//! finite-difference gradient check.
#![allow(dead_code)]

use shared::laws::Law;
use shared::schedule::{DecayShape, Schedule, WarmupRamp};

/// Path of a file under the project's `shared/data` folder (outside the repo).
pub fn data_path(rel: &str) -> String {
    format!("{}/../../shared/data/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// Reads a small CSV with a header into rows of strings (plain std, no quoting).
pub fn read_csv(rel: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let path = data_path(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .next()
        .expect("header")
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(|s| s.trim().to_string()).collect())
        .collect();
    (header, rows)
}

/// Small deterministic generator (xorshift64*), so the property tests need no crate.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn unif(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unif()
    }
    /// Log-uniform in [lo, hi].
    pub fn log_range(&mut self, lo: f64, hi: f64) -> f64 {
        self.range(lo.ln(), hi.ln()).exp()
    }
    pub fn int(&mut self, lo: u64, hi_inclusive: u64) -> u64 {
        lo + self.next_u64() % (hi_inclusive - lo + 1)
    }
}

/// Compares the analytic Jacobian with central finite differences (relative step `h`).
/// Returns the worst `|analytic - numeric| / (|analytic| + |numeric| + floor)` over entries.
pub fn max_gradient_error(law: &dyn Law, params: &[f64], h: f64, floor: f64) -> f64 {
    let (n, np) = (law.n_points(), law.n_params());
    let (_, jac) = law.predict_with_jacobian(params).expect("eval");
    let mut worst: f64 = 0.0;
    for j in 0..np {
        let step = h * params[j].abs().max(1e-3);
        let mut plus = params.to_vec();
        let mut minus = params.to_vec();
        plus[j] += step;
        minus[j] -= step;
        let fp = law.predict(&plus).expect("eval+");
        let fm = law.predict(&minus).expect("eval-");
        for i in 0..n {
            let numeric = (fp[i] - fm[i]) / (2.0 * step);
            let analytic = jac[i * np + j];
            let err = (analytic - numeric).abs() / (analytic.abs() + numeric.abs() + floor);
            worst = worst.max(err);
        }
    }
    worst
}

const MPL_PEAK: f64 = 3e-4;
const MPL_END: f64 = 3e-5;
const MPL_WARMUP: u64 = 2160;

/// The authors' code builds its warmup with `np.linspace(0, peak, 2160)`.
const MPL_RAMP: WarmupRamp = WarmupRamp::Linspace;

/// The schedule of each curve of `multipowerlaw/csv_*`, from the formulas in the data
/// README.
pub fn mpl_schedule(name: &str) -> Schedule {
    let wsd = |shape| Schedule::Wsd {
        peak: MPL_PEAK,
        final_lr: MPL_END,
        warmup: MPL_WARMUP,
        ramp: MPL_RAMP,
        total: 24000,
        decay: None,
        decay_start: Some(20000),
        shape,
    };
    match name {
        "constant_24000" => Schedule::Constant {
            peak: MPL_PEAK,
            warmup: MPL_WARMUP,
            ramp: MPL_RAMP,
            total: 24000,
        },
        "constant_72000" => Schedule::Constant {
            peak: MPL_PEAK,
            warmup: MPL_WARMUP,
            ramp: MPL_RAMP,
            total: 72000,
        },
        "cosine_24000" => Schedule::Cosine {
            peak: MPL_PEAK,
            final_lr: MPL_END,
            warmup: MPL_WARMUP,
            ramp: MPL_RAMP,
            total: 24000,
        },
        "cosine_72000" => Schedule::Cosine {
            peak: MPL_PEAK,
            final_lr: MPL_END,
            warmup: MPL_WARMUP,
            ramp: MPL_RAMP,
            total: 72000,
        },
        "wsd_20000_24000" => wsd(DecayShape::Geometric),
        "wsdld_20000_24000" => wsd(DecayShape::Linear),
        _ => {
            let lr2: f64 = name
                .trim_start_matches("wsdcon_")
                .parse::<f64>()
                .expect("wsdcon")
                * 1e-5;
            Schedule::TwoStage {
                peak: MPL_PEAK,
                warmup: MPL_WARMUP,
                ramp: MPL_RAMP,
                total: 16000,
                switch: 8000,
                lr2,
            }
        }
    }
}

/// The logged `(steps, losses)` of a curve of `multipowerlaw/csv_{scale}` (steps inside
/// the schedule's array only).
pub fn mpl_curve(scale: &str, name: &str) -> (Vec<usize>, Vec<f64>) {
    let (_, rows) = read_csv(&format!("multipowerlaw/csv_{scale}/{name}.csv"));
    let total = mpl_schedule(name).total() as usize;
    rows.iter()
        .map(|r| {
            (
                r[0].parse::<usize>().expect("step"),
                r[2].parse::<f64>().expect("loss"),
            )
        })
        .filter(|&(s, _)| s < total)
        .unzip()
}
