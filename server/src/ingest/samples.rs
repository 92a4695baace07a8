//! Sample files of every supported format, made by the project from synthetic curves
//! with known values: `curvecast fixtures` writes them to `fixtures/formats/`, and the
//! round-trip tests read them back and compare with [`truth`].
//!
//! Two runs, `cosine` and `constant`, log a power-law loss every 50 steps (0..=1000)
//! with their learning rate, and an eval loss every 200 steps. The scaling table holds
//! nine (N, D) points of a Chinchilla-form law with known parameters.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::formats::tfevents::EventWriter;

/// Steps of the sample curves.
pub fn steps() -> Vec<i64> {
    (0..=20).map(|i| i * 50).collect()
}

/// The sample runs' names.
pub const RUNS: [&str; 2] = ["cosine", "constant"];

/// The training loss of a sample run at a step.
pub fn loss(run: &str, step: i64) -> f64 {
    let base = 2.5 + 4.0 * (1.0 + step as f64 / 50.0).powf(-0.6);
    // The cosine run anneals: a little lower late in training.
    if run == "cosine" {
        base - 0.1 * (step as f64 / 1000.0).powi(2)
    } else {
        base
    }
}

/// The learning rate of a sample run: linear warmup over 100 steps to 3e-4, then
/// cosine to 3e-5 over 1000 steps, or constant.
pub fn lr(run: &str, step: i64) -> f64 {
    let peak = 3e-4;
    if step < 100 {
        return peak * step as f64 / 100.0;
    }
    if run == "cosine" {
        let t = (step - 100) as f64 / 900.0;
        3e-5 + 0.5 * (peak - 3e-5) * (1.0 + (std::f64::consts::PI * t).cos())
    } else {
        peak
    }
}

/// Eval losses at steps 200, 400, ... 1000.
pub fn eval_steps() -> Vec<i64> {
    (1..=5).map(|i| i * 200).collect()
}

pub fn eval_loss(run: &str, step: i64) -> f64 {
    loss(run, step) + 0.05
}

/// The scaling-table law: L = E + A / N^alpha + B / D^beta.
pub const CHINCHILLA: [f64; 5] = [1.69, 406.4, 410.7, 0.34, 0.28];

pub fn scaling_points() -> Vec<(f64, f64, f64)> {
    let [e, a, b, alpha, beta] = CHINCHILLA;
    let mut points = Vec::new();
    for n in [1e8, 3e8, 1e9] {
        for d in [2e9, 6e9, 2e10] {
            points.push((n, d, e + a / f64::powf(n, alpha) + b / f64::powf(d, beta)));
        }
    }
    points
}

