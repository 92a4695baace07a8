//! Demo data: synthetic loss curves the project makes itself, and loading them.
//!
//! [`generate`] writes `fixtures/demo/*.csv`: three 24,000-step runs of one
//! hypothetical model under a cosine, a constant and a WSD (1-sqrt cooldown) schedule,
//! drawn from the momentum law with known parameters ([`DEMO_PARAMS`]) plus seeded
//! multiplicative noise. On `serve --demo`, [`load_if_empty`] puts them into an empty
//! store so a new user sees curves at once.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use shared::laws::Law;
use shared::laws::momentum::MomentumLaw;
use shared::schedule::Schedule;

use crate::ingest::{self, Limits};
use crate::rng::SplitMix64;
use crate::store::Store;

/// The momentum law's parameters the demo runs are drawn from: L0, A, alpha, C
/// (raw learning rates, authors' warmup convention, lambda 0.999).
pub const DEMO_PARAMS: [f64; 4] = [2.9, 0.45, 0.55, 1.0];
/// Relative noise (standard deviation) of each logged loss.
const NOISE: f64 = 0.004;
/// Steps between logged points.
const LOG_EVERY: usize = 100;

const DEMO_RUNS: &[(&str, &str)] = &[
    (
        "demo_cosine",
        "cosine:peak=3e-4,final=3e-5,warmup=500,total=24000",
    ),
    ("demo_constant", "constant:peak=3e-4,warmup=500,total=24000"),
    (
        "demo_wsd_sqrt",
        "wsd:peak=3e-4,final=0,warmup=500,total=24000,decay=0.2,shape=sqrt",
    ),
];

/// The demo files as `(file name, CSV text)`; deterministic.
pub fn generate() -> anyhow::Result<Vec<(String, String)>> {
    let mut rng = SplitMix64(0x5eed_c0de);
    let mut files = Vec::new();
    for (name, spec) in DEMO_RUNS {
        let schedule: Schedule = spec
            .parse()
            .with_context(|| format!("demo schedule {spec}"))?;
        let lrs = schedule.to_array();
        let steps: Vec<usize> = (LOG_EVERY..lrs.len()).step_by(LOG_EVERY).collect();
        let law = MomentumLaw::from_schedule(&schedule, &steps, 0.999, true)?;
        let loss = law.predict(&DEMO_PARAMS)?;
        let mut csv = String::from("step,lr,loss\n");
        for (&step, clean) in steps.iter().zip(loss) {
            let noisy = clean * (1.0 + NOISE * rng.normal());
            writeln!(csv, "{step},{:e},{noisy:.6}", lrs[step])?;
        }
        files.push((format!("{name}.csv"), csv));
    }
    Ok(files)
}

/// Writes the demo files into `dir`.
pub fn write(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, csv) in generate()? {
        std::fs::write(dir.join(&name), csv).with_context(|| format!("writing {name}"))?;
    }
    Ok(())
}

/// Loads every CSV of `dir` into the store, unless the store already has runs.
pub async fn load_if_empty(store: &Store, dir: &Path) -> anyhow::Result<usize> {
    if store.count_runs().await? > 0 {
        return Ok(0);
    }
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the demo folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    paths.sort();
    let mut loaded = 0;
    for path in paths {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = ingest::ingest(&name, &bytes, &Limits::default())?;
        loaded += store
            .add_upload(name, file.format, bytes, file.runs)
            .await?
            .len();
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_demo_files_match_the_generator() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo");
        for (name, csv) in super::generate().unwrap() {
            let committed = std::fs::read_to_string(dir.join(&name)).unwrap_or_default();
            assert!(
                committed == csv,
                "fixtures/demo/{name} is stale: run `curvecast demo-data --out fixtures/demo`"
            );
        }
    }
}
