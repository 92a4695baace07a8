//! The one chart component: every plotly.js figure of the app is drawn here.
//!
//! Pages describe a [`Figure`] (traces at full resolution, axes, an optional linked
//! lower panel or contour map, and how to build the [`Table`] of values it shows); the chart
//! downsamples long lines for display with LTTB on the displayed axes (never the data
//! itself), draws with `Plotly.react` and keeps the user's zoom (`uirevision`) until
//! the page changes [`Figure::revision`]. Its buttons export the table as CSV/JSON and
//! the picture as PNG/SVG; the table is built only when the user exports (a 1,000,000-point
//! table costs more than the redraw itself).

use std::sync::Arc;

use leptos::prelude::*;
use serde_json::{Value, json};
use shared::display::{Table, lttb};
use wasm_bindgen::prelude::*;

use crate::download;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = Plotly, js_name = react)]
    fn plotly_react(
        div: &web_sys::HtmlElement,
        data: &JsValue,
        layout: &JsValue,
        config: &JsValue,
    ) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_namespace = Plotly, js_name = downloadImage)]
    fn plotly_download_image(
        div: &web_sys::HtmlElement,
        opts: &JsValue,
    ) -> Result<JsValue, JsValue>;
}

/// Points per line above which the chart draws an LTTB-downsampled copy.
const DISPLAY_POINTS: usize = 2000;

/// Stable colours: a run keeps the colour of its id on every page.
const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// The colour of run `id` (or of the `id`-th candidate).
pub fn colour(id: i64) -> String {
    PALETTE[id.rem_euclid(PALETTE.len() as i64) as usize].to_string()
}

/// How a trace is drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum Style {
    /// A line; `faint` for raw curves under their smoothed version.
    Line {
        width: f64,
        faint: bool,
        dash: bool,
    },
    Markers {
        size: f64,
    },
    /// Markers with error bars from `lower` to `upper` (e.g. a confidence interval).
    Interval {
        size: f64,
        lower: Vec<f64>,
        upper: Vec<f64>,
    },
    /// A filled band between `lower` and the trace's `y` (the upper edge).
    Band {
        lower: Vec<f64>,
    },
}

/// One trace of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub name: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub colour: String,
    pub style: Style,
    /// Drawn in the lower linked panel (shared x axis).
    pub lower: bool,
    pub legend: bool,
}

impl Trace {
    pub fn line(name: impl Into<String>, x: Vec<f64>, y: Vec<f64>, colour: String) -> Self {
        Self {
            name: name.into(),
            x,
            y,
            colour,
            style: Style::Line {
                width: 2.0,
                faint: false,
                dash: false,
            },
            lower: false,
            legend: true,
        }
    }

    pub fn with_style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    pub fn in_lower(mut self) -> Self {
        self.lower = true;
        self
    }

    pub fn hidden_in_legend(mut self) -> Self {
        self.legend = false;
        self
    }
}

/// Iso-lines of `z[j][i]` over the grid `x[i]`, `y[j]` (drawn under the traces).
#[derive(Clone, Debug, PartialEq)]
pub struct Contour {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub z: Vec<Vec<f64>>,
    pub title: String,
}

/// The full-resolution table of what a chart shows, built when the user exports.
#[derive(Clone, Default)]
pub struct TableSource(Option<Arc<dyn Fn() -> Table + Send + Sync>>);

impl TableSource {
    /// A table built on export from the state the chart shows then (pages read their
    /// signals untracked inside `build`).
    pub fn lazy(build: impl Fn() -> Table + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(build)))
    }

    pub fn build(&self) -> Table {
        self.0.as_ref().map(|f| f()).unwrap_or_default()
    }
}

impl From<Table> for TableSource {
    fn from(table: Table) -> Self {
        Self::lazy(move || table.clone())
    }
}

impl PartialEq for TableSource {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        }
    }
}

impl std::fmt::Debug for TableSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TableSource")
    }
}

/// What a chart shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figure {
    pub traces: Vec<Trace>,
    pub x_title: String,
    pub y_title: String,
    pub log_x: bool,
    pub log_y: bool,
    /// Title of the lower linked panel, when there is one.
    pub lower_title: Option<String>,
    pub lower_log_y: bool,
    pub contour: Option<Contour>,
    /// The zoom is kept while this stays the same.
    pub revision: String,
    /// Exactly the values shown, at full resolution, for the CSV/JSON export.
    pub table: TableSource,
}