/// A sample file.
pub struct Sample {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    /// Decimal places the format keeps (`None`: exact; TensorBoard keeps f32).
    pub precision: Precision,
    /// The series each run should have, besides `loss`.
    pub has_lr: bool,
    pub has_eval: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Precision {
    Exact,
    F32,
    /// Relative error from printing with few digits.
    Relative(f64),
}

/// Every sample file, built in memory.
pub fn all() -> anyhow::Result<Vec<Sample>> {
    let s = |name, bytes: String, precision, has_lr, has_eval| Sample {
        name,
        bytes: bytes.into_bytes(),
        precision,
        has_lr,
        has_eval,
    };
    let exact = Precision::Exact;
    let mut samples = vec![
        s("long.csv", long_table(','), exact, true, false),
        s("long.tsv", long_table('\t'), exact, true, false),
        s("wide.csv", wide_table(), exact, false, false),
        s("wandb_chart.csv", wandb_chart(), exact, false, false),
        s("wandb_history.csv", wandb_history(), exact, true, true),
        s("lightning_metrics.csv", lightning(), exact, true, true),
        s("records.json", records_json(), exact, true, false),
        s("trainer_state.json", trainer_state(), exact, true, true),
        s("history.jsonl", json_lines(), exact, true, false),
        s(
            "megatron.log",
            megatron(),
            Precision::Relative(1e-6),
            true,
            true,
        ),
        s("nemo.log", nemo(), Precision::Relative(1e-6), true, false),
        s(
            "nanogpt.log",
            nanogpt(),
            Precision::Relative(1e-6),
            false,
            true,
        ),
        s(
            "torchtitan.log",
            torchtitan(),
            Precision::Relative(1e-6),
            false,
            false,
        ),
        s("scaling_table.csv", scaling_table(), exact, false, false),
    ];
    samples.push(Sample {
        name: "long.parquet",
        bytes: parquet()?,
        precision: exact,
        has_lr: true,
        has_eval: false,
    });
    samples.push(Sample {
        name: "events.out.tfevents.1700000000.sample",
        bytes: events("cosine"),
        precision: Precision::F32,
        has_lr: true,
        has_eval: true,
    });
    samples.push(Sample {
        name: "run_folders.zip",
        bytes: run_folders_zip()?,
        precision: Precision::F32,
        has_lr: true,
        has_eval: true,
    });
    Ok(samples)
}

/// Writes every sample file into `dir` and returns their paths.
pub fn write_all(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut paths = Vec::new();
    for sample in all()? {
        let path = dir.join(sample.name);
        std::fs::write(&path, &sample.bytes)?;
        paths.push(path);
    }
    Ok(paths)
}

/// Which sample runs a file holds (the single-run formats hold `cosine` only).
pub fn runs_of(sample: &str) -> Vec<&'static str> {
    match sample {
        "long.csv" | "long.tsv" | "wide.csv" | "wandb_chart.csv" | "records.json"
        | "history.jsonl" | "long.parquet" | "run_folders.zip" => RUNS.to_vec(),
        "scaling_table.csv" => Vec::new(),
        _ => vec!["cosine"],
    }
}

fn long_table(sep: char) -> String {
    let mut out = format!("run{sep}step{sep}loss{sep}lr\n");
    for run in RUNS {
        for step in steps() {
            out.push_str(&format!(
                "{run}{sep}{step}{sep}{}{sep}{}\n",
                loss(run, step),
                lr(run, step)
            ));
        }
    }
    out
}

fn wide_table() -> String {
    let mut out = String::from("step,cosine/loss,constant/loss\n");
    for step in steps() {
        out.push_str(&format!(
            "{step},{},{}\n",
            loss("cosine", step),
            loss("constant", step)
        ));
    }
    out
}

/// W&B's chart export: a value and its min/max band per run; a run may miss a row.
fn wandb_chart() -> String {
    let key = "train/loss";
    let mut out = String::from("\"Step\"");
    for run in RUNS {
        out.push_str(&format!(
            ",\"{run} - {key}\",\"{run} - {key}__MIN\",\"{run} - {key}__MAX\""
        ));
    }
    out.push('\n');
    for step in steps().into_iter().chain([1025]) {
        out.push_str(&step.to_string());
        for run in RUNS {
            if step > 1000 {
                out.push_str(",\"\",\"\",\"\"");
            } else {
                let v = loss(run, step);
                out.push_str(&format!(",{v},{v},{v}"));
            }
        }
        out.push('\n');
    }
    out
}

/// W&B's history export of one run: `_step` and raw keys, eval on its own rows.
fn wandb_history() -> String {
    let mut out = String::from("_step,_runtime,_timestamp,train/loss,lr,eval/loss\n");
    for step in steps() {
        let t = step as f64 * 0.5;
        out.push_str(&format!(
            "{step},{t},{},{},{},\n",
            1.7e9 + t,
            loss("cosine", step),
            lr("cosine", step)
        ));
        if eval_steps().contains(&step) {
            out.push_str(&format!(
                "{step},{t},{},,,{}\n",
                1.7e9 + t,
                eval_loss("cosine", step)
            ));
        }
    }
    out
}

