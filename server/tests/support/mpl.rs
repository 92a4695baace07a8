//! The multi-power-law authors' protocol on their data (`../shared/data/multipowerlaw`):
//! fit `TRAIN`, forecast `TEST`; each file's schedule in the text form (the data README's
//! description, with the authors' `linspace` warmup). Shared by the tests and the accuracy
//! example (`#[path]`-included, so not every user needs every item).
#![allow(dead_code)]

use server::fit::laws::CurveRun;
use shared::schedule::Schedule;

pub const TRAIN: [&str; 3] = ["cosine_24000", "constant_24000", "wsdcon_9"];
pub const TEST: [&str; 6] = [
    "cosine_72000",
    "constant_72000",
    "wsd_20000_24000",
    "wsdld_20000_24000",
    "wsdcon_3",
    "wsdcon_18",
];

/// The schedule of each file, in the text form.
pub fn spec(name: &str) -> String {
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
            let lr2 = wsdcon
                .trim_start_matches("wsdcon_")
                .parse::<f64>()
                .expect("wsdcon_K")
                * 1e-5;
            format!("two_stage:{w},total=16000,switch=8000,lr2={lr2:e}")
        }
    }
}

/// The folder of the `size`M runs.
pub fn dir(size: u32) -> String {
    format!(
        "{}/../../shared/data/multipowerlaw/csv_{size}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Run `name` of the `size`M data, its LRs from [`spec`] (checked against the file's
/// logged `lr` column: the formulas reproduce it to float rounding).
pub fn run(size: u32, name: &str) -> CurveRun {
    let path = format!("{}/{name}.csv", dir(size));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let lrs = spec(name).parse::<Schedule>().expect("schedule").to_array();
    let (mut steps, mut loss) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let step: usize = cells[0].parse().expect("step");
        let logged: f64 = cells[1].parse().expect("lr");
        assert!(
            (lrs[step] - logged).abs() <= 1e-9 * logged,
            "{name} step {step}"
        );
        steps.push(step);
        loss.push(cells[2].parse().expect("loss"));
    }
    CurveRun {
        name: name.into(),
        steps,
        loss,
        lrs,
    }
}
