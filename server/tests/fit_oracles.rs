//! Fits checked against published oracles on the real data in `../shared/data`.
//! Each tolerance is stated where it is checked.

use server::fit::laws::{self, Convention, CurveRun, Exclusion, LawName, LawSettings, TableRow};
use server::fit::objective::{Objective, Penalty, Scale};
use server::fit::{FitOptions, fit};
use shared::schedule::Schedule;

fn data(path: &str) -> String {
    let full = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/").to_string() + path;
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Rows of a small CSV as maps from header to cell.
fn csv_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

fn within(name: &str, got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{name}: got {got}, want {want} +- {}%",
        rel * 100.0
    );
}

#[test]
fn momentum_law_on_tissue_demo_matches_the_authors_fit() {
    let rows = csv_rows(&data("tissue_demo/tissue_example_cosine_constant.csv"));
    let runs: Vec<CurveRun> = [
        ("cosine", "cosine:peak=2e-4,final=0,warmup=500,total=20000"),
        ("constant", "constant:peak=2e-4,warmup=500,total=20000"),
    ]
    .iter()
    .map(|(name, spec)| {
        let schedule: Schedule = spec.parse().unwrap();
        let points: Vec<_> = rows.iter().filter(|r| r["schedule"] == *name).collect();
        CurveRun {
            name: name.to_string(),
            steps: points.iter().map(|r| r["step"].parse().unwrap()).collect(),
            loss: points.iter().map(|r| r["loss"].parse().unwrap()).collect(),
            lrs: schedule.to_array_len(20001),
        }
    })
    .collect();
    let prepared = laws::prepare_curves(
        LawName::Momentum,
        &runs,
        &[],
        &Exclusion::default(),
        &LawSettings::default(),
    )
    .unwrap();
    assert_eq!(prepared.starts.len(), 54, "the authors' 54-point grid");
    let fitted = fit(prepared, &FitOptions::default()).unwrap();
    let p = &fitted.params;
    // Tolerance: 0.5% on each parameter (the bar).
    within("L0", p[0], 2.62780, 0.005);
    within("A", p[1], 0.429666, 0.005);
    within("alpha", p[2], 0.549845, 0.005);
    within("C", p[3], 0.410773, 0.005);
    let all = fitted
        .report
        .train
        .iter()
        .find(|m| m.run == "(all runs)")
        .unwrap();
    assert!(
        all.r2.unwrap() > 0.9996,
        "R^2 {:?} (authors: 0.99963)",
        all.r2
    );
}

