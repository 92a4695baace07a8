//! The Scaling page (Chinchilla): loss over the (N, D) plane on log axes with iso-loss
//! contours and the runs, the compute-optimal frontier `N_opt(C)`, `D_opt(C)` with its
//! bootstrap band, and a budget box: type C, read N, D, tokens per parameter and loss.
//! Beside them, loss vs N and loss vs D (log axes): the runs, binned by the other
//! variable, with the fitted law's line at each bin's fixed D (or N).

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{FitDetail, RunSummary};
use shared::display::{Table, quantile};
use shared::laws::chinchilla::Chinchilla;

use crate::api;
use crate::components::chart::{Chart, Contour, Figure, Style, Trace, colour};

/// The law of a Chinchilla fit's parameter vector (by name, in log form).
fn law_of(fit: &FitDetail, values: &[f64]) -> Option<Chinchilla> {
    let report = fit.report.as_ref()?;
    let get = |name: &str| {
        let i = report.params.iter().position(|p| p.name == name)?;
        values.get(i).copied()
    };
    Some(Chinchilla::from_log_params([
        get("a")?,
        get("b")?,
        get("e")?,
        get("alpha")?,
        get("beta")?,
    ]))
}

fn logspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (a, b) = (lo.log10(), hi.log10());
    (0..n)
        .map(|i| 10f64.powf(a + (b - a) * i as f64 / (n - 1) as f64))
        .collect()
}

fn sci(v: f64) -> String {
    format!("{v:.3e}")
}

/// Bins of the other variable for the loss-vs-N (or D) chart.
const BINS: usize = 4;

/// Loss vs N (`by_n`) or vs D: the runs binned by the other variable (equal widths in
/// log), each bin with the law's line at the bin's geometric centre.
fn loss_figure(law: &Chinchilla, pts: &[(f64, f64, f64)], by_n: bool) -> Figure {
    if pts.is_empty() {
        return Figure::default();
    }
    let x = |p: &(f64, f64, f64)| if by_n { p.0 } else { p.1 };
    let other = |p: &(f64, f64, f64)| if by_n { p.1 } else { p.0 };
    let range = |f: &dyn Fn(&(f64, f64, f64)) -> f64| {
        pts.iter()
            .fold((f64::MAX, 0f64), |a, p| (a.0.min(f(p)), a.1.max(f(p))))
    };
    let (xlo, xhi) = range(&x);
    let (olo, ohi) = range(&other);
    let width = ((ohi / olo).ln() / BINS as f64).max(1e-12);
    let bin = |v: f64| (((v / olo).ln() / width) as usize).min(BINS - 1);
    let grid = logspace(xlo / 1.5, xhi * 1.5, 50);
    let (x_name, o_name) = if by_n { ("N", "D") } else { ("D", "N") };
    let mut traces = Vec::new();
    let mut rows = Vec::new();
    for k in 0..BINS {
        let members: Vec<&(f64, f64, f64)> = pts.iter().filter(|p| bin(other(p)) == k).collect();
        if members.is_empty() {
            continue;
        }
        let fixed = olo * (width * (k as f64 + 0.5)).exp();
        let c = colour(k as i64);
        let label = format!("{o_name} = {}", sci(fixed));
        traces.push(
            Trace::line(
                format!("runs, {label}"),
                members.iter().map(|p| x(p)).collect::<Vec<_>>(),
                members.iter().map(|p| p.2).collect::<Vec<_>>(),
                c.clone(),
            )
            .with_style(Style::Markers { size: 6.0 }),
        );
        rows.extend(
            members
                .iter()
                .map(|p| (format!("run"), vec![x(p), other(p), p.2])),
        );
        let line: Vec<f64> = grid
            .iter()
            .map(|&v| {
                if by_n {
                    law.loss(v, fixed)
                } else {
                    law.loss(fixed, v)
                }
            })
            .collect();
        rows.extend(
            grid.iter()
                .zip(&line)
                .map(|(&v, &l)| (format!("law at {label}"), vec![v, fixed, l])),
        );
        traces.push(Trace::line(format!("law, {label}"), grid.clone(), line, c));
    }
    Figure {
        traces,
        x_title: if by_n { "parameters N" } else { "tokens D" }.into(),
        y_title: "loss".into(),
        log_x: true,
        log_y: true,
        revision: format!("loss-vs-{x_name}"),
        table: Table {
            columns: vec!["kind".into(), x_name.into(), o_name.into(), "loss".into()],
            rows,
        }
        .into(),
        ..Default::default()
    }
}

