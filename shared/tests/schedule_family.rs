//! The schedule families of real logged learning rates (rebuilt per step as a fit
//! rebuilds them): every run of the multi-power-law data, every run of Schaipp et al.
//! logged from its first step, and LLM360's stopped cosine.

mod common;

use std::collections::BTreeMap;

use shared::extrapolation::family;
use shared::schedule::{BeforeFirst, reconstruct};

fn family_of(mut pts: Vec<(u64, f64)>) -> &'static str {
    pts.sort_by_key(|p| p.0);
    let len = pts.last().unwrap().0 as usize + 1;
    family(&reconstruct(&pts, len, BeforeFirst::RampFromZero).unwrap()).name()
}

#[test]
fn multipower_law_runs() {
    let want = [
        ("constant_24000", "constant"),
        ("constant_72000", "constant"),
        ("cosine_24000", "cosine"),
        ("cosine_72000", "cosine"),
        ("wsd_20000_24000", "wsd-geometric"),
        ("wsdld_20000_24000", "wsd-linear"),
        ("wsdcon_3", "step"),
        ("wsdcon_9", "step"),
        ("wsdcon_18", "step"),
    ];
    for dir in ["csv_25", "csv_100"] {
        for (name, family) in want {
            let (_, rows) = common::read_csv(&format!("multipowerlaw/{dir}/{name}.csv"));
            let pts = rows
                .iter()
                .map(|r| (r[0].parse::<f64>().unwrap() as u64, r[1].parse().unwrap()))
                .collect();
            assert_eq!(family_of(pts), family, "{dir}/{name}");
        }
    }
}

#[test]
fn schaipp_runs_logged_from_the_start() {
    let (_, index) = common::read_csv("schaipp_124m/runs_index.csv");
    // run_file -> (scheduler, decay_type, wsd_fract_decay)
    let config: BTreeMap<&str, (&str, &str, f64)> = index
        .iter()
        .map(|r| {
            (
                r[0].as_str(),
                (r[2].as_str(), r[3].as_str(), r[4].parse().unwrap()),
            )
        })
        .collect();
    let (_, rows) = common::read_csv("schaipp_124m/train_curves_long.csv");
    let mut runs: BTreeMap<&str, Vec<(u64, f64)>> = BTreeMap::new();
    for r in &rows {
        let step = r[1].parse::<f64>().unwrap() as u64;
        runs.entry(r[0].as_str())
            .or_default()
            .push((step, r[2].parse().unwrap()));
    }
    let mut checked = 0;
    for (name, pts) in runs {
        // Logs of a cooldown branched off another run start mid-run: what the fit would
        // see there (a ramp from 0 to the first logged LR) is not the planned schedule.
        let Some(&(scheduler, decay, fraction)) = config.get(name) else {
            continue;
        };
        if pts.iter().map(|p| p.0).min() != Some(50) || scheduler == "wsd_twostage" {
            continue;
        }
        let want = match (scheduler, decay) {
            ("cos", _) => "cosine",
            (_, _) if fraction == 0.0 => "constant", // its final LR is logged at the last step only
            (_, _) if fraction > 0.99 => "linear",   // a WSD decaying over 99.4% of the run
            (_, "linear") => "wsd-linear",
            (_, _) => "wsd-sqrt",
        };
        assert_eq!(family_of(pts), want, "{name}");
        checked += 1;
    }
    assert!(checked >= 75, "{checked} runs checked");
}

#[test]
fn a_stopped_cosine_is_still_a_cosine() {
    // LLM360's Mamba 3B: a cosine planned for far more steps than were logged.
    let (_, rows) = common::read_csv("llm360/llm360Mamba3B.csv");
    let pts = rows
        .iter()
        .map(|r| (r[0].parse::<f64>().unwrap() as u64, r[2].parse().unwrap()))
        .collect();
    assert_eq!(family_of(pts), "cosine");
}
