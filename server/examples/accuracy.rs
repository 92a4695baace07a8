//! The accuracy table of `docs/fitting.md` (issue 14): each schedule law, fitted by default, on
//! the multi-power-law authors' protocol (fit `cosine_24000`, `constant_24000`,
//! `wsdcon_9`; forecast the six other schedules) for their 25M and 100M runs, with the
//! mean and worst of the six held-out mean |L - L^|/L, and the published numbers beside.
//! For the multi-power law it also prints the strength its validation chose and the
//! validation table (which uses the three fitted runs only). Run from the workspace root:
//! `cargo run --example accuracy`.

use server::fit::laws::{self, CurveRun, Exclusion, LawSettings};
use server::fit::{FitOptions, fit};

#[path = "../tests/support/mpl.rs"]
mod mpl;
use mpl::{TEST, TRAIN, run};

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
