//! A law comparison's result on its fit page (`"law": "compare"`): the laws ranked by
//! held-out forecast error, and a chart of each law's error on every fold.

use leptos::prelude::*;
use shared::api::LawComparison;
use shared::display::Table;

use crate::components::chart::{Chart, Figure, Style, Trace, colour};

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "failed".into(), |x| format!("{:.3}%", 100.0 * x))
}

/// Each law's mean relative error per fold (x: the fold's number in the list below).
fn figure(c: &LawComparison) -> Figure {
    let x: Vec<f64> = (1..=c.folds.len()).map(|i| i as f64).collect();
    let mut traces = Vec::new();
    let mut rows = Vec::new();
    for (i, row) in c.rows.iter().enumerate() {
        let y: Vec<f64> = row
            .fold_errors
            .iter()
            .map(|e| e.map_or(f64::NAN, |e| 100.0 * e))
            .collect();
        for (&fold, &v) in x.iter().zip(&y) {
            rows.push((row.law.clone(), vec![fold, v]));
        }
        traces.push(
            Trace::line(row.law.clone(), x.clone(), y, colour(i as i64))
                .with_style(Style::Markers { size: 9.0 }),
        );
    }
    Figure {
        traces,
        x_title: "fold (numbered as listed below)".into(),
        y_title: "mean |L - L^|/L of the hidden part (%)".into(),
        log_y: true,
        revision: "comparison".into(),
        table: Table {
            columns: ["law", "fold", "mean_rel_error_percent"]
                .map(String::from)
                .to_vec(),
            rows,
        }
        .into(),
        ..Default::default()
    }
}

#[component]
pub fn ComparisonView(comparison: LawComparison) -> impl IntoView {
    let figure = Signal::derive({
        let c = comparison.clone();
        move || figure(&c)
    });
    let rows = comparison
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            view! {
                <tr data-law=r.law.clone()>
                    <td class="num">{i + 1}</td>
                    <td>{r.law.clone()}</td>
                    <td class="num">{percent(r.mean_rel_error)}</td>
                    <td class="num">{percent(r.worst_rel_error)}</td>
                    <td class="num">{format!("{:.1}", r.seconds)}</td>
                    <td class="meta">{r.error.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    let folds = comparison
        .folds
        .iter()
        .map(|f| view! { <li>{f.clone()}</li> })
        .collect_view();
    view! {
        <h3>"Which law forecasts these runs best"</h3>
        <p class="meta">"Each law is fitted with part of the runs hidden (each fold below) and scored on what it did not see; best first."</p>
        <table class="data-table" id="comparison-table">
            <thead><tr><th>"rank"</th><th>"law"</th><th>"held-out mean"</th><th>"worst"</th><th>"seconds"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <Chart figure=figure id="comparison-chart"/>
        <h3>"Folds"</h3>
        <ol class="notes" id="comparison-folds">{folds}</ol>
    }
}