/// Lightning's `metrics.csv`: sorted header, sparse rows (LR, step loss, epoch values).
fn lightning() -> String {
    let mut out = String::from("epoch,lr-AdamW,step,train_loss_epoch,train_loss_step,val_loss\n");
    for step in steps() {
        let epoch = step / 200;
        out.push_str(&format!("{epoch},{},{step},,,\n", lr("cosine", step)));
        out.push_str(&format!("{epoch},,{step},,{},\n", loss("cosine", step)));
        if eval_steps().contains(&step) {
            out.push_str(&format!(
                "{epoch},,{step},{},,{}\n",
                loss("cosine", step) + 0.2,
                eval_loss("cosine", step)
            ));
        }
    }
    out
}

fn records_json() -> String {
    let records: Vec<serde_json::Value> = RUNS
        .iter()
        .flat_map(|run| {
            steps()
                .into_iter()
                .map(move |step| serde_json::json!({"run": run, "step": step, "loss": loss(run, step), "lr": lr(run, step)}))
        })
        .collect();
    serde_json::to_string_pretty(&records).unwrap_or_default()
}

fn trainer_state() -> String {
    let mut history = Vec::new();
    for step in steps().into_iter().filter(|&s| s > 0) {
        history.push(serde_json::json!({
            "epoch": step as f64 / 1000.0, "grad_norm": 1.5, "learning_rate": lr("cosine", step),
            "loss": loss("cosine", step), "num_input_tokens_seen": step * 8 * 512, "step": step,
        }));
        if eval_steps().contains(&step) {
            history.push(serde_json::json!({
                "epoch": step as f64 / 1000.0, "eval_loss": eval_loss("cosine", step), "eval_runtime": 1.25, "step": step,
            }));
        }
    }
    history
        .push(serde_json::json!({"epoch": 1.0, "step": 1000, "total_flos": 1.0e15, "train_loss": 3.1, "train_runtime": 100.0}));
    let state = serde_json::json!({
        "best_metric": null, "epoch": 1.0, "global_step": 1000, "log_history": history, "max_steps": 1000,
        "train_batch_size": 8, "trial_name": null,
    });
    serde_json::to_string_pretty(&state).unwrap_or_default()
}

fn json_lines() -> String {
    let mut out = String::new();
    for run in RUNS {
        for step in steps() {
            let record = serde_json::json!({"run_name": run, "step": step, "loss": loss(run, step), "lr": lr(run, step)});
            out.push_str(&record.to_string());
            out.push('\n');
        }
    }
    out
}

/// Megatron's `1.500000E-04` style.
fn sci(v: f64) -> String {
    let text = format!("{v:.6E}");
    match text.split_once('E') {
        Some((mantissa, exp)) => {
            let exp: i32 = exp.parse().unwrap_or(0);
            format!(
                "{mantissa}E{}{:02}",
                if exp < 0 { '-' } else { '+' },
                exp.abs()
            )
        }
        None => text,
    }
}

fn megatron() -> String {
    let mut out =
        String::from("using world size: 8, data-parallel size: 8, tensor-model-parallel size: 1\n");
    out.push_str("------------------------ arguments ------------------------\n");
    out.push_str("  seq_length ...................................... 2048\n");
    out.push_str("  global_batch_size ............................... 512\n");
    out.push_str("-------------------- end of arguments ---------------------\n");
    for step in steps().into_iter().filter(|&s| s > 0) {
        out.push_str(&format!(
            " iteration {step:>8}/    1000 | consumed samples: {:>12} | elapsed time per iteration (ms): 1234.5 | \
             learning rate: {} | global batch size: {:>5} | lm loss: {} | loss scale: 1.0 | grad norm: 1.234 | \
             number of skipped iterations:   0 | number of nan iterations:   0 |\n",
            step * 512,
            sci(lr("cosine", step)),
            512,
            sci(loss("cosine", step))
        ));
        if eval_steps().contains(&step) {
            out.push_str("-----------------------------------------------------------------------------------------------\n");
            out.push_str(&format!(
                " validation loss at iteration {step} | lm loss value: {} | lm loss PPL: {} | \n",
                sci(eval_loss("cosine", step)),
                sci(eval_loss("cosine", step).exp())
            ));
        }
    }
    out
}

