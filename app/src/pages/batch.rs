//! The Batch size page: a batch-size sweep (an uploaded steps-to-target table, or the
//! runs ticked on the Runs page, each with a batch size) analysed by the server
//! (`/api/batch/analyze`): per target loss the McCandlish hyperbola in (examples, steps),
//! `B_crit` and Zhang's critical batch with intervals, `B_crit(L)` against loss and the
//! critical batch against model size, and a chosen-batch box (steps, examples and tokens
//! to each target, computed here from the fitted values). Below, the hyper-parameter laws
//! of a learning-rate x batch sweep (`/api/hyper/fit`): optimal LR and batch vs compute.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::batch::{
    AnalyzeRequest, AnalyzeResponse, BatchOptions, Estimate, HyperOptions, HyperRequest,
    HyperResponse, PowerFit, StepsRow,
};
use shared::display::Table;
use shared::laws::batch::steps_at_batch;
use wasm_bindgen::JsCast;
use web_sys::{File, HtmlInputElement};

use crate::api;
use crate::app::Selection;
use crate::components::chart::{Chart, Figure, Style, Trace, colour};

/// Where the sweep comes from.
#[derive(Clone, Debug, PartialEq)]
enum Sweep {
    Table { file: String, rows: Vec<StepsRow> },
    Runs(Vec<i64>),
}

fn logspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (a, b) = (lo.log10(), hi.log10());
    (0..n)
        .map(|i| 10f64.powf(a + (b - a) * i as f64 / (n - 1) as f64))
        .collect()
}

/// Four significant digits for reading; the exact value stays in `data-value`.
fn num(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() || a == 0.0 {
        v.to_string()
    } else if (1e-3..1e5).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.3e}")
    }
}

/// A number cell: readable text, the exact value for tests and copy.
fn cell(id: String, v: f64) -> impl IntoView {
    view! { <td class="num" id=id data-value=v.to_string()>{num(v)}</td> }
}

fn interval(e: &Estimate) -> String {
    e.ci.map(|[lo, hi]| format!("[{}, {}]", num(lo), num(hi)))
        .unwrap_or_default()
}

/// A positive number typed by the user, or `None` when empty.
fn positive(text: &str, what: &str) -> Result<Option<f64>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
        _ => Err(format!("{what}: '{t}' is not a positive number")),
    }
}

fn picked(ev: &leptos::ev::Event) -> Option<File> {
    let input = ev.target()?.dyn_into::<HtmlInputElement>().ok()?;
    let file = input.files()?.get(0);
    input.set_value("");
    file
}

fn power_text(name: &str, x: &str, fit: &PowerFit) -> String {
    format!(
        "{name} = {} {x}^{} (exponent {}; {} points)",
        num(fit.k.value),
        num(fit.exponent.value),
        interval(&fit.exponent),
        fit.n_points
    )
}