#[component]
pub fn Chart(
    /// The figure to draw; the chart redraws when it changes.
    figure: Signal<Figure>,
    /// The element id (tests and exports find the chart by it; files are named after it).
    #[prop(into)]
    id: String,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        let start = js_sys::Date::now();
        let figure = figure.get();
        if let Some(div) = node.get() {
            draw(&div, &figure, start);
        }
    });
    let name = id.clone();
    let export_table = move |json: bool| {
        let table = figure.with_untracked(|f| f.table.clone()).build();
        if json {
            download::text(
                &format!("{name}.json"),
                "application/json",
                &table.to_json(),
            );
        } else {
            download::text(&format!("{name}.csv"), "text/csv", &table.to_csv());
        }
    };
    let name = id.clone();
    let export_image = move |format: &str| {
        if let Some(div) = node.get_untracked() {
            let opts = json!({ "format": format, "filename": name, "width": 1200, "height": 700 });
            let opts = js_sys::JSON::parse(&opts.to_string()).unwrap_or(JsValue::NULL);
            if let Err(e) = plotly_download_image(&div, &opts) {
                web_sys::console::error_2(&"plotly could not export".into(), &e);
            }
        }
    };
    let export_image2 = export_image.clone();
    let export_table2 = export_table.clone();
    view! {
        <div class="chart-box">
            <div class="chart" id=id.clone() node_ref=node></div>
            <div class="export" role="group" aria-label="export">
                <span>"Export "</span>
                <button class="small" id=format!("{id}-csv") on:click=move |_| export_table(false)>"CSV"</button>
                <button class="small" id=format!("{id}-json") on:click=move |_| export_table2(true)>"JSON"</button>
                <button class="small" id=format!("{id}-png") on:click=move |_| export_image("png")>"PNG"</button>
                <button class="small" id=format!("{id}-svg") on:click=move |_| export_image2("svg")>"SVG"</button>
            </div>
        </div>
    }
}

fn dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches())
}

fn axis_type(log: bool) -> &'static str {
    if log { "log" } else { "linear" }
}

fn trace_json(trace: &Trace, figure: &Figure) -> Vec<Value> {
    let log_y = if trace.lower {
        figure.lower_log_y
    } else {
        figure.log_y
    };
    let axes = |mut v: Value| {
        if trace.lower {
            v["yaxis"] = "y2".into();
        }
        v
    };
    match &trace.style {
        Style::Line { width, faint, dash } => {
            let (x, y) = if trace.x.len() > DISPLAY_POINTS {
                let keep = lttb(&trace.x, &trace.y, DISPLAY_POINTS, figure.log_x, log_y);
                (
                    keep.iter().map(|&i| trace.x[i]).collect(),
                    keep.iter().map(|&i| trace.y[i]).collect(),
                )
            } else {
                (trace.x.clone(), trace.y.clone())
            };
            vec![axes(json!({
                "type": "scatter",
                "mode": "lines",
                "name": trace.name,
                "x": x, "y": finite(&y),
                "line": { "color": trace.colour, "width": width, "dash": if *dash { "dash" } else { "solid" } },
                "opacity": if *faint { 0.3 } else { 1.0 },
                "showlegend": trace.legend,
                "legendgroup": trace.name,
                "hoverinfo": if *faint { "skip" } else { "all" },
            }))]
        }
        Style::Markers { size } => vec![axes(json!({
            "type": "scatter", "mode": "markers", "name": trace.name,
            "x": trace.x, "y": finite(&trace.y),
            "marker": { "color": trace.colour, "size": size },
            "showlegend": trace.legend, "legendgroup": trace.name,
        }))],
        Style::Interval { size, lower, upper } => {
            let up: Vec<f64> = upper.iter().zip(&trace.y).map(|(u, y)| u - y).collect();
            let down: Vec<f64> = lower.iter().zip(&trace.y).map(|(l, y)| y - l).collect();
            vec![axes(json!({
                "type": "scatter", "mode": "markers", "name": trace.name,
                "x": trace.x, "y": finite(&trace.y),
                "marker": { "color": trace.colour, "size": size },
                "error_y": { "type": "data", "symmetric": false, "array": finite(&up),
                             "arrayminus": finite(&down), "color": trace.colour, "thickness": 1.2 },
                "showlegend": trace.legend, "legendgroup": trace.name,
            }))]
        }
        Style::Band { lower } => vec![
            axes(json!({
                "type": "scatter", "mode": "lines", "name": format!("{} lower", trace.name),
                "x": trace.x, "y": finite(lower), "line": { "width": 0, "color": trace.colour },
                "showlegend": false, "hoverinfo": "skip", "legendgroup": trace.name,
            })),
            axes(json!({
                "type": "scatter", "mode": "lines", "name": trace.name,
                "x": trace.x, "y": finite(&trace.y), "line": { "width": 0, "color": trace.colour },
                "fill": "tonexty", "fillcolor": format!("{}33", trace.colour),
                "showlegend": trace.legend, "hoverinfo": "skip", "legendgroup": trace.name,
            })),
        ],
    }
}

