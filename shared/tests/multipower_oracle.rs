//! Oracle: the multi-power law with the published parameters reproduces the published
//! test-set errors on the authors' data, with the authors' index convention.

mod common;

use common::mpl_schedule as schedule_of;
use shared::laws::Law;
use shared::laws::multipower::{MplConvention, MultiPowerLaw};

struct Metrics {
    pred_e: f64,
    mae: f64,
    r2: f64,
}

fn evaluate(scale: &str, name: &str, params: &[f64]) -> Metrics {
    let (_, rows) = common::read_csv(&format!("multipowerlaw/csv_{scale}/{name}.csv"));
    let schedule = schedule_of(name);
    let total = schedule.total() as usize;
    // Steps at or past the end of the LR array (e.g. 24000 in a 24000-step run) are dropped.
    let (steps, loss): (Vec<usize>, Vec<f64>) = rows
        .iter()
        .map(|r| {
            (
                r[0].parse::<usize>().expect("step"),
                r[2].parse::<f64>().expect("loss"),
            )
        })
        .filter(|&(s, _)| s < total)
        .unzip();
    let law =
        MultiPowerLaw::new(&schedule.to_array(), &steps, MplConvention::AuthorsCode).expect("law");
    let pred = law.predict(params).expect("eval");
    let n = loss.len() as f64;
    let mean = loss.iter().sum::<f64>() / n;
    let ss_res: f64 = loss.iter().zip(&pred).map(|(l, p)| (l - p).powi(2)).sum();
    let ss_tot: f64 = loss.iter().map(|l| (l - mean).powi(2)).sum();
    Metrics {
        pred_e: loss
            .iter()
            .zip(&pred)
            .map(|(l, p)| (l - p).abs() / l)
            .sum::<f64>()
            / n,
        mae: loss
            .iter()
            .zip(&pred)
            .map(|(l, p)| (l - p).abs())
            .sum::<f64>()
            / n,
        r2: 1.0 - ss_res / ss_tot,
    }
}

const TEST_CURVES: [&str; 6] = [
    "constant_72000",
    "cosine_72000",
    "wsd_20000_24000",
    "wsdld_20000_24000",
    "wsdcon_3",
    "wsdcon_18",
];

fn mean_pred_e(scale: &str, params: &[f64]) -> f64 {
    let mut total = 0.0;
    for name in TEST_CURVES {
        let m = evaluate(scale, name, params);
        println!(
            "{scale}M {name:>18}: PredE {:.6} MAE {:.6} R2 {:.6}",
            m.pred_e, m.mae, m.r2
        );
        total += m.pred_e;
    }
    total / TEST_CURVES.len() as f64
}

#[test]
fn published_test_error_25m() {
    let params = [
        3.04045406,
        0.52468604,
        0.50786857,
        363.78751622,
        2.06560812,
        0.58279013,
        0.64142257,
    ];
    let e = mean_pred_e("25", &params);
    println!("25M mean PredE {e:.6}");
    assert!((e - 0.00110).abs() <= 2e-5, "25M mean PredE {e}");
}

#[test]
fn published_test_error_100m() {
    let params = [
        2.6514477,
        0.60115152,
        0.45295811,
        437.9464276,
        2.13245612,
        0.59785199,
        0.65523644,
    ];
    let e = mean_pred_e("100", &params);
    println!("100M mean PredE {e:.6}");
    assert!((e - 0.00142).abs() <= 2e-5, "100M mean PredE {e}");
    let cos = evaluate("100", "cosine_72000", &params);
    assert!(
        (cos.mae - 0.007265).abs() <= 2e-6,
        "100M cosine_72000 MAE {}",
        cos.mae
    );
    assert!(
        (cos.r2 - 0.996987).abs() <= 2e-6,
        "100M cosine_72000 R2 {}",
        cos.r2
    );
}
