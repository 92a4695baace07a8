//! Zhang et al. 2025's reduced sweep (`zhang_cbs`): per model S(B) = a + b/B, their
//! critical batch (20% over linear scaling from B0 = 256) and CBS vs N, against the
//! published numbers; also through `curvecast batch --json` and its CSV output.

use std::process::Command;

use server::batch;
use server::ingest::{Limits, table::read_table};
use shared::api::batch::{AnalyzeResponse, BatchOptions};

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/zhang_cbs/steps_to_goal_loss_vs_batch.csv"
);

/// Published: model, a, b, CBS (sequences).
const PUBLISHED: [(&str, f64, f64, f64); 5] = [
    ("85M", 1293.83, 2.834e6, 745.3),
    ("151M-ablation", 1752.42, 5.677e6, 955.2),
    ("302M", 2095.35, 1.1383e7, 1393.7),
    ("604M", 2459.93, 1.9450e7, 1888.5),
    ("1.2B", 3897.31, 4.3381e7, 2533.4),
];

fn within(what: &str, got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs(),
        "{what}: {got} vs published {want} (tolerance {}%)",
        rel * 100.0
    );
}

fn check(r: &AnalyzeResponse) {
    assert_eq!(r.models.len(), 5);
    for (model, a, b, cbs) in PUBLISHED {
        let m = r.models.iter().find(|m| m.model == model).unwrap();
        assert_eq!(m.targets.len(), 1, "{model}: one goal loss per model");
        let t = &m.targets[0];
        assert_eq!(t.points.len(), 9);
        // Tolerances: the 2% on a, b and the critical batches.
        within(&format!("{model} a"), t.s_min.value, a, 0.02);
        within(&format!("{model} b"), t.e_min.value, b, 0.02);
        within(&format!("{model} CBS"), t.zhang_cbs.cbs.value, cbs, 0.02);
        assert_eq!(t.zhang_cbs.reference_batch, 256.0);
        // The intervals contain the estimates and are not degenerate.
        for e in [&t.s_min, &t.e_min, &t.b_crit, &t.zhang_cbs.cbs] {
            let [lo, hi] = e.ci.expect("an interval");
            assert!(lo < e.value && e.value < hi, "{model}: {e:?}");
        }
    }
    // CBS ~ 93.20 (N/1M)^0.468, both numbers within 5%.
    let fit = r.cbs_vs_n.as_ref().expect("CBS vs N");
    within("CBS vs N coefficient", fit.k.value, 93.2, 0.05);
    within("CBS vs N exponent", fit.exponent.value, 0.468, 0.05);
    assert_eq!(fit.n_points, 5);
}

#[test]
fn zhang_critical_batches_and_cbs_vs_n() {
    let bytes = std::fs::read(FILE).unwrap();
    let table = read_table("zhang.csv", &bytes, &Limits::default()).unwrap();
    let columns = batch::table::Columns::default();
    assert!(batch::table::is_steps_table(&table, &columns));
    let rows = batch::table::rows(&table, &columns).unwrap();
    assert_eq!(rows.len(), 45);
    assert_eq!(rows[0].n_params, Some(85e6));
    let options = BatchOptions {
        reference_batch: Some(256.0),
        ..BatchOptions::default()
    };
    check(&batch::analyze(&[], &rows, &options).unwrap());
}

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

#[test]
fn zhang_through_the_cli_as_json_csv_and_text() {
    let (ok, stdout, stderr) = curvecast(&["batch", "--json", "--reference-batch", "256", FILE]);
    assert!(ok, "{stderr}");
    let r: AnalyzeResponse = serde_json::from_str(&stdout).unwrap();
    check(&r);
    assert!(stdout.contains("\"zhang_cbs\""));

    let (ok, stdout, stderr) = curvecast(&["batch", "--csv", "--reference-batch", "256", FILE]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    assert!(lines[0].starts_with("model,n_params,target_loss,n_batches,s_min"));
    assert!(lines[1].starts_with("85M,85000000,3.42,9,"), "{}", lines[1]);

    let (ok, stdout, stderr) = curvecast(&["batch", "--reference-batch", "256", FILE]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("model 1.2B") && stdout.contains("Zhang CBS vs N"),
        "{stdout}"
    );
}

#[test]
fn bad_tables_get_errors_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "model,batch_size,steps_to_goal\nm,64,100\nm,128,abc\n",
    )
    .unwrap();
    let (ok, _, stderr) = curvecast(&["batch", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("line 3") && stderr.contains("steps_to_goal"),
        "{stderr}"
    );

    std::fs::write(&bad, "model,batch_size,steps_to_goal\nm,64,100\nm,128,60\n").unwrap();
    let (ok, _, stderr) = curvecast(&["batch", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("2 points") && stderr.contains("model 'm'"),
        "{stderr}"
    );
}
