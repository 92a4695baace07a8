//! The real training logs of `../shared/data` (published papers' files, see its README)
//! load with the right runs and roles. They are read in place, never copied.

use std::collections::BTreeSet;

use server::ingest::{Layout, Limits, ParsedFile, Role, ingest};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

fn load(path: &str) -> ParsedFile {
    let full = format!("{DATA}/{path}");
    let bytes = std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    ingest(path, &bytes, &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn role_of(file: &ParsedFile, role: Role) -> Option<&str> {
    file.roles
        .iter()
        .find(|(_, r)| *r == role)
        .map(|(c, _)| c.as_str())
}

/// A file's format, run count, and the column of each role.
fn check(path: &str, format: &str, runs: usize, roles: &[(Role, &str)]) -> ParsedFile {
    let file = load(path);
    assert_eq!(file.format, format, "{path}");
    assert_eq!(file.runs.len(), runs, "{path}");
    for (role, column) in roles {
        assert_eq!(role_of(&file, *role), Some(*column), "{path}: {role:?}");
    }
    file
}

#[test]
fn multi_power_law_csvs() {
    let mut n = 0;
    for size in ["25", "100"] {
        let dir = format!("{DATA}/multipowerlaw/csv_{size}");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into())
            .collect();
        names.sort();
        for name in names {
            let file = check(
                &format!("multipowerlaw/csv_{size}/{name}"),
                "csv",
                1,
                &[(Role::Step, "step"), (Role::Loss, "loss"), (Role::Lr, "lr")],
            );
            let run = &file.runs[0];
            assert_eq!(run.name, name.trim_end_matches(".csv"));
            let loss = &run.series["loss"];
            let text = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
            let first: f64 = text
                .lines()
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(
                loss.steps.len(),
                text.lines().count() - 1,
                "{name}: every row kept"
            );
            assert_eq!(loss.steps[0], first, "{name}");
            assert!(
                loss.steps.windows(2).all(|w| w[1] > w[0]),
                "{name}: increasing steps"
            );
            assert_eq!(run.series["lr"].steps, loss.steps);
            assert!(file.warnings.is_empty(), "{name}: {:?}", file.warnings);
            n += 1;
        }
    }
    assert_eq!(n, 18);
}

#[test]
fn schaipp_long_csvs() {
    let train = check(
        "schaipp_124m/train_curves_long.csv",
        "csv",
        159,
        &[
            (Role::Run, "run_file"),
            (Role::Step, "iter"),
            (Role::Loss, "train_loss"),
            (Role::Lr, "lr"),
        ],
    );
    let val = check(
        "schaipp_124m/val_curves_long.csv",
        "csv",
        159,
        &[
            (Role::Run, "run_file"),
            (Role::Step, "iter"),
            (Role::EvalLoss, "val_loss"),
        ],
    );
    let names = |f: &ParsedFile| {
        f.runs
            .iter()
            .map(|r| r.name.clone())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(names(&train), names(&val), "the same runs in both files");
    let index = std::fs::read_to_string(format!("{DATA}/schaipp_124m/runs_index.csv")).unwrap();
    let indexed: BTreeSet<String> = index
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert_eq!(names(&train), indexed);
    // Every train run has its LR as logged, every val run only an eval loss.
    assert!(
        train
            .runs
            .iter()
            .all(|r| r.series.contains_key("lr") && r.series["loss"].steps.len() >= 100)
    );
    assert!(
        val.runs
            .iter()
            .all(|r| r.series.keys().collect::<Vec<_>>() == ["eval_loss"])
    );
}

#[test]
fn schaipp_run_exports() {
    let dir = format!("{DATA}/schaipp_124m/runs");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        let file = check(
            &format!("schaipp_124m/runs/{name}"),
            "run_json",
            1,
            &[
                (Role::Step, "iter"),
                (Role::Loss, "train_loss"),
                (Role::EvalLoss, "val_loss"),
                (Role::Lr, "train_lr"),
            ],
        );
        let run = &file.runs[0];
        assert_eq!(run.name, name.trim_end_matches(".json"));
        assert_eq!(run.attrs["n_params"], 123_587_328.0);
        // 50 sequences x 2 accumulation steps x 2 GPUs x 512 tokens = 102,400 tokens per step.
        let tokens = &run.series["tokens"];
        assert_eq!(tokens.values[0], tokens.steps[0] * 102_400.0, "{name}");
        n += 1;
    }
    assert_eq!(n, 5);
}

#[test]
fn llm360_log() {
    let file = check(
        "llm360/llm360Mamba3B.csv",
        "csv",
        1,
        &[(Role::Step, "step"), (Role::Loss, "loss"), (Role::Lr, "lr")],
    );
    let run = &file.runs[0];
    assert_eq!(run.series["loss"].steps.len(), 44_174);
    assert_eq!(file.ignored, ["grad_norm"]);
}

#[test]
fn epoch_chinchilla_table() {
    let file = check(
        "epoch_chinchilla/svg_extracted_data.csv",
        "csv",
        245,
        &[
            (Role::NParams, "Model Size"),
            (Role::Flops, "Training FLOP"),
            (Role::Loss, "loss"),
        ],
    );
    assert_eq!(file.layout, Layout::RowPerRun);
    let run = &file.runs[0];
    assert_eq!(run.name, "svg_extracted_data line 2");
    // D = C / (6 N).
    let (n, c) = (run.attrs["n_params"], run.attrs["flops"]);
    assert!((run.attrs["tokens"] - c / (6.0 * n)).abs() < 1e-6 * run.attrs["tokens"]);
    assert_eq!(run.series["loss"].values, vec![5.005581996196243]);
}

#[test]
fn gemstones_tables() {
    for (path, runs) in [
        ("gemstones/wandb_df_for_fitting_hot.jsonl", 22),
        ("gemstones/wandb_df_for_fitting_cool_end.jsonl", 20),
    ] {
        let file = check(
            path,
            "ndjson",
            runs,
            &[
                (Role::Run, "run_name"),
                (Role::Step, "step"),
                (Role::Loss, "final_loss"),
                (Role::Tokens, "tokens"),
                (Role::NParams, "params_active_precise"),
            ],
        );
        let run = &file.runs[0];
        assert_eq!(run.name, "PyGemma-1024x28_pretrain");
        assert_eq!(run.attrs["n_params"], 543_482_880.0);
        assert_eq!(run.series["tokens"].steps, run.series["loss"].steps);
        let points: usize = file.runs.iter().map(|r| r.series["loss"].steps.len()).sum();
        let lines = std::fs::read_to_string(format!("{DATA}/{path}"))
            .unwrap()
            .lines()
            .count();
        assert_eq!(points, lines, "{path}: every checkpoint kept");
    }
}

#[test]
fn step_law_sweep() {
    let file = check(
        "steplaw/dense_lr_bs_loss.csv",
        "csv",
        1911,
        &[
            (Role::Run, "exp_name"),
            (Role::Lr, "lr"),
            (Role::BatchSize, "bs"),
            (Role::NParams, "N"),
            (Role::Tokens, "D"),
            (Role::Loss, "loss"),
        ],
    );
    let run = &file.runs[0];
    assert_eq!(
        run.name,
        "step2v2_0618_h960_ffnh9368_numh15_numl7_lr3.453e-04_bs736_ti66342_mlr1.00e-05"
    );
    for (key, value) in [
        ("lr", 0.0003453),
        ("batch_size", 736.0),
        ("n_params", 214_663_680.0),
        ("tokens", 1e11),
    ] {
        assert_eq!(run.attrs[key], value, "{key}");
    }
    assert_eq!(run.series["loss"].values, vec![2.413517]);
}

#[test]
fn tissue_demo_runs_are_found_by_their_schedule_column() {
    let file = check(
        "tissue_demo/tissue_example_cosine_constant.csv",
        "csv",
        2,
        &[(Role::Run, "schedule"), (Role::Step, "step")],
    );
    assert_eq!(
        file.runs
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        ["cosine", "constant"]
    );
    assert!(file.runs.iter().all(|r| r.series["loss"].steps.len() == 20));
}
