//! Times curvecast's fits for `bench/run.sh` (one `name,seconds` line each): the Epoch
//! Chinchilla data with Hoffmann's 4,500-start grid, a 1,000-resample bootstrap of it,
//! and the multi-power law's default fit on three 24k-step curves (the authors' 25M data)
//! and on three synthetic 100k-step curves. Run from the workspace root:
//! `cargo run --example fit_bench` (the dev profile, whose numeric crates are optimised).

use std::time::Instant;

use server::fit::laws::{self, CurveRun, Exclusion, LawName, LawSettings, TableRow};
use server::fit::{FitOptions, fit};
use server::rng::SplitMix64;
use shared::laws::Law;
use shared::laws::multipower::{MplConvention, MultiPowerLaw};
use shared::schedule::Schedule;

fn data(path: &str) -> String {
    let full = format!("{}/../../shared/data/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn epoch_rows() -> Vec<TableRow> {
    data("epoch_chinchilla/svg_extracted_data.csv")
        .lines()
        .skip(1)
        .enumerate()
        .map(|(i, line)| {
            // Columns: x, y, color, Model Size, Training FLOP, hex_color, loss.
            let c: Vec<&str> = line.split(',').collect();
            let (n, flop, loss): (f64, f64, f64) = (
                c[3].parse().unwrap(),
                c[4].parse().unwrap(),
                c[6].parse().unwrap(),
            );
            TableRow {
                run: format!("row{i}"),
                n: Some(n),
                d: Some(flop / (6.0 * n)),
                x: None,
                loss,
            }
        })
        .collect()
}

fn time(name: &str, f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    let s = t.elapsed().as_secs_f64();
    println!("{name},{s:.4}");
    s
}

fn mpl_runs(size: u32) -> Vec<CurveRun> {
    let w = "peak=3e-4,warmup=2160,ramp=linspace";
    [
        ("cosine_24000", format!("cosine:{w},final=3e-5,total=24000")),
        ("constant_24000", format!("constant:{w},total=24000")),
        (
            "wsdcon_9",
            format!("two_stage:{w},total=16000,switch=8000,lr2=9e-5"),
        ),
    ]
    .iter()
    .map(|(name, spec)| {
        let text = data(&format!("multipowerlaw/csv_{size}/{name}.csv"));
        let (mut steps, mut loss) = (Vec::new(), Vec::new());
        for line in text.lines().skip(1) {
            let c: Vec<&str> = line.split(',').collect();
            steps.push(c[0].parse().unwrap());
            loss.push(c[2].parse().unwrap());
        }
        CurveRun {
            name: name.to_string(),
            steps,
            loss,
            lrs: spec.parse::<Schedule>().unwrap().to_array(),
        }
    })
    .collect()
}

/// Three 100k-step curves drawn from the published 25M parameters, 0.3% noise, every
/// 250 steps.
fn synthetic_100k() -> Vec<CurveRun> {
    let truth = [3.04, 0.525, 0.508, 364.0, 2.07, 0.583, 0.641];
    let w = "peak=3e-4,warmup=2160,ramp=linspace,total=100000";
    let mut rng = SplitMix64(7);
    [
        ("cosine", format!("cosine:{w},final=3e-5")),
        ("constant", format!("constant:{w}")),
        ("two_stage", format!("two_stage:{w},switch=60000,lr2=9e-5")),
    ]
    .iter()
    .map(|(name, spec)| {
        let lrs = spec.parse::<Schedule>().unwrap().to_array();
        let steps: Vec<usize> = (2250..100_000).step_by(250).collect();
        let law = MultiPowerLaw::new(&lrs, &steps, MplConvention::AuthorsCode).unwrap();
        let loss = law
            .predict(&truth)
            .unwrap()
            .iter()
            .map(|l| l * (1.0 + 0.003 * rng.normal()))
            .collect();
        CurveRun {
            name: name.to_string(),
            steps,
            loss,
            lrs,
        }
    })
    .collect()
}

fn main() {
    let exclusion = Exclusion {
        highest_loss: 5,
        ..Exclusion::default()
    };
    let rows = epoch_rows();
    let prepare = || laws::prepare_table(LawName::Chinchilla, &rows, &[], &exclusion).unwrap();
    let grid = time("chinchilla_4500_starts", || {
        fit(prepare(), &FitOptions::default()).unwrap();
    });
    let with_bootstrap = {
        let t = Instant::now();
        let options = FitOptions {
            bootstrap: 1000,
            ..FitOptions::default()
        };
        fit(prepare(), &options).unwrap();
        t.elapsed().as_secs_f64()
    };
    println!(
        "chinchilla_bootstrap_1000,{:.4}",
        (with_bootstrap - grid).max(0.0)
    );
    let runs = mpl_runs(25);
    time("multipower_3x24k", || {
        let p = laws::prepare_curves(
            LawName::Multipower,
            &runs,
            &[],
            &Exclusion::default(),
            &LawSettings::default(),
        )
        .unwrap();
        fit(p, &FitOptions::default()).unwrap();
    });
    let runs = synthetic_100k();
    time("multipower_3x100k", || {
        let p = laws::prepare_curves(
            LawName::Multipower,
            &runs,
            &[],
            &Exclusion::default(),
            &LawSettings::default(),
        )
        .unwrap();
        fit(p, &FitOptions::default()).unwrap();
    });
}