#[component]
pub fn BatchPage() -> impl IntoView {
    let Selection(selected) = expect_context::<Selection>();
    let sweep = RwSignal::new(None::<Sweep>);
    let reference = RwSignal::new(String::new());
    let analysis = RwSignal::new(None::<AnalyzeResponse>);
    let input_error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let chosen = RwSignal::new("1024".to_string());
    let unit_tokens = RwSignal::new("1".to_string());

    // Analyse whenever the sweep or the reference batch changes.
    Effect::new(move |_| {
        let Some(sweep) = sweep.get() else { return };
        let reference_batch = match positive(&reference.get(), "reference batch B0") {
            Ok(v) => v,
            Err(e) => {
                input_error.set(Some(e));
                return;
            }
        };
        let mut request = AnalyzeRequest {
            options: BatchOptions {
                reference_batch,
                ..BatchOptions::default()
            },
            ..AnalyzeRequest::default()
        };
        match sweep {
            Sweep::Table { rows, .. } => request.table = rows,
            Sweep::Runs(ids) => request.run_ids = ids,
        }
        busy.set(true);
        input_error.set(None);
        spawn_local(async move {
            match api::analyze_batch(&request).await {
                Ok(a) => analysis.set(Some(a)),
                Err(e) => {
                    analysis.set(None);
                    input_error.set(Some(e));
                }
            }
            busy.set(false);
        });
    });

    let on_table = move |ev: leptos::ev::Event| {
        let Some(file) = picked(&ev) else { return };
        busy.set(true);
        input_error.set(None);
        spawn_local(async move {
            match api::batch_table(&file).await {
                Ok(rows) => sweep.set(Some(Sweep::Table {
                    file: file.name(),
                    rows,
                })),
                Err(e) => {
                    input_error.set(Some(format!("{}: {e}", file.name())));
                    busy.set(false);
                }
            }
        });
    };
    let use_ticked = move |_| {
        let ids = selected.get_untracked();
        if ids.is_empty() {
            input_error.set(Some(
                "no runs ticked: tick the runs of the sweep on the Runs page (each needs a batch_size)".into(),
            ));
        } else {
            sweep.set(Some(Sweep::Runs(ids)));
        }
    };

    // (model, target) pairs in the answer's order; colours follow this index.
    let hyperbolas = Signal::derive(move || {
        let Some(a) = analysis.get() else {
            return Figure::default();
        };
        let mut traces = Vec::new();
        let mut rows = Vec::new();
        let mut knees = (Vec::new(), Vec::new());
        let mut i = 0;
        for m in &a.models {
            for t in &m.targets {
                let label = match t.target_loss {
                    Some(l) => format!("{} L={}", m.model, num(l)),
                    None => m.model.clone(),
                };
                let c = colour(i);
                i += 1;
                let e: Vec<f64> = t.points.iter().map(|p| p.batch * p.steps).collect();
                let s: Vec<f64> = t.points.iter().map(|p| p.steps).collect();
                for p in &t.points {
                    rows.push((
                        format!("{label} observed"),
                        vec![p.batch, p.steps, p.batch * p.steps],
                    ));
                }
                traces.push(
                    Trace::line(label.clone(), e, s, c.clone())
                        .with_style(Style::Markers { size: 7.0 }),
                );
                let (lo, hi) = t.points.iter().fold((f64::MAX, 0f64), |acc, p| {
                    (acc.0.min(p.batch), acc.1.max(p.batch))
                });
                let bs = logspace(lo / 4.0, hi * 4.0, 60);
                let (s_min, e_min) = (t.s_min.value, t.e_min.value);
                let fs: Vec<f64> = bs.iter().map(|b| s_min + e_min / b).collect();
                let fe: Vec<f64> = bs.iter().zip(&fs).map(|(b, s)| b * s).collect();
                for k in 0..bs.len() {
                    rows.push((format!("{label} fit"), vec![bs[k], fs[k], fe[k]]));
                }
                traces.push(
                    Trace::line(format!("{label} fit"), fe, fs, c)
                        .with_style(Style::Line {
                            width: 1.5,
                            faint: false,
                            dash: true,
                        })
                        .hidden_in_legend(),
                );
                knees.0.push(2.0 * e_min);
                knees.1.push(2.0 * s_min);
            }
        }
        traces.push(
            Trace::line(
                "B = B_crit (2 E_min, 2 S_min)",
                knees.0,
                knees.1,
                "#000".into(),
            )
            .with_style(Style::Markers { size: 9.0 }),
        );
        Figure {
            traces,
            x_title: "examples E = B S".into(),
            y_title: "steps S".into(),
            log_x: true,
            log_y: true,
            revision: "hyperbolas".into(),
            table: Table {
                columns: ["curve", "batch", "steps", "examples"]
                    .map(String::from)
                    .to_vec(),
                rows,
            }
            .into(),
            ..Default::default()
        }
    });

    let b_crit_chart = Signal::derive(move || {
        let Some(a) = analysis.get() else {
            return Figure::default();
        };
        let mut rows = Vec::new();
        let (mut l, mut b, mut blo, mut bhi) = (vec![], vec![], vec![], vec![]);
        let (mut z, mut zlo, mut zhi) = (vec![], vec![], vec![]);
        for m in &a.models {
            for t in &m.targets {
                let Some(loss) = t.target_loss else { continue };
                let ci = |e: &Estimate| e.ci.unwrap_or([f64::NAN; 2]);
                l.push(loss);
                b.push(t.b_crit.value);
                blo.push(ci(&t.b_crit)[0]);
                bhi.push(ci(&t.b_crit)[1]);
                z.push(t.zhang_cbs.cbs.value);
                zlo.push(ci(&t.zhang_cbs.cbs)[0]);
                zhi.push(ci(&t.zhang_cbs.cbs)[1]);
                rows.push((
                    m.model.clone(),
                    vec![
                        loss,
                        b[b.len() - 1],
                        blo[blo.len() - 1],
                        bhi[bhi.len() - 1],
                        z[z.len() - 1],
                        zlo[zlo.len() - 1],
                        zhi[zhi.len() - 1],
                    ],
                ));
            }
        }
        let mut traces = vec![
            Trace::line("McCandlish B_crit", l.clone(), b, "#1f77b4".into()).with_style(
                Style::Interval {
                    size: 8.0,
                    lower: blo,
                    upper: bhi,
                },
            ),
            Trace::line("Zhang CBS", l.clone(), z, "#ff7f0e".into()).with_style(Style::Interval {
                size: 8.0,
                lower: zlo,
                upper: zhi,
            }),
        ];
        if let Some(law) = &a.b_crit_law
            && !l.is_empty()
        {
            let (lo, hi) = l
                .iter()
                .fold((f64::MAX, 0f64), |acc, &v| (acc.0.min(v), acc.1.max(v)));
            let ls = logspace(lo * 0.97, hi * 1.03, 40);
            let at: Vec<(f64, Option<[f64; 2]>)> = ls.iter().map(|&x| law.at(x)).collect();
            let fb: Vec<f64> = at.iter().map(|a| a.0).collect();
            let band = |k: usize| -> Vec<f64> {
                at.iter().map(|a| a.1.map_or(f64::NAN, |b| b[k])).collect()
            };
            let (band_lo, band_hi) = (band(0), band(1));
            for (i, x) in ls.iter().enumerate() {
                rows.push((
                    "B_crit(L) fit".into(),
                    vec![
                        *x,
                        fb[i],
                        band_lo[i],
                        band_hi[i],
                        f64::NAN,
                        f64::NAN,
                        f64::NAN,
                    ],
                ));
            }
            if band_hi.iter().all(|v| v.is_finite()) {
                traces.push(
                    Trace::line(
                        format!("B_crit(L) {:.0}% band", 100.0 * a.ci_level),
                        ls.clone(),
                        band_hi,
                        "#2ca02c".into(),
                    )
                    .with_style(Style::Band { lower: band_lo })
                    .hidden_in_legend(),
                );
            }
            traces.push(Trace::line(
                "B_crit(L) = B*/L^(1/alpha_B)",
                ls,
                fb,
                "#2ca02c".into(),
            ));
        }
        Figure {
            traces,
            x_title: "target loss L".into(),
            y_title: "critical batch".into(),
            log_x: true,
            log_y: true,
            revision: "bcrit".into(),
            table: Table {
                columns: [
                    "model",
                    "loss",
                    "b_crit",
                    "b_crit_lower",
                    "b_crit_upper",
                    "zhang_cbs",
                    "cbs_lower",
                    "cbs_upper",
                ]
                .map(String::from)
                .to_vec(),
                rows,
            }
            .into(),
            ..Default::default()
        }
    });

    let by_size = Signal::derive(move || {
        let Some(a) = analysis.get() else {
            return Figure::default();
        };
        let mut rows = Vec::new();
        let mut traces = Vec::new();
        let models: Vec<(f64, f64, f64)> = a
            .models
            .iter()
            .filter_map(|m| Some((m.n_params?, m.targets.first()?)))
            .map(|(n, t)| (n, t.zhang_cbs.cbs.value, t.b_crit.value))
            .collect();
        if models.is_empty() {
            return Figure::default();
        }
        let ns: Vec<f64> = models.iter().map(|m| m.0).collect();
        for m in &models {
            rows.push(("model".to_string(), vec![m.0, m.1, m.2]));
        }
        traces.push(
            Trace::line(
                "Zhang CBS",
                ns.clone(),
                models.iter().map(|m| m.1).collect::<Vec<_>>(),
                "#ff7f0e".into(),
            )
            .with_style(Style::Markers { size: 8.0 }),
        );
        traces.push(
            Trace::line(
                "McCandlish B_crit",
                ns.clone(),
                models.iter().map(|m| m.2).collect::<Vec<_>>(),
                "#1f77b4".into(),
            )
            .with_style(Style::Markers { size: 8.0 }),
        );
        let (lo, hi) = ns
            .iter()
            .fold((f64::MAX, 0f64), |acc, &v| (acc.0.min(v), acc.1.max(v)));
        let grid = logspace(lo / 1.5, hi * 1.5, 30);
        for (name, fit, c) in [
            ("CBS fit", &a.cbs_vs_n, "#ff7f0e"),
            ("B_crit fit", &a.b_crit_vs_n, "#1f77b4"),
        ] {
            if let Some(f) = fit {
                let y: Vec<f64> = grid
                    .iter()
                    .map(|n| f.k.value * (n / 1e6).powf(f.exponent.value))
                    .collect();
                for (x, v) in grid.iter().zip(&y) {
                    rows.push((
                        name.to_string(),
                        vec![
                            *x,
                            if name == "CBS fit" { *v } else { f64::NAN },
                            if name == "CBS fit" { f64::NAN } else { *v },
                        ],
                    ));
                }
                traces.push(
                    Trace::line(name, grid.clone(), y, c.into()).with_style(Style::Line {
                        width: 1.5,
                        faint: false,
                        dash: true,
                    }),
                );
            }
        }
        Figure {
            traces,
            x_title: "parameters N".into(),
            y_title: "critical batch".into(),
            log_x: true,
            log_y: true,
            revision: "by-size".into(),
            table: Table {
                columns: ["kind", "N", "zhang_cbs", "b_crit"]
                    .map(String::from)
                    .to_vec(),
                rows,
            }
            .into(),
            ..Default::default()
        }
    });

    // Steps, examples and tokens to each target at the chosen batch.
    let chosen_plan = move || -> Result<Vec<(String, f64, f64, f64, f64)>, String> {
        let b = positive(&chosen.get(), "batch")?.ok_or("type a batch size")?;
        let unit = positive(&unit_tokens.get(), "tokens per batch unit")?.unwrap_or(1.0);
        let Some(a) = analysis.get() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for m in &a.models {
            for t in &m.targets {
                let label = match t.target_loss {
                    Some(l) => format!("{} L={}", m.model, num(l)),
                    None => m.model.clone(),
                };
                let steps = steps_at_batch(t.s_min.value, t.b_crit.value, b);
                out.push((
                    label,
                    t.target_loss.unwrap_or(f64::NAN),
                    steps,
                    steps * b,
                    steps * b * unit,
                ));
            }
        }
        Ok(out)
    };

    view! {
        <div class="page batch-page">
            <section class="panel">
                <h2>"Batch size: critical batch from a sweep"</h2>
                <p class="meta">"A reduced sweep table (model, target loss, batch, steps to the target; e.g. Zhang et al.'s steps_to_goal), or loss curves of runs at several batch sizes."</p>
                <div class="toolbar" id="batch-input">
                    <label class="button">"upload a sweep table"
                        <input id="batch-file" type="file" accept=".csv,.tsv,.json,.jsonl,.parquet" on:change=on_table/>
                    </label>
                    <button id="batch-ticked" on:click=use_ticked>"analyse the ticked runs"</button>
                    <label>"reference batch B0 (Zhang) "
                        <input id="batch-reference" size="8" placeholder="smallest" prop:value=reference
                            on:change=move |ev| reference.set(event_target_value(&ev))/>
                    </label>
                    <Show when=move || busy.get()>
                        <span class="progress"><span class="spinner"></span>"analysing..."</span>
                    </Show>
                </div>
                <Show when=move || input_error.get().is_some()>
                    <p class="error" role="alert" id="batch-error">{move || input_error.get().unwrap_or_default()}</p>
                </Show>
                <p class="meta" id="batch-source">{move || match sweep.get() {
                    Some(Sweep::Table { file, rows }) => format!("{file}: {} rows", rows.len()),
                    Some(Sweep::Runs(ids)) => format!("{} ticked runs", ids.len()),
                    None => "No sweep yet.".into(),
                }}</p>
            </section>
            <Show when=move || analysis.with(Option::is_some)>
                <section class="panel">
                    <h3>"Per target: McCandlish S(B) = S_min + E_min / B, B_crit = E_min / S_min, Zhang's CBS"</h3>
                    <div class="table-scroll">
                    <table class="data-table" id="batch-targets">
                        <thead><tr>
                            <th>"model"</th><th>"target loss"</th><th class="num">"S_min"</th><th>"CI"</th>
                            <th class="num">"E_min"</th><th>"CI"</th><th class="num">"B_crit"</th><th>"CI"</th>
                            <th class="num">"Zhang CBS"</th><th>"CI"</th><th class="num">"rms ln S"</th>
                        </tr></thead>
                        <tbody>
                            {move || analysis.get().map(|a| {
                                let mut k = 0;
                                a.models.iter().flat_map(|m| m.targets.iter().map(|t| (m.model.clone(), t.clone())).collect::<Vec<_>>()).map(|(model, t)| {
                                    let i = k; k += 1;
                                    view! { <tr>
                                        <td>{model}</td>
                                        <td>{t.target_loss.map(num).unwrap_or_default()}</td>
                                        {cell(format!("s-min-{i}"), t.s_min.value)}<td>{interval(&t.s_min)}</td>
                                        {cell(format!("e-min-{i}"), t.e_min.value)}<td>{interval(&t.e_min)}</td>
                                        {cell(format!("b-crit-{i}"), t.b_crit.value)}<td>{interval(&t.b_crit)}</td>
                                        {cell(format!("cbs-{i}"), t.zhang_cbs.cbs.value)}<td>{interval(&t.zhang_cbs.cbs)}</td>
                                        {cell(format!("rms-{i}"), t.rms_log_error)}
                                    </tr> }
                                }).collect_view()
                            })}
                        </tbody>
                    </table>
                    </div>
                    <ul class="notes" id="batch-laws">
                        {move || analysis.get().map(|a| {
                            let mut lines = Vec::new();
                            if let Some(l) = &a.b_crit_law {
                                lines.push(format!("B_crit(L) = B* / L^(1/alpha_B), all models: B* = {} {}, alpha_B = {} {} ({} targets)",
                                    num(l.b_star.value), interval(&l.b_star), num(l.alpha_b.value), interval(&l.alpha_b), l.n_points));
                            }
                            if let Some(f) = &a.cbs_vs_n { lines.push(power_text("Zhang CBS", "(N/1e6)", f)); }
                            if let Some(f) = &a.b_crit_vs_n { lines.push(power_text("B_crit", "(N/1e6)", f)); }
                            lines.push(format!("intervals: {:.0}%", a.ci_level * 100.0));
                            lines.extend(a.warnings.iter().map(|w| format!("warning: {w}")));
                            lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()
                        })}
                    </ul>
                </section>
                <section class="panel two-charts">
                    <div>
                        <h3>"Steps vs examples per target, fitted hyperbolas (black: B = B_crit)"</h3>
                        <Chart figure=hyperbolas id="batch-hyperbolas"/>
                    </div>
                    <div>
                        <h3>"Critical batch vs target loss (95% intervals), B_crit(L) fit"</h3>
                        <Chart figure=b_crit_chart id="batch-bcrit"/>
                    </div>
                </section>
                <Show when=move || analysis.with(|a| a.as_ref().is_some_and(|a| a.cbs_vs_n.is_some() || a.b_crit_vs_n.is_some()))>
                    <section class="panel">
                        <h3>"Critical batch vs model size (first target of each model)"</h3>
                        <Chart figure=by_size id="batch-by-size"/>
                    </section>
                </Show>
                <section class="panel" id="chosen-box">
                    <h3>"A chosen batch: steps and tokens to each target"</h3>
                    <div class="toolbar">
                        <label>"batch B (the sweep's unit) " <input id="chosen-batch" size="10" prop:value=chosen on:input=move |ev| chosen.set(event_target_value(&ev))/></label>
                        <label>"tokens per batch unit " <input id="chosen-unit" size="8" prop:value=unit_tokens on:input=move |ev| unit_tokens.set(event_target_value(&ev))/></label>
                    </div>
                    {move || match chosen_plan() {
                        Ok(rows) => view! {
                            <table class="data-table" id="chosen-table">
                                <thead><tr><th>"target"</th><th class="num">"steps S_min (1 + B_crit/B)"</th><th class="num">"examples B S"</th><th class="num">"tokens"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().enumerate().map(|(i, (label, _, s, e, t))| view! {
                                        <tr><td>{label}</td>{cell(format!("chosen-steps-{i}"), s)}{cell(format!("chosen-examples-{i}"), e)}{cell(format!("chosen-tokens-{i}"), t)}</tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert" id="chosen-error">{e}</p> }.into_any(),
                    }}
                </section>
            </Show>
            <HyperSection/>
        </div>
    }
}

/// Optimal learning rate and batch from a learning-rate x batch sweep.
#[component]
fn HyperSection() -> impl IntoView {
    let rows = RwSignal::new(None::<(String, Vec<shared::api::batch::HyperRow>)>);
    let unit = RwSignal::new("1".to_string());
    let fit = RwSignal::new(None::<HyperResponse>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    Effect::new(move |_| {
        let Some((_, rows)) = rows.get() else { return };
        let tokens = match positive(&unit.get(), "tokens per batch unit") {
            Ok(v) => v.unwrap_or(1.0),
            Err(e) => {
                error.set(Some(e));
                return;
            }
        };
        let request = HyperRequest {
            rows,
            options: HyperOptions {
                tokens_per_batch_unit: tokens,
                ..HyperOptions::default()
            },
            ..HyperRequest::default()
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::fit_hyper(&request).await {
                Ok(f) => fit.set(Some(f)),
                Err(e) => {
                    fit.set(None);
                    error.set(Some(e));
                }
            }
            busy.set(false);
        });
    });
    let on_file = move |ev: leptos::ev::Event| {
        let Some(file) = picked(&ev) else { return };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::hyper_table(&file).await {
                Ok(r) => rows.set(Some((file.name(), r))),
                Err(e) => {
                    error.set(Some(format!("{}: {e}", file.name())));
                    busy.set(false);
                }
            }
        });
    };

    let chart = move |lr: bool| {
        Signal::derive(move || {
            let Some(f) = fit.get() else {
                return Figure::default();
            };
            let c: Vec<f64> = f.cells.iter().map(|c| c.compute).collect();
            let y: Vec<f64> = f
                .cells
                .iter()
                .map(|c| if lr { c.lr_opt } else { c.batch_opt_tokens })
                .collect();
            let mut rows: Vec<(String, Vec<f64>)> = c
                .iter()
                .zip(&y)
                .map(|(c, y)| ("cell optimum".to_string(), vec![*c, *y]))
                .collect();
            let mut traces = vec![
                Trace::line("cell optimum", c.clone(), y, "#1f77b4".into())
                    .with_style(Style::Markers { size: 8.0 }),
            ];
            let law = if lr { &f.lr_vs_c } else { &f.batch_vs_c };
            if let Some(law) = law
                && !c.is_empty()
            {
                let (lo, hi) = c
                    .iter()
                    .fold((f64::MAX, 0f64), |a, &v| (a.0.min(v), a.1.max(v)));
                let grid = logspace(lo / 2.0, hi * 2.0, 30);
                let fy: Vec<f64> = grid
                    .iter()
                    .map(|x| law.k.value * x.powf(law.exponent.value))
                    .collect();
                rows.extend(
                    grid.iter()
                        .zip(&fy)
                        .map(|(x, y)| ("fit".to_string(), vec![*x, *y])),
                );
                traces.push(Trace::line(law.form.clone(), grid, fy, "#d62728".into()));
            }
            let what = if lr { "lr_opt" } else { "batch_opt_tokens" };
            Figure {
                traces,
                x_title: "compute C (FLOPs)".into(),
                y_title: if lr {
                    "optimal learning rate"
                } else {
                    "optimal batch (tokens)"
                }
                .into(),
                log_x: true,
                log_y: true,
                revision: what.into(),
                table: Table {
                    columns: vec!["kind".into(), "C".into(), what.into()],
                    rows,
                }
                .into(),
                ..Default::default()
            }
        })
    };

    view! {
        <section class="panel" id="hyper-section">
            <h2>"Hyper-parameter laws: optimal learning rate and batch"</h2>
            <p class="meta">"A table of runs of a learning-rate x batch sweep: lr, batch, final loss, and N and D (or C) per run (e.g. the Step Law table)."</p>
            <div class="toolbar">
                <label class="button">"upload a sweep table"
                    <input id="hyper-file" type="file" accept=".csv,.tsv,.json,.jsonl,.parquet" on:change=on_file/>
                </label>
                <label>"tokens per batch unit (sequence length) "
                    <input id="hyper-unit" size="6" prop:value=unit on:change=move |ev| unit.set(event_target_value(&ev))/>
                </label>
                <Show when=move || busy.get()>
                    <span class="progress"><span class="spinner"></span>"fitting..."</span>
                </Show>
            </div>
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert" id="hyper-error">{move || error.get().unwrap_or_default()}</p>
            </Show>
            <Show when=move || fit.with(Option::is_some)>
                <ul class="notes" id="hyper-laws">
                    {move || fit.get().map(|f| {
                        let mut lines = vec![format!("{}: {} runs in {} cells", rows.with(|r| r.as_ref().map(|r| r.0.clone()).unwrap_or_default()), f.cells.iter().map(|c| c.n_runs).sum::<usize>(), f.cells.len())];
                        if let Some(l) = &f.lr_vs_nd {
                            lines.push(format!("{} : k = {}, a = {} {}, b = {} {}", l.form, num(l.k.value), num(l.a.value), interval(&l.a), num(l.b.value), interval(&l.b)));
                        }
                        for l in [&f.batch_vs_d, &f.lr_vs_c, &f.batch_vs_c].into_iter().flatten() {
                            lines.push(format!("{} : k = {}, exponent = {} {}", l.form, num(l.k.value), num(l.exponent.value), interval(&l.exponent)));
                        }
                        lines.extend(f.warnings.iter().map(|w| format!("warning: {w}")));
                        lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()
                    })}
                </ul>
                <div class="two-charts">
                    <div><h3>"Optimal learning rate vs compute"</h3><Chart figure=chart(true) id="hyper-lr"/></div>
                    <div><h3>"Optimal batch vs compute"</h3><Chart figure=chart(false) id="hyper-batch"/></div>
                </div>
            </Show>
        </section>
    }
}
