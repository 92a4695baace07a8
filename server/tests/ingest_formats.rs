//! Round trips: every sample file the project writes (`curvecast fixtures`, see
//! `fixtures/formats/README.md`) is read back and compared with the synthetic truth it
//! was made from; the committed fixtures are checked the same way. Then mappings,
//! limits and errors that must say where.

use server::ingest::samples::{self, Precision, Sample};
use server::ingest::{IngestErrorKind, Layout, Limits, Mapping, ParsedFile, ingest, ingest_with};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/formats");

fn close(got: f64, want: f64, precision: Precision) -> bool {
    match precision {
        Precision::Exact => (got - want).abs() <= 1e-12 * want.abs().max(1e-300),
        Precision::F32 => got == f64::from(want as f32),
        Precision::Relative(r) => (got - want).abs() <= r * want.abs(),
    }
}

/// Compares a read file with the truth of the sample curves.
fn check(sample: &Sample, file: &ParsedFile) {
    let name = sample.name;
    if name == "scaling_table.csv" {
        return check_scaling(file);
    }
    let expected = samples::runs_of(name);
    assert_eq!(
        file.runs.len(),
        expected.len(),
        "{name}: runs {:?}",
        file.runs.iter().map(|r| &r.name).collect::<Vec<_>>()
    );
    for (run, truth) in file.runs.iter().zip(&expected) {
        if expected.len() > 1 {
            assert_eq!(run.name, *truth, "{name}");
        }
        let loss = &run.series["loss"];
        assert!(
            loss.steps.len() >= 20,
            "{name}: {} loss points",
            loss.steps.len()
        );
        for (&step, &value) in loss.steps.iter().zip(&loss.values) {
            assert!(
                close(value, samples::loss(truth, step as i64), sample.precision),
                "{name} {truth} loss at {step}: {value}"
            );
        }
        assert_eq!(run.series.contains_key("lr"), sample.has_lr, "{name}: lr");
        if let Some(lr) = run.series.get("lr") {
            for (&step, &value) in lr.steps.iter().zip(&lr.values) {
                assert!(
                    close(value, samples::lr(truth, step as i64), sample.precision),
                    "{name} lr at {step}: {value}"
                );
            }
        }
        assert_eq!(
            run.series.contains_key("eval_loss"),
            sample.has_eval,
            "{name}: eval_loss"
        );
        if let Some(eval) = run.series.get("eval_loss") {
            assert_eq!(
                eval.steps,
                vec![200.0, 400.0, 600.0, 800.0, 1000.0],
                "{name}"
            );
            for (&step, &value) in eval.steps.iter().zip(&eval.values) {
                assert!(
                    close(
                        value,
                        samples::eval_loss(truth, step as i64),
                        sample.precision
                    ),
                    "{name} eval at {step}"
                );
            }
        }
    }
    assert!(
        file.warnings.is_empty(),
        "{name}: unexpected warnings {:?}",
        file.warnings
    );
}

fn check_scaling(file: &ParsedFile) {
    let points = samples::scaling_points();
    assert_eq!(file.layout, Layout::RowPerRun);
    assert_eq!(file.runs.len(), points.len());
    for (run, (n, d, loss)) in file.runs.iter().zip(points) {
        assert_eq!(
            (run.attrs["n_params"], run.attrs["tokens"]),
            (n, d),
            "{}",
            run.name
        );
        assert_eq!(run.series["loss"].values, vec![loss]);
    }
}

