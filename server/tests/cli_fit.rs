//! `curvecast fit` and `curvecast predict` as a user runs them, on the real
//! multi-power-law runs: fit two schedules, hold one out, forecast a new schedule.

use std::process::Command;

fn curvecast(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_curvecast"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn data(file: &str) -> String {
    format!(
        "{}/../../shared/data/multipowerlaw/csv_25/{file}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn fit_then_predict_a_new_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("fit.json");
    let (ok, stdout, stderr) = curvecast(&[
        "fit",
        "--law",
        "momentum",
        "--holdout",
        "wsdcon_3",
        "--bootstrap",
        "20",
        "--out",
        saved.to_str().unwrap(),
        &data("cosine_24000.csv"),
        &data("constant_24000.csv"),
        &data("wsdcon_3.csv"),
    ]);
    assert!(ok, "{stderr}");
    for section in [
        "[[Fit Statistics]]",
        "[[Variables]]",
        "[[Correlations]]",
        "[[Held-out runs]]",
        "wsdcon_3",
        "[[Coverage]]",
        "schedule families  = constant, cosine",
    ] {
        assert!(stdout.contains(section), "missing {section} in\n{stdout}");
    }
    // The held-out error is small (the momentum law predicts wsdcon_3 to better than 1%).
    let line = stdout
        .lines()
        .skip_while(|l| !l.starts_with("[[Held-out"))
        .find(|l| l.contains("wsdcon_3"))
        .unwrap();
    let mean_rel: f64 = line.split_whitespace().nth(5).unwrap().parse().unwrap();
    assert!(mean_rel < 0.01, "{line}");

    let out = dir.path().join("forecast.csv");
    let (ok, _, stderr) = curvecast(&[
        "predict",
        "--fit",
        saved.to_str().unwrap(),
        "--schedule",
        "wsd:peak=3e-4,warmup=2160,total=24000,decay=0.2,shape=sqrt",
        "--every",
        "1000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    // A WSD is a family the fit never saw: said on stderr, the CSV stays clean.
    assert!(
        stderr.contains("warning: schedule family wsd-sqrt was never fitted (fitted: constant, cosine) [family_not_fitted]"),
        "{stderr}"
    );
    let csv = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|c| c.parse().unwrap()).collect())
        .collect();
    assert_eq!(csv.lines().next().unwrap(), "step,loss,lower,upper");
    assert_eq!(rows.len(), 23);
    for r in &rows {
        assert!(
            r[2] <= r[1] + 1e-9 && r[1] <= r[3] + 1e-9,
            "band around the prediction: {r:?}"
        );
    }
    // The loss falls over training and drops in the cooldown.
    assert!(rows[0][1] > rows[18][1] && rows[18][1] > rows[22][1]);

    // A schedule like the fitted ones warns of nothing.
    let (ok, stdout, stderr) = curvecast(&[
        "predict",
        "--fit",
        saved.to_str().unwrap(),
        "--schedule",
        "cosine:peak=3e-4,final=3e-5,warmup=2160,total=24000",
        "--every",
        "1000",
    ]);
    assert!(ok && stdout.starts_with("step,loss"), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn clear_errors_for_bad_requests() {
    let (ok, _, stderr) = curvecast(&["fit", "--law", "nonsense", &data("cosine_24000.csv")]);
    assert!(!ok && stderr.contains("unknown law 'nonsense'"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let no_lr = dir.path().join("no_lr.csv");
    std::fs::write(
        &no_lr,
        "step,loss\n1,4.0\n2,3.9\n3,3.8\n4,3.7\n5,3.6\n6,3.5\n",
    )
    .unwrap();
    let (ok, _, stderr) = curvecast(&["fit", "--law", "multipower", no_lr.to_str().unwrap()]);
    assert!(!ok && stderr.contains("has no learning rate"), "{stderr}");
}

#[test]
fn chinchilla_from_the_epoch_table_through_the_cli() {
    let table = format!(
        "{}/../../shared/data/epoch_chinchilla/svg_extracted_data.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let (ok, stdout, stderr) = curvecast(&[
        "fit",
        "--law",
        "chinchilla",
        "--exclude-highest",
        "5",
        "--json",
        &table,
    ]);
    assert!(ok, "{stderr}");
    let report: shared::api::FitReport = serde_json::from_str(&stdout).unwrap();
    let value = |name: &str| report.params.iter().find(|p| p.name == name).unwrap().value;
    // Same recipe as the oracle test (Epoch: alpha 0.3473, beta 0.3672), 1%.
    assert!(
        (value("alpha") - 0.3473).abs() < 0.01 * 0.3473,
        "alpha {}",
        value("alpha")
    );
    assert!(
        (value("beta") - 0.3672).abs() < 0.01 * 0.3672,
        "beta {}",
        value("beta")
    );
    assert_eq!(report.excluded.len(), 5);
    assert_eq!(report.n_points, 240);
}

#[test]
fn multipower_with_objective_fixed_and_bounded_parameters() {
    let (ok, stdout, stderr) = curvecast(&[
        "fit",
        "--law",
        "multipower",
        "--holdout",
        "wsdcon_3",
        "--objective",
        "ls-log",
        "--fix",
        "gamma=0.6",
        "--bound",
        "beta=0.1:2",
        "--exclude-highest",
        "2",
        &data("cosine_24000.csv"),
        &data("constant_24000.csv"),
        &data("wsdcon_9.csv"),
        &data("wsdcon_3.csv"),
    ]);
    assert!(ok, "{stderr}");
    for section in [
        "[[Regularisation]]",
        "[[Identifiability]]",
        "least_squares",
        "gamma : 0.600000     (fixed)",
        "among the highest",
    ] {
        assert!(stdout.contains(section), "missing {section} in\n{stdout}");
    }
    let (ok, _, stderr) = curvecast(&[
        "fit",
        "--law",
        "multipower",
        "--fix",
        "gamma",
        &data("cosine_24000.csv"),
    ]);
    assert!(!ok && stderr.contains("NAME=VALUE"), "{stderr}");
    let (ok, _, stderr) = curvecast(&[
        "fit",
        "--law",
        "multipower",
        "--objective",
        "l1",
        &data("cosine_24000.csv"),
    ]);
    assert!(!ok && stderr.contains("unknown objective 'l1'"), "{stderr}");
}

#[test]
fn warmup_fraction_and_step_ranges_are_left_out_and_reported() {
    let (ok, stdout, stderr) = curvecast(&[
        "fit",
        "--law",
        "momentum",
        "--skip-fraction",
        "0.1",
        "--exclude-range",
        "12000..13000",
        "--json",
        &data("cosine_24000.csv"),
        &data("constant_24000.csv"),
    ]);
    assert!(ok, "{stderr}");
    let report: shared::api::FitReport = serde_json::from_str(&stdout).unwrap();
    let all = |file: &str| {
        std::fs::read_to_string(data(file))
            .unwrap()
            .lines()
            .skip(1)
            .filter(|l| l.split(',').nth(2).is_some_and(|c| !c.trim().is_empty()))
            .count()
    };
    let logged = all("cosine_24000.csv") + all("constant_24000.csv");
    assert!(
        report.n_points < logged * 9 / 10,
        "{} of {logged} points kept",
        report.n_points
    );
    assert_eq!(report.excluded.len(), 2, "{:?}", report.excluded);
    assert!(
        report.excluded[0].contains("[12000, 13000]"),
        "{:?}",
        report.excluded
    );

    let (ok, _, stderr) = curvecast(&[
        "fit",
        "--law",
        "momentum",
        "--exclude-range",
        "9..3",
        &data("cosine_24000.csv"),
    ]);
    assert!(!ok && stderr.contains("ends before it starts"), "{stderr}");
    let (ok, _, stderr) = curvecast(&[
        "fit",
        "--law",
        "momentum",
        "--skip-fraction",
        "1.5",
        &data("cosine_24000.csv"),
    ]);
    assert!(!ok && stderr.contains("--skip-fraction"), "{stderr}");
}

#[test]
fn a_run_weighted_zero_leaves_the_fit_as_without_it() {
    let fit_params = |extra: &[&str], files: &[&str]| {
        let mut args = vec!["fit", "--law", "momentum", "--json"];
        args.extend_from_slice(extra);
        let paths: Vec<String> = files.iter().map(|f| data(f)).collect();
        args.extend(paths.iter().map(String::as_str));
        let (ok, stdout, stderr) = curvecast(&args);
        assert!(ok, "{stderr}");
        let report: shared::api::FitReport = serde_json::from_str(&stdout).unwrap();
        (
            report.params.iter().map(|p| p.value).collect::<Vec<f64>>(),
            report.settings,
        )
    };
    let (alone, _) = fit_params(&[], &["cosine_24000.csv"]);
    let (weighted, settings) = fit_params(
        &["--weight", "constant_24000=0"],
        &["cosine_24000.csv", "constant_24000.csv"],
    );
    let (both, _) = fit_params(&[], &["cosine_24000.csv", "constant_24000.csv"]);
    for (a, w) in alone.iter().zip(&weighted) {
        // Tolerance: 1e-4 relative (same data term, same starts).
        assert!((a - w).abs() <= 1e-4 * a.abs(), "{alone:?} vs {weighted:?}");
    }
    assert_ne!(
        alone, both,
        "the constant run does change an unweighted fit"
    );
    assert_eq!(settings["run_weights"]["constant_24000"], 0.0);

    let (ok, _, stderr) = curvecast(&[
        "fit",
        "--law",
        "momentum",
        "--weight",
        "nope=2",
        &data("cosine_24000.csv"),
    ]);
    assert!(
        !ok && stderr.contains("'nope', which is not a fitted run"),
        "{stderr}"
    );
    let (ok, _, stderr) = curvecast(&[
        "fit",
        "--law",
        "momentum",
        "--weight",
        "cosine_24000=-1",
        &data("cosine_24000.csv"),
    ]);
    assert!(!ok && stderr.contains("finite and >= 0"), "{stderr}");
}