#[component]
pub fn ScalingPage() -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let (fits, fit_id) = super::choose_fit(&["chinchilla"], error);
    let fit = RwSignal::new(None::<FitDetail>);
    let runs = RwSignal::new(Vec::<RunSummary>::new());
    let budget = RwSignal::new("5.76e23".to_string());
    // (N, D, final loss) of the fit's runs, fetched once the fit is known.
    let losses = RwSignal::new(Vec::<(f64, f64, f64)>::new());

    spawn_local(async move {
        match api::list_runs().await {
            Ok(list) => runs.set(list),
            Err(e) => error.set(Some(e)),
        }
    });
    Effect::new(move |_| {
        let Some(id) = fit_id.get() else { return };
        spawn_local(async move {
            match api::get_fit(id).await {
                Ok(detail) if detail.request.law != "chinchilla" => error.set(Some(format!(
                    "fit {id} is a {} fit, not a Chinchilla fit",
                    detail.request.law
                ))),
                Ok(detail) => {
                    let ids = detail.request.all_runs();
                    fit.set(Some(detail));
                    losses.set(Vec::new());
                    let (runs, errors) = api::get_runs(ids).await;
                    if let Some(e) = errors.into_iter().next() {
                        error.set(Some(e));
                    }
                    let got = runs.iter().filter_map(|r| {
                        let a = &r.summary.attrs;
                        Some((
                            *a.get("n_params")?,
                            *a.get("tokens")?,
                            *r.points.get("loss")?.values.last()?,
                        ))
                    });
                    losses.set(got.collect());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });

    let law =
        Memo::new(move |_| fit.with(|f| f.as_ref().and_then(|f| law_of(f, f.params.as_ref()?))));
    let loss_vs = move |by_n: bool| {
        Signal::derive(move || {
            let Some(law) = law.get() else {
                return Figure::default();
            };
            losses.with(|pts| loss_figure(&law, pts, by_n))
        })
    };
    // (N, D) of the fit's runs, from their attributes.
    let points = Memo::new(move |_| {
        let Some(f) = fit.get() else {
            return Vec::new();
        };
        runs.with(|rs| {
            rs.iter()
                .filter(|r| f.request.runs.contains(&r.id) || f.request.holdout.contains(&r.id))
                .filter_map(|r| Some((*r.attrs.get("n_params")?, *r.attrs.get("tokens")?)))
                .collect::<Vec<(f64, f64)>>()
        })
    });
    let samples = Memo::new(move |_| {
        fit.with(|f| {
            let f = f.as_ref()?;
            let b = f.report.as_ref()?.bootstrap.as_ref()?;
            Some(
                b.samples
                    .iter()
                    .filter_map(|s| law_of(f, s))
                    .collect::<Vec<_>>(),
            )
        })
        .unwrap_or_default()
    });

    let plane = Signal::derive(move || {
        let Some(law) = law.get() else {
            return Figure::default();
        };
        let pts = points.get();
        let (mut n_lo, mut n_hi, mut d_lo, mut d_hi) = (1e7f64, 1e11f64, 1e9f64, 1e12f64);
        for &(n, d) in &pts {
            n_lo = n_lo.min(n / 2.0);
            n_hi = n_hi.max(n * 2.0);
            d_lo = d_lo.min(d / 2.0);
            d_hi = d_hi.max(d * 2.0);
        }
        let (ns, ds) = (logspace(n_lo, n_hi, 60), logspace(d_lo, d_hi, 60));
        let z: Vec<Vec<f64>> = ds
            .iter()
            .map(|&d| ns.iter().map(|&n| law.loss(n, d)).collect())
            .collect();
        let cs = logspace(6.0 * n_lo * d_lo, 6.0 * n_hi * d_hi, 80);
        let (fn_, fd): (Vec<f64>, Vec<f64>) = cs
            .iter()
            .map(|&c| (law.n_opt(c), law.d_opt(c)))
            .filter(|(n, d)| *n >= n_lo && *n <= n_hi && *d >= d_lo && *d <= d_hi)
            .unzip();
        let mut rows: Vec<(String, Vec<f64>)> = pts
            .iter()
            .map(|&(n, d)| ("run".to_string(), vec![n, d, law.loss(n, d)]))
            .collect();
        rows.extend(
            fn_.iter()
                .zip(&fd)
                .map(|(&n, &d)| ("frontier".to_string(), vec![n, d, law.loss(n, d)])),
        );
        Figure {
            traces: vec![
                Trace::line(
                    "runs",
                    pts.iter().map(|p| p.0).collect::<Vec<_>>(),
                    pts.iter().map(|p| p.1).collect::<Vec<_>>(),
                    "#d62728".into(),
                )
                .with_style(Style::Markers { size: 6.0 }),
                Trace::line("compute-optimal frontier", fn_, fd, "#1f77b4".into()),
            ],
            x_title: "parameters N".into(),
            y_title: "tokens D".into(),
            log_x: true,
            log_y: true,
            contour: Some(Contour {
                x: ns,
                y: ds,
                z,
                title: "loss".into(),
            }),
            revision: "plane".into(),
            table: Table {
                columns: ["kind", "N", "D", "predicted_loss"]
                    .map(String::from)
                    .to_vec(),
                rows,
            }
            .into(),
            ..Default::default()
        }
    });
    let frontier = Signal::derive(move || {
        let Some(law) = law.get() else {
            return Figure::default();
        };
        let cs = logspace(1e18, 1e26, 81);
        let s = samples.get();
        let band = |f: &dyn Fn(&Chinchilla, f64) -> f64, q: f64| -> Vec<f64> {
            cs.iter()
                .map(|&c| {
                    quantile(&s.iter().map(|l| f(l, c)).collect::<Vec<_>>(), q).unwrap_or(f64::NAN)
                })
                .collect()
        };
        let level = fit.with(|f| {
            f.as_ref()
                .and_then(|f| f.report.as_ref())
                .map_or(0.95, |r| r.ci_level)
        });
        let tail = (1.0 - level) / 2.0;
        let n: Vec<f64> = cs.iter().map(|&c| law.n_opt(c)).collect();
        let d: Vec<f64> = cs.iter().map(|&c| law.d_opt(c)).collect();
        let mut traces = Vec::new();
        let mut rows = Vec::new();
        let (nl, nh, dl, dh) = if s.is_empty() {
            (
                vec![f64::NAN; cs.len()],
                vec![f64::NAN; cs.len()],
                vec![f64::NAN; cs.len()],
                vec![f64::NAN; cs.len()],
            )
        } else {
            (
                band(&|l, c| l.n_opt(c), tail),
                band(&|l, c| l.n_opt(c), 1.0 - tail),
                band(&|l, c| l.d_opt(c), tail),
                band(&|l, c| l.d_opt(c), 1.0 - tail),
            )
        };
        if !s.is_empty() {
            traces.push(
                Trace::line("N_opt band", cs.clone(), nh.clone(), "#1f77b4".into())
                    .with_style(Style::Band { lower: nl.clone() })
                    .hidden_in_legend(),
            );
            traces.push(
                Trace::line("D_opt band", cs.clone(), dh.clone(), "#ff7f0e".into())
                    .with_style(Style::Band { lower: dl.clone() })
                    .hidden_in_legend(),
            );
        }
        traces.push(Trace::line(
            "N_opt(C)",
            cs.clone(),
            n.clone(),
            "#1f77b4".into(),
        ));
        traces.push(Trace::line(
            "D_opt(C)",
            cs.clone(),
            d.clone(),
            "#ff7f0e".into(),
        ));
        for i in 0..cs.len() {
            rows.push((
                "frontier".to_string(),
                vec![
                    cs[i],
                    n[i],
                    nl[i],
                    nh[i],
                    d[i],
                    dl[i],
                    dh[i],
                    law.loss_opt(cs[i]),
                ],
            ));
        }
        Figure {
            traces,
            x_title: "compute C (FLOPs)".into(),
            y_title: "N or D".into(),
            log_x: true,
            log_y: true,
            revision: "frontier".into(),
            table: Table {
                columns: [
                    "curve", "C", "N_opt", "N_lower", "N_upper", "D_opt", "D_lower", "D_upper",
                    "loss",
                ]
                .map(String::from)
                .to_vec(),
                rows,
            }
            .into(),
            ..Default::default()
        }
    });

    let plan = move || -> Result<(f64, f64, f64, f64), String> {
        let text = budget.get();
        let c: f64 = text
            .trim()
            .parse()
            .map_err(|_| format!("'{}' is not a number of FLOPs (e.g. 1e21)", text.trim()))?;
        if !(c.is_finite() && c > 0.0) {
            return Err("the budget must be a positive number of FLOPs".into());
        }
        let law = law.get().ok_or("no Chinchilla fit chosen")?;
        let (n, d) = (law.n_opt(c), law.d_opt(c));
        Ok((n, d, d / n, law.loss_opt(c)))
    };

    view! {
        <div class="page scaling-page">
            <section class="panel">
                <div class="toolbar">
                    <h2>"Scaling (Chinchilla)"</h2>
                    <label>"fit "
                        <select id="scaling-fit" on:change=move |ev| fit_id.set(event_target_value(&ev).parse().ok())>
                            <For each=move || fits.get() key=|f| f.id let:f>
                                <option value=f.id.to_string() selected=move || fit_id.get() == Some(f.id)>{format!("fit {}", f.id)}</option>
                            </For>
                        </select>
                    </label>
                </div>
                <Show when=move || fits.with(Vec::is_empty) && fit_id.get().is_none()>
                    <p class="empty">"No finished Chinchilla fit yet: upload a table of runs (N, D or C, loss) and fit \"chinchilla\" on the Fit page."</p>
                </Show>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                <div class="budget" id="budget-box">
                    <label for="budget">"Compute budget C (FLOPs)"</label>
                    <input id="budget" prop:value=budget on:input=move |ev| budget.set(event_target_value(&ev))/>
                    {move || match plan() {
                        Ok((n, d, ratio, loss)) => view! {
                            <dl class="plan">
                                <dt>"parameters N"</dt><dd id="plan-n">{sci(n)}</dd>
                                <dt>"tokens D"</dt><dd id="plan-d">{sci(d)}</dd>
                                <dt>"tokens per parameter"</dt><dd id="plan-ratio">{format!("{ratio:.1}")}</dd>
                                <dt>"predicted loss"</dt><dd id="plan-loss">{format!("{loss:.4}")}</dd>
                            </dl>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert" id="plan-error">{e}</p> }.into_any(),
                    }}
                </div>
            </section>
            <section class="panel two-charts">
                <div>
                    <h3>"Loss vs parameters N (lines: the fitted law at fixed D)"</h3>
                    <Chart figure=loss_vs(true) id="scaling-loss-n"/>
                </div>
                <div>
                    <h3>"Loss vs tokens D (lines: the fitted law at fixed N)"</h3>
                    <Chart figure=loss_vs(false) id="scaling-loss-d"/>
                </div>
            </section>
            <section class="panel two-charts">
                <div>
                    <h3>"Loss over (N, D): iso-loss contours, runs, frontier"</h3>
                    <Chart figure=plane id="scaling-plane"/>
                </div>
                <div>
                    <h3>"Compute-optimal N and D (bootstrap band)"</h3>
                    <Chart figure=frontier id="scaling-frontier"/>
                </div>
            </section>
        </div>
    }
}