/// An explicit y range when every finite value on a panel is the same (a constant LR):
/// plotly would otherwise draw it on its default -1..4 style axis, far from the value.
/// Centred on the value, +-10% (a decade on a log axis).
fn flat_range(figure: &Figure, lower: bool) -> Option<Value> {
    let log = if lower {
        figure.lower_log_y
    } else {
        figure.log_y
    };
    let mut values = figure
        .traces
        .iter()
        .filter(|t| t.lower == lower)
        .flat_map(|t| t.y.iter().copied())
        .filter(|v| v.is_finite() && (!log || *v > 0.0));
    let first = values.next()?;
    if values.any(|v| v != first) {
        return None;
    }
    Some(if log {
        json!([first.log10() - 1.0, first.log10() + 1.0])
    } else if first == 0.0 {
        json!([-1.0, 1.0])
    } else {
        json!([first - 0.1 * first.abs(), first + 0.1 * first.abs()])
    })
}

/// Plotly wants `null` for gaps; JSON has no NaN.
fn finite(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().map(|&x| x.is_finite().then_some(x)).collect()
}

/// Milliseconds of the last redraw's stages, kept in `window.curvecastRedraw` for the
/// benchmark (`tests/examples/plot_million.rs`): figure, traces (LTTB + JSON), parse, plotly.
fn record_timing(marks: &[f64]) {
    let stages = js_sys::Array::new();
    for pair in marks.windows(2) {
        stages.push(&JsValue::from_f64(pair[1] - pair[0]));
    }
    let _ = js_sys::Reflect::set(&js_sys::global(), &"curvecastRedraw".into(), &stages);
}

fn draw(div: &web_sys::HtmlElement, figure: &Figure, start: f64) {
    let mut marks = vec![start, js_sys::Date::now()];
    let mut data: Vec<Value> = Vec::new();
    if let Some(c) = &figure.contour {
        data.push(json!({
            "type": "contour", "x": c.x, "y": c.y, "z": c.z, "name": c.title,
            "colorscale": "Viridis", "reversescale": true, "opacity": 0.55,
            "contours": { "coloring": "lines", "showlabels": true },
            "line": { "width": 1.5 }, "showscale": false, "hoverinfo": "skip",
        }));
    }
    for trace in &figure.traces {
        data.extend(trace_json(trace, figure));
    }
    let (ink, grid) = if dark() {
        ("#d8dee9", "#3b4252")
    } else {
        ("#222", "#e5e5e5")
    };
    let axis = |title: &str, log: bool| {
        json!({ "title": { "text": title }, "type": axis_type(log), "gridcolor": grid,
                "zerolinecolor": grid, "exponentformat": "power" })
    };
    let mut layout = json!({
        "xaxis": axis(&figure.x_title, figure.log_x),
        "yaxis": axis(&figure.y_title, figure.log_y),
        "hovermode": if figure.contour.is_some() { "closest" } else { "x unified" },
        "uirevision": figure.revision,
        "margin": { "t": 24, "r": 16, "l": 64, "b": 48 },
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
        "font": { "color": ink },
        "legend": { "orientation": "h", "y": -0.18 },
        "dragmode": "zoom",
    });
    if let Some(range) = flat_range(figure, false) {
        layout["yaxis"]["range"] = range;
    }
    if let Some(title) = &figure.lower_title {
        layout["yaxis"]["domain"] = json!([0.34, 1.0]);
        layout["yaxis2"] = axis(title, figure.lower_log_y);
        layout["yaxis2"]["domain"] = json!([0.0, 0.24]);
        layout["xaxis"]["anchor"] = "y2".into();
        if let Some(range) = flat_range(figure, true) {
            layout["yaxis2"]["range"] = range;
        }
    }
    let config = json!({ "responsive": true, "displaylogo": false });
    let parse = |v: &Value| js_sys::JSON::parse(&v.to_string()).unwrap_or(JsValue::NULL);
    marks.push(js_sys::Date::now());
    let data = parse(&Value::Array(data));
    marks.push(js_sys::Date::now());
    if let Err(e) = plotly_react(div, &data, &parse(&layout), &parse(&config)) {
        web_sys::console::error_2(&"plotly failed to draw".into(), &e);
    }
    marks.push(js_sys::Date::now());
    record_timing(&marks);
}
