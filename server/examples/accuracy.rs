//! The accuracy table of `docs/fitting.md` (issue 14): each schedule law, fitted by default, on
//! the multi-power-law authors' protocol (fit `cosine_24000`, `constant_24000`,
//! `wsdcon_9`; forecast the six other schedules) for their 25M and 100M runs, with the
//! mean and worst of the six held-out mean |L - L^|/L, and the published numbers beside.
//! For the multi-power law it also prints the strength its validation chose and the
//! validation table (which uses the three fitted runs only). Run from the workspace root:
//! `cargo run --example accuracy`.

use server::fit::laws::{self, CurveRun, Exclusion, LawSettings};
use server::fit::{FitOptions, fit};
use shared::schedule::Schedule;

const TRAIN: [&str; 3] = ["cosine_24000", "constant_24000", "wsdcon_9"];
const TEST: [&str; 6] = [
    "cosine_72000",
    "constant_72000",
    "wsd_20000_24000",
    "wsdld_20000_24000",
    "wsdcon_3",
    "wsdcon_18",
];

/// Each file's schedule (the data README's description, in the text form).
fn spec(name: &str) -> String {
    let w = "peak=3e-4,warmup=2160,ramp=linspace";
    match name {
        "cosine_24000" => format!("cosine:{w},final=3e-5,total=24000"),
        "cosine_72000" => format!("cosine:{w},final=3e-5,total=72000"),
        "constant_24000" => format!("constant:{w},total=24000"),
        "constant_72000" => format!("constant:{w},total=72000"),
        "wsd_20000_24000" => {
            format!("wsd:{w},final=3e-5,total=24000,decay_start=20000,shape=geometric")
        }
        "wsdld_20000_24000" => {
            format!("wsd:{w},final=3e-5,total=24000,decay_start=20000,shape=linear")
        }
        wsdcon => {
            let lr2 = wsdcon.trim_start_matches("wsdcon_").parse::<f64>().expect("wsdcon_K") * 1e-5;
            format!("two_stage:{w},total=16000,switch=8000,lr2={lr2:e}")
        }
    }
}

fn run(size: u32, name: &str) -> CurveRun {
    let path = format!(
        "{}/../../shared/data/multipowerlaw/csv_{size}/{name}.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let lrs = spec(name).parse::<Schedule>().expect("schedule").to_array();
    let (mut steps, mut loss) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        steps.push(cells[0].parse().expect("step"));
        loss.push(cells[2].parse().expect("loss"));
    }
    CurveRun {
        name: name.into(),
        steps,
        loss,
        lrs,
    }
}

fn main() {
    let strength = std::env::args()
        .skip_while(|a| a != "--prior-strength")
        .nth(1)
        .map(|v| v.parse::<f64>().expect("--prior-strength X"));
    println!("| law | data | held-out mean | worst of six | published (multi-power law) |");
    println!("|---|---|---|---|---|");
    for law in server::fit::compare::schedule_laws() {
        for (size, published) in [(25, "0.00110"), (100, "0.00142")] {
            let runs: Vec<CurveRun> = TRAIN.iter().chain(&TEST).map(|n| run(size, n)).collect();
            let holdout: Vec<String> = TEST.iter().map(|s| s.to_string()).collect();
            let prepared = laws::prepare_curves(
                law,
                &runs,
                &holdout,
                &Exclusion::default(),
                &LawSettings::default(),
            )
            .expect("prepare");
            let options = FitOptions {
                prior_strength: strength,
                ..FitOptions::default()
            };
            let fitted = fit(prepared, &options).expect("fit");
            let errors: Vec<f64> = fitted
                .report
                .holdout
                .iter()
                .filter(|m| m.run != "(all runs)")
                .map(|m| m.mean_rel_error)
                .collect();
            let mean = errors.iter().sum::<f64>() / errors.len() as f64;
            let worst = errors.iter().copied().fold(0.0, f64::max);
            println!(
                "| {} | {size}M | {mean:.5} | {worst:.5} | {published} |",
                law.as_str()
            );
            if let Some(reg) = &fitted.report.regularisation {
                eprintln!(
                    "  {size}M chosen relative strength {}; validation {}",
                    reg["relative_strength"], reg["cross_validation"]
                );
            }
        }
    }
}