fn epoch_rows() -> Vec<TableRow> {
    csv_rows(&data("epoch_chinchilla/svg_extracted_data.csv"))
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let n: f64 = r["Model Size"].parse().unwrap();
            let c: f64 = r["Training FLOP"].parse().unwrap();
            TableRow {
                run: format!("row{i}"),
                n: Some(n),
                d: Some(c / (6.0 * n)),
                x: None,
                loss: r["loss"].parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn chinchilla_on_epoch_data_reproduces_hoffmanns_recipe() {
    let exclusion = Exclusion {
        highest_loss: 5,
        ..Exclusion::default()
    };
    let prepared =
        laws::prepare_table(LawName::Chinchilla, &epoch_rows(), &[], &exclusion).unwrap();
    assert_eq!(prepared.starts.len(), 4500, "Hoffmann's grid");
    assert_eq!(prepared.excluded.len(), 5);
    let options = FitOptions {
        bootstrap: 200,
        ..FitOptions::default()
    };
    let fitted = fit(prepared, &options).unwrap();
    let [a, b, e, alpha, beta] = fitted.params[..] else {
        panic!()
    };
    // Tolerance: 1% on each parameter, objective no higher than Epoch's 1.0183e-3 (+0.01%).
    within("A", a.exp(), 477.84, 0.01);
    within("B", b.exp(), 2143.86, 0.01);
    within("E", e.exp(), 1.8172, 0.01);
    within("alpha", alpha, 0.3473, 0.01);
    within("beta", beta, 0.3672, 0.01);
    assert!(
        fitted.report.objective_value <= 1.0183e-3 * 1.0001,
        "objective {}",
        fitted.report.objective_value
    );
    // Bootstrap 95% CIs overlap Epoch's (alpha 0.317-0.373, beta 0.331-0.415).
    let ci = |name: &str| {
        fitted
            .report
            .params
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .ci
            .unwrap()
    };
    let overlaps = |[lo, hi]: [f64; 2], (elo, ehi): (f64, f64)| lo <= ehi && elo <= hi;
    assert!(
        overlaps(ci("alpha"), (0.317, 0.373)),
        "alpha CI {:?}",
        ci("alpha")
    );
    assert!(
        overlaps(ci("beta"), (0.331, 0.415)),
        "beta CI {:?}",
        ci("beta")
    );

    // The natural-unit values, derived: exp of the logs, the delta-method stderr, the
    // exponentiated interval; Epoch's published A, B, E lie inside those intervals.
    let report = &fitted.report;
    for (name, from, epoch) in [("A", "a", 477.84), ("B", "b", 2143.86), ("E", "e", 1.8172)] {
        let p = report.params.iter().find(|p| p.name == from).unwrap();
        let d = report.derived.iter().find(|d| d.name == name).unwrap();
        assert_eq!(d.from, from);
        assert_eq!(d.value, p.value.exp());
        assert_eq!(d.stderr, p.stderr.map(|se| p.value.exp() * se));
        let [lo, hi] = d.ci.unwrap();
        assert_eq!([lo, hi], ci(from).map(f64::exp));
        assert!(
            lo <= epoch && epoch <= hi,
            "{name}: Epoch's {epoch} not in [{lo}, {hi}]"
        );
    }
    assert_eq!(report.derived.len(), 3, "alpha and beta are not logs");
    let text = server::fit::report::text(report);
    let line = text
        .lines()
        .skip_while(|l| !l.starts_with("[[Derived]]"))
        .find(|l| l.trim_start().starts_with("A "))
        .unwrap_or_else(|| panic!("no derived A in\n{text}"));
    assert!(line.ends_with("= exp(a)"), "{line}");
}

#[test]
fn zhang_steps_vs_batch_hyperbola_per_model() {
    let rows = csv_rows(&data("zhang_cbs/steps_to_goal_loss_vs_batch.csv"));
    let published = [
        ("85M", 1293.83, 2.834e6),
        ("151M-ablation", 1752.42, 5.677e6),
        ("302M", 2095.35, 1.1383e7),
        ("604M", 2459.93, 1.9450e7),
        ("1.2B", 3897.31, 4.3381e7),
    ];
    for (model, a_pub, b_pub) in published {
        let table: Vec<TableRow> = rows
            .iter()
            .filter(|r| r["model_size"] == model)
            .map(|r| TableRow {
                run: format!("{model}@{}", r["batch_size_seqs"]),
                x: Some(r["batch_size_seqs"].parse().unwrap()),
                loss: r["steps_to_goal"].parse().unwrap(),
                ..TableRow::default()
            })
            .collect();
        // S(B) = a + b/B is the saturating power law E + A x^-alpha with alpha fixed at 1,
        // fitted by least squares on log S.
        let mut prepared =
            laws::prepare_table(LawName::Power, &table, &[], &Exclusion::default()).unwrap();
        prepared.starts = vec![vec![1000.0, 1e6, 1.0]];
        let options = FitOptions {
            objective: Objective {
                penalty: Penalty::LeastSquares,
                scale: Scale::Log,
                over_prediction_weight: 1.0,
            },
            fixed: [("alpha".to_string(), 1.0)].into(),
            bounds: [
                ("A".to_string(), [0.0, 1e12]),
                ("E".to_string(), [0.0, 1e7]),
            ]
            .into(),
            ..FitOptions::default()
        };
        let fitted = fit(prepared, &options).unwrap();
        let (e, a) = (fitted.params[0], fitted.params[1]);
        // Tolerance: 2% on a and b (the bar).
        within(&format!("{model} a"), e, a_pub, 0.02);
        within(&format!("{model} b"), a, b_pub, 0.02);
    }
}

#[test]
fn schedule_laws_refuse_tables_and_bad_input() {
    let err = laws::prepare_table(LawName::Momentum, &[], &[], &Exclusion::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("loss curves"), "{err}");
    let run = CurveRun {
        name: "flat".into(),
        steps: vec![1, 2, 3, 4, 5, 6],
        loss: vec![3.0; 6],
        lrs: vec![1e-3; 10],
    };
    let prepared = laws::prepare_curves(
        LawName::Momentum,
        &[run.clone()],
        &[],
        &Exclusion::default(),
        &LawSettings::default(),
    )
    .unwrap();
    let err = fit(prepared, &FitOptions::default()).err().unwrap();
    assert!(err.to_string().contains("constant"), "{err}");
    let zero = CurveRun {
        lrs: vec![0.0; 10],
        ..run.clone()
    };
    let err = laws::prepare_curves(
        LawName::Momentum,
        &[zero],
        &[],
        &Exclusion::default(),
        &LawSettings::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("zero"), "{err}");
    let few = CurveRun {
        steps: vec![1, 2],
        loss: vec![3.0, 2.9],
        ..run.clone()
    };
    let prepared = laws::prepare_curves(
        LawName::Momentum,
        &[few],
        &[],
        &Exclusion::default(),
        &LawSettings {
            convention: Convention::Paper,
            ..LawSettings::default()
        },
    )
    .unwrap();
    let err = fit(prepared, &FitOptions::default()).err().unwrap();
    assert!(err.to_string().contains("cannot determine"), "{err}");
    let err = laws::prepare_curves(
        LawName::Momentum,
        &[run],
        &["nope".into()],
        &Exclusion::default(),
        &LawSettings::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("nope"), "{err}");
}