#[test]
fn every_sample_round_trips() {
    let all = samples::all().unwrap();
    assert!(all.len() >= 17);
    for sample in &all {
        let file = ingest(sample.name, &sample.bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", sample.name));
        check(sample, &file);
    }
}

#[test]
fn committed_fixtures_match_the_generator() {
    for sample in samples::all().unwrap() {
        let path = format!("{FIXTURES}/{}", sample.name);
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{path}: {e} (run `curvecast fixtures`)"));
        if !sample.name.ends_with(".parquet") && !sample.name.ends_with(".zip") {
            assert_eq!(
                bytes, sample.bytes,
                "{path} differs from the generator: run `curvecast fixtures`"
            );
        }
        let file = ingest(&path, &bytes, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
        check(&sample, &file);
    }
}

#[test]
fn detected_formats() {
    for (name, format) in [
        ("long.csv", "csv"),
        ("long.tsv", "tsv"),
        ("wandb_chart.csv", "wandb_chart_csv"),
        ("wandb_history.csv", "wandb_history_csv"),
        ("lightning_metrics.csv", "lightning_csv"),
        ("records.json", "json"),
        ("trainer_state.json", "hf_trainer_state"),
        ("history.jsonl", "ndjson"),
        ("long.parquet", "parquet"),
        ("events.out.tfevents.1700000000.sample", "tfevents"),
        ("run_folders.zip", "zip"),
        ("megatron.log", "megatron_log"),
        ("nemo.log", "nemo_log"),
        ("nanogpt.log", "nanogpt_log"),
        ("torchtitan.log", "torchtitan_log"),
    ] {
        let sample = samples::all()
            .unwrap()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap();
        // Detection is by content: a misleading name does not matter.
        let file = ingest("upload.bin", &sample.bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(file.format, format, "{name}");
    }
}

#[test]
fn tokens_are_logged_or_derived() {
    let all = samples::all().unwrap();
    let get = |name: &str| {
        ingest(
            name,
            &all.iter().find(|s| s.name == name).unwrap().bytes,
            &Limits::default(),
        )
        .unwrap()
    };
    // HF: num_input_tokens_seen as logged.
    let hf = get("trainer_state.json");
    let tokens = &hf.runs[0].series["tokens"];
    assert_eq!(tokens.values[0], 50.0 * 8.0 * 512.0);
    // Megatron: consumed samples x the seq_length of the argument dump.
    let megatron = get("megatron.log");
    assert_eq!(
        megatron.runs[0].series["tokens"].values[0],
        50.0 * 512.0 * 2048.0
    );
    assert_eq!(megatron.runs[0].attrs["seq_len"], 2048.0);
    // A CSV without tokens: step x tokens per step given by the user.
    let mapping = Mapping {
        tokens_per_step: Some(1000.0),
        ..Mapping::default()
    };
    let csv = ingest_with("long.csv", &all[0].bytes, &mapping, &Limits::default()).unwrap();
    assert_eq!(csv.runs[0].series["tokens"].values[2], 100.0 * 1000.0);
    assert_eq!(
        csv.runs[0].sources["tokens"],
        "derived: step x 1000 tokens per step"
    );
}

/// Reads text with a mapping and returns the file, or panics with the error.
fn read(text: &str, mapping: &Mapping) -> ParsedFile {
    ingest_with("t.csv", text.as_bytes(), mapping, &Limits::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn mappings_override_the_roles() {
    let text = "iteration,objective,eta,name\n1,3.0,0.1,a\n2,2.5,0.2,a\n1,4.0,0.1,b\n";
    let mapping = Mapping {
        step_col: Some("iteration".into()),
        loss_col: vec!["objective".into()],
        lr_col: Some("eta".into()),
        run_col: Some("name".into()),
        ..Mapping::default()
    };
    let file = read(text, &mapping);
    assert_eq!(file.runs.len(), 2);
    assert_eq!(file.runs[0].series["loss"].values, vec![3.0, 2.5]);
    assert_eq!(file.runs[0].series["lr"].values, vec![0.1, 0.2]);
    // Several loss columns: a wide table, one run per column.
    let wide = read(
        "step,a,b,acc\n1,3,4,0.5\n2,2,3,0.6\n",
        &Mapping {
            loss_col: vec!["a".into(), "b".into()],
            ..Mapping::default()
        },
    );
    assert_eq!(
        wide.runs
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    // Case and punctuation do not matter in a mapped name.
    let loose = read(
        "Step,Train Loss\n1,3\n",
        &Mapping {
            loss_col: vec!["train_loss".into()],
            ..Mapping::default()
        },
    );
    assert_eq!(loose.runs[0].series["loss"].values, vec![3.0]);
}

#[test]
fn warnings_for_what_was_handled() {
    for (text, expected) in [
        (
            "step,loss\n1,3\n2,nan\n3,2\n",
            "1 non-finite value(s) (NaN or inf) left out, at line 3",
        ),
        (
            "step,loss\n1,3\n2,2.9\n2,2.8\n",
            "1 repeated step(s): the last value logged for each was kept",
        ),
        (
            "step,loss\n1,3\n3,2.9\n2,2.8\n",
            "the steps go back 1 time(s), the first at line 4",
        ),
        (
            "step,loss\n1,3\n,2.9\n",
            "1 row(s) without a step value left out, the first at line 3",
        ),
    ] {
        let file = read(text, &Mapping::default());
        assert!(
            file.warnings.iter().any(|w| w.contains(expected)),
            "{text:?}: {:?}",
            file.warnings
        );
    }
    // A restarted run: the later value of a repeated step is kept, in step order.
    let file = read(
        "step,loss\n1,3\n2,2.9\n3,2.8\n2,2.7\n3,2.6\n4,2.5\n",
        &Mapping::default(),
    );
    assert_eq!(file.runs[0].series["loss"].steps, vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(file.runs[0].series["loss"].values, vec![3.0, 2.7, 2.6, 2.5]);
    // A spike is reported and kept.
    let mut text = String::from("step,loss\n");
    for i in 0..60 {
        text.push_str(&format!(
            "{i},{}\n",
            if i == 40 { 9.0 } else { 3.0 - i as f64 * 0.001 }
        ));
    }
    let file = read(&text, &Mapping::default());
    assert_eq!(file.runs[0].series["loss"].steps.len(), 60);
    assert!(
        file.warnings
            .iter()
            .any(|w| w.contains("1 spike(s)") && w.contains("step 40")),
        "{:?}",
        file.warnings
    );
}

/// An error's kind and place: (line, `at`, column).
fn check_err(
    name: &str,
    bytes: &[u8],
    mapping: &Mapping,
    limits: &Limits,
    kind: IngestErrorKind,
    place: (Option<usize>, Option<&str>, Option<&str>),
    text: &str,
) {
    let err = ingest_with(name, bytes, mapping, limits).expect_err(name);
    assert_eq!(
        (err.kind, err.line, err.at.as_deref(), err.column.as_deref()),
        (kind, place.0, place.1, place.2),
        "{err}"
    );
    assert!(
        err.to_string().contains(text),
        "{err} should contain {text:?}"
    );
}

#[test]
fn errors_say_what_and_where() {
    use IngestErrorKind::*;
    let none = Mapping::default();
    let limits = Limits::default();
    check_err(
        "a.csv",
        b"step,loss\n1,3\n2,x\n",
        &none,
        &limits,
        Malformed,
        (Some(3), None, Some("loss")),
        "'x' is not a number",
    );
    check_err(
        "a.csv",
        b"step,loss\n1,3\n",
        &Mapping {
            lr_col: Some("eta".into()),
            ..none.clone()
        },
        &limits,
        Missing,
        (None, None, Some("eta")),
        "given as the lr column is not in the file",
    );
    check_err(
        "a.json",
        b"{\"log_history\": [{\"step\": 1, \"loss\": \"high\"}]}",
        &none,
        &limits,
        Malformed,
        (None, Some("log_history[0]"), Some("loss")),
        "'high' is not a number",
    );
    check_err(
        "a.json",
        b"{\"log_history\": [\n{\"step\": 1,, }]}",
        &none,
        &limits,
        Malformed,
        (Some(2), None, None),
        "not valid JSON",
    );
    check_err(
        "a.jsonl",
        b"{\"step\": 1, \"loss\": 3}\n{\"step\": 2, \"loss\": }\n",
        &none,
        &limits,
        Malformed,
        (Some(2), None, None),
        "not valid JSON",
    );
    check_err(
        "a.log",
        b"iter 1: loss 3.0\niter 2: loss 2.0, lr oops\n",
        &Mapping {
            format: Some("parquet".into()),
            ..none.clone()
        },
        &limits,
        Malformed,
        (None, None, None),
        "Parquet",
    );
    check_err(
        "a.csv",
        &[0xff, 0xfe, 0x00, 0x01],
        &none,
        &limits,
        Malformed,
        (None, None, None),
        "binary",
    );
    check_err(
        "a.csv",
        b"step,loss\n1,3\n2,2\n3,1\n",
        &none,
        &Limits {
            max_rows: 2,
            ..Limits::default()
        },
        TooLarge,
        (None, None, None),
        "max_rows",
    );
    check_err(
        "a.csv",
        b"step,loss\n1,3\n",
        &none,
        &Limits {
            max_bytes: 5,
            ..Limits::default()
        },
        TooLarge,
        (None, None, None),
        "max_bytes",
    );
    check_err(
        "a.csv",
        b"step,loss\n1,3\n",
        &none,
        &Limits {
            max_line_bytes: 5,
            ..Limits::default()
        },
        TooLarge,
        (Some(1), None, None),
        "max_line_bytes",
    );
    check_err(
        "a.csv",
        b"run,step,loss\na,1,3\nb,1,3\n",
        &none,
        &Limits {
            max_runs: 1,
            ..Limits::default()
        },
        TooLarge,
        (None, None, None),
        "max_runs",
    );
    check_err(
        "a.csv",
        b"step,loss,a,b\n1,3,4,5\n",
        &none,
        &Limits {
            max_columns: 3,
            ..Limits::default()
        },
        TooLarge,
        (Some(1), None, None),
        "max_columns",
    );
    check_err(
        "a.json",
        b"[1, 2]",
        &none,
        &Limits {
            max_json_bytes: 3,
            ..Limits::default()
        },
        TooLarge,
        (None, None, None),
        "max_json_bytes",
    );
}

#[test]
fn event_files_of_one_folder_are_one_run() {
    use server::ingest::tfevents::EventWriter;
    let write = |tag: &str, steps: std::ops::Range<i64>, offset: f32| {
        let mut w = EventWriter::new(1.0);
        for s in steps {
            w.add_scalar(tag, s, 3.0 - s as f32 * 0.01 + offset, s as f64);
        }
        w.into_bytes()
    };
    // A restarted run writes a second file that repeats steps 50..60: the later values count.
    let files = vec![
        (
            "logs/a/events.out.tfevents.100.host".to_string(),
            write("loss", 0..60, 0.0),
        ),
        (
            "logs/a/events.out.tfevents.200.host".to_string(),
            write("loss", 50..100, 0.5),
        ),
        // Keras: train/ and validation/ sub-folders of one run.
        (
            "logs/b/train/events.out.tfevents.1.host".to_string(),
            write("epoch_loss", 0..10, 0.0),
        ),
        (
            "logs/b/validation/events.out.tfevents.1.host".to_string(),
            write("epoch_loss", 0..10, 0.1),
        ),
    ];
    let results = server::ingest::ingest_batch(&files, &Mapping::default(), &Limits::default());
    assert_eq!(results.len(), 2);
    let a = results[0].1.as_ref().unwrap();
    assert_eq!(a.runs[0].name, "a");
    let loss = &a.runs[0].series["loss"];
    assert_eq!(loss.steps.len(), 100);
    assert_eq!(loss.values[55], f64::from(3.0 - 55.0 * 0.01 + 0.5f32));
    assert!(
        a.warnings.iter().any(|w| w.contains("10 repeated step(s)")),
        "{:?}",
        a.warnings
    );
    let b = results[1].1.as_ref().unwrap();
    assert_eq!(b.runs[0].name, "b");
    assert_eq!(
        b.runs[0].series.keys().collect::<Vec<_>>(),
        ["eval_loss", "loss"]
    );
}

#[test]
fn the_cli_prints_a_json_report() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_curvecast"))
        .args([
            "ingest",
            "--json",
            "--seq-len",
            "512",
            &format!("{FIXTURES}/long.csv"),
            &format!("{FIXTURES}/nemo.log"),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: server::ingest::Report = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report.files.len(), 2);
    let csv = &report.files[0];
    assert_eq!(csv.format.as_deref(), Some("csv"));
    assert_eq!(csv.runs.len(), 2);
    assert_eq!(csv.runs[0].lr_source, shared::api::LrSource::Logged);
    assert!(
        csv.runs[0]
            .series
            .iter()
            .any(|s| s.name == "loss" && s.points == 21)
    );
    let nemo = &report.files[1];
    assert_eq!(nemo.format.as_deref(), Some("nemo_log"));
    // consumed_samples x --seq-len.
    let tokens = nemo.runs[0]
        .series
        .iter()
        .find(|s| s.name == "tokens")
        .unwrap();
    assert_eq!(
        tokens.source,
        "derived: consumed samples x sequence length 512"
    );

    // A file that cannot be read: the report says why and where, the exit code is non-zero.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "step,loss\n1,3\n2,x\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_curvecast"))
        .args(["ingest"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("line 3, column 'loss': 'x' is not a number"),
        "{text}"
    );

    // A damaged Parquet page aborts polars' reader; the CLI reads it in a child process
    // and reports it like any other bad file.
    let mut damaged = std::fs::read(format!("{FIXTURES}/long.parquet")).unwrap();
    damaged[56] = b'1';
    let bad = dir.path().join("bad.parquet");
    std::fs::write(&bad, damaged).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_curvecast"))
        .args(["ingest"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "a report, not an abort");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("the file is probably damaged"), "{text}");
}

#[test]
fn a_json_document_on_one_long_line_is_read() {
    let all = samples::all().unwrap();
    let state = all.iter().find(|s| s.name == "trainer_state.json").unwrap();
    let value: serde_json::Value = serde_json::from_slice(&state.bytes).unwrap();
    let one_line = serde_json::to_vec(&value).unwrap();
    // The line limit is for line-based formats; a JSON document is bounded by max_json_bytes.
    let limits = Limits {
        max_line_bytes: 100,
        ..Limits::default()
    };
    let file = ingest("trainer_state.json", &one_line, &limits).unwrap_or_else(|e| panic!("{e}"));
    check(state, &file);
}