fn nemo() -> String {
    let mut out = String::from(
        "[NeMo I 2024-01-01 12:00:00 exp_manager:394] Experiments will be logged at /results\n",
    );
    for step in steps().into_iter().filter(|&s| s > 0) {
        out.push_str(&format!(
            "Training epoch 0, iteration {}/999 | lr: {:.6e} | global_batch_size: 8 | global_step: {step} | \
             reduced_train_loss: {:.7} | train_step_timing in s: 0.25 | consumed_samples: {}\n",
            step - 1,
            lr("cosine", step),
            loss("cosine", step),
            step * 8
        ));
    }
    out
}

fn nanogpt() -> String {
    let mut out = String::from("tokens per iteration will be: 491,520\nfound vocab_size = 50304\n");
    for step in steps() {
        if step % 200 == 0 && step > 0 {
            out.push_str(&format!(
                "step {step}: train loss {:.6}, val loss {:.6}\n",
                loss("cosine", step) + 0.01,
                eval_loss("cosine", step)
            ));
        }
        out.push_str(&format!(
            "iter {step}: loss {:.6}, time 45.12ms, mfu 12.34%\n",
            loss("cosine", step)
        ));
    }
    out
}

fn torchtitan() -> String {
    let mut out = String::from(
        "[titan] 2025-01-01 12:00:00,000 - root - INFO - Starting job: Llama 3 debug training\n",
    );
    for step in steps().into_iter().filter(|&s| s > 0) {
        out.push_str(&format!(
            "[titan] 2025-01-01 12:00:{:02},000 - root - INFO - \u{1b}[31mstep: {step:2}  \u{1b}[32mloss: {:7.6}  \
             \u{1b}[33mmemory: 30.12GiB(31.70%)  \u{1b}[34mtps: 7,123  \u{1b}[35mmfu: 12.34%\u{1b}[39m\n",
            step % 60,
            loss("cosine", step)
        ));
    }
    out
}

fn scaling_table() -> String {
    let mut out = String::from("N,D,loss\n");
    for (n, d, l) in scaling_points() {
        out.push_str(&format!("{n},{d},{l}\n"));
    }
    out
}

fn parquet() -> anyhow::Result<Vec<u8>> {
    let (mut runs, mut all_steps, mut losses, mut lrs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in RUNS {
        for step in steps() {
            runs.push(run);
            all_steps.push(step);
            losses.push(loss(run, step));
            lrs.push(lr(run, step));
        }
    }
    let height = runs.len();
    let mut df = DataFrame::new(
        height,
        vec![
            Column::new("run".into(), runs),
            Column::new("step".into(), all_steps),
            Column::new("loss".into(), losses),
            Column::new("lr".into(), lrs),
        ],
    )?;
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(&mut df)?;
    Ok(bytes)
}

/// A run's event file: PyTorch-style scalars, and TF2-style tensors for the eval loss.
pub fn events(run: &str) -> Vec<u8> {
    let mut writer = EventWriter::new(1.7e9);
    for step in steps() {
        let t = 1.7e9 + step as f64;
        writer.add_scalar("train/loss", step, loss(run, step) as f32, t);
        writer.add_scalar("train/lr", step, lr(run, step) as f32, t);
        if eval_steps().contains(&step) {
            writer.add_tensor_scalar("eval/loss", step, eval_loss(run, step) as f32, t);
        }
    }
    writer.into_bytes()
}

/// Two run folders, as `tensorboard --logdir` would see them, zipped.
fn run_folders_zip() -> anyhow::Result<Vec<u8>> {
    let mut zip = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = ::zip::write::SimpleFileOptions::default()
        .compression_method(::zip::CompressionMethod::Deflated);
    for run in RUNS {
        zip.start_file(
            format!("logs/{run}/events.out.tfevents.1700000000.sample"),
            options,
        )?;
        zip.write_all(&events(run))?;
    }
    zip.start_file("logs/README.txt", options)?;
    zip.write_all(b"Two runs written by curvecast's sample writer.\n")?;
    Ok(zip.finish()?.into_inner())
}
