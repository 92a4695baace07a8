//! How a [`Figure`] becomes a plotly.js chart, and the calls into plotly.js.
//!
//! Long lines are drawn as an LTTB-downsampled copy on the displayed axes (the data is
//! never changed), without the inner points of straight stretches. Lines are shared
//! (`Arc`), so a redraw reuses the drawn copy of every line that did not change: a
//! smoothing change redoes only the smoothed lines. Arrays go to plotly as JS arrays
//! (no JSON on the way), and for figures of lines the axis ranges come from the drawn
//! points (plotly's own autorange would walk every point again).

use std::sync::Arc;

use serde_json::{Value, json};
use shared::display::{drop_straight, lttb};
use wasm_bindgen::prelude::*;

use super::chart::{Figure, Style, Trace};

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

/// Points per line above which a downsampled copy is drawn: about one per pixel column
/// of a wide chart (TensorBoard keeps 1,000 samples per run too, at random; LTTB keeps
/// the peaks). Plotly's redraw time grows with the points it is handed.
const DISPLAY_POINTS: usize = 1000;

/// Straight stretches of a drawn line keep a point at least this often (per x span),
/// so hover still finds the line along them.
const HOVER_POINTS: usize = 100;

/// The lines of the last redraw, for the next one to reuse.
#[derive(Default)]
pub struct DrawnLines(Vec<DrawnLine>);

/// A line as drawn: the data and axes it came from, its plotly arrays and their extent.
struct DrawnLine {
    x: Arc<[f64]>,
    y: Arc<[f64]>,
    log: (bool, bool),
    arrays: (JsValue, JsValue),
    extent: Extent,
}

/// The smallest and largest drawable x and y of some points (a log axis draws v > 0).
#[derive(Clone, Copy)]
struct Extent {
    x: (f64, f64),
    y: (f64, f64),
}

impl Extent {
    const EMPTY: Self = Self {
        x: (f64::INFINITY, f64::NEG_INFINITY),
        y: (f64::INFINITY, f64::NEG_INFINITY),
    };

    fn of(x: &[f64], y: &[f64], log: (bool, bool)) -> Self {
        let span = |values: &[f64], log: bool| {
            values
                .iter()
                .filter(|v| v.is_finite() && (!log || **v > 0.0))
                .fold(Self::EMPTY.x, |(lo, hi), &v| (lo.min(v), hi.max(v)))
        };
        Self {
            x: span(x, log.0),
            y: span(y, log.1),
        }
    }

    fn join(self, other: Self) -> Self {
        let join = |a: (f64, f64), b: (f64, f64)| (a.0.min(b.0), a.1.max(b.1));
        Self {
            x: join(self.x, other.x),
            y: join(self.y, other.y),
        }
    }
}

/// The axes of a trace: (log x, log y of its panel).
fn log_axes(trace: &Trace, figure: &Figure) -> (bool, bool) {
    let log_y = if trace.lower {
        figure.lower_log_y
    } else {
        figure.log_y
    };
    (figure.log_x, log_y)
}

/// The drawn copy of a line: the last redraw's when the same data is drawn on the same
/// axes (pointer-equal `Arc`s), else made now. `fresh` collects this redraw's lines.
fn drawn_line<'a>(
    trace: &Trace,
    log: (bool, bool),
    last: &[DrawnLine],
    fresh: &'a mut Vec<DrawnLine>,
) -> &'a DrawnLine {
    let same =
        |d: &DrawnLine| Arc::ptr_eq(&d.x, &trace.x) && Arc::ptr_eq(&d.y, &trace.y) && d.log == log;
    if let Some(at) = fresh.iter().position(same) {
        return &fresh[at];
    }
    let (arrays, extent) = match last.iter().find(|d| same(d)) {
        Some(drawn) => (drawn.arrays.clone(), drawn.extent),
        None => {
            let (x, y) = (&trace.x[..], &trace.y[..]);
            let (x, y): (Vec<f64>, Vec<f64>) = if x.len() > DISPLAY_POINTS {
                let keep = lttb(x, y, DISPLAY_POINTS, log.0, log.1);
                let keep = drop_straight(x, y, &keep, log.0, log.1, HOVER_POINTS);
                keep.iter().map(|&i| (x[i], y[i])).unzip()
            } else {
                // Short lines are drawn as they are; NaN makes a gap.
                (x.to_vec(), y.to_vec())
            };
            ((js_array(&x), js_array(&y)), Extent::of(&x, &y, log))
        }
    };
    fresh.push(DrawnLine {
        x: trace.x.clone(),
        y: trace.y.clone(),
        log,
        arrays,
        extent,
    });
    fresh.last().unwrap()
}

/// A plain JS array of numbers, copied in one call.
fn js_array(values: &[f64]) -> JsValue {
    js_sys::Array::from(&js_sys::Float64Array::from(values).into()).into()
}

fn to_js(v: &Value) -> JsValue {
    js_sys::JSON::parse(&v.to_string()).unwrap_or(JsValue::NULL)
}

/// Plotly's objects for one trace (a band is two), and the extent of what they draw.
fn trace_objects(
    trace: &Trace,
    figure: &Figure,
    last: &[DrawnLine],
    fresh: &mut Vec<DrawnLine>,
) -> (Vec<JsValue>, Extent) {
    let log = log_axes(trace, figure);
    if let Style::Line { .. } = trace.style {
        let line = drawn_line(trace, log, last, fresh);
        let object = to_js(&trace_json(trace).remove(0));
        let _ = js_sys::Reflect::set(&object, &"x".into(), &line.arrays.0);
        let _ = js_sys::Reflect::set(&object, &"y".into(), &line.arrays.1);
        return (vec![object], line.extent);
    }
    let objects = trace_json(trace).iter().map(to_js).collect();
    (objects, Extent::of(&trace.x, &trace.y, log))
}

/// The plotly JSON of a trace; a line's points are left out (see [`drawn_line`]).
fn trace_json(trace: &Trace) -> Vec<Value> {
    let axes = |mut v: Value| {
        if trace.lower {
            v["yaxis"] = "y2".into();
        }
        v
    };
    match &trace.style {
        Style::Line { width, faint, dash } => {
            vec![axes(json!({
                "type": "scatter",
                "mode": "lines",
                "name": trace.name,
                "line": { "color": trace.colour, "width": width, "dash": if *dash { "dash" } else { "solid" } },
                "opacity": if *faint { 0.3 } else { 1.0 },
                "showlegend": trace.legend,
                "legendgroup": trace.name,
                "hoverinfo": if *faint { "skip" } else { "all" },
            }))]
        }
        Style::Markers { size } => vec![axes(json!({
            "type": "scatter", "mode": "markers", "name": trace.name,
            "x": &trace.x[..], "y": finite(&trace.y),
            "marker": { "color": trace.colour, "size": size },
            "showlegend": trace.legend, "legendgroup": trace.name,
        }))],
        Style::Interval { size, lower, upper } => {
            let up: Vec<f64> = upper
                .iter()
                .zip(trace.y.iter())
                .map(|(u, y)| u - y)
                .collect();
            let down: Vec<f64> = lower
                .iter()
                .zip(trace.y.iter())
                .map(|(l, y)| y - l)
                .collect();
            vec![axes(json!({
                "type": "scatter", "mode": "markers", "name": trace.name,
                "x": &trace.x[..], "y": finite(&trace.y),
                "marker": { "color": trace.colour, "size": size },
                "error_y": { "type": "data", "symmetric": false, "array": finite(&up),
                             "arrayminus": finite(&down), "color": trace.colour, "thickness": 1.2 },
                "showlegend": trace.legend, "legendgroup": trace.name,
            }))]
        }
        Style::Band { lower } => vec![
            axes(json!({
                "type": "scatter", "mode": "lines", "name": format!("{} lower", trace.name),
                "x": &trace.x[..], "y": finite(lower), "line": { "width": 0, "color": trace.colour },
                "showlegend": false, "hoverinfo": "skip", "legendgroup": trace.name,
            })),
            axes(json!({
                "type": "scatter", "mode": "lines", "name": trace.name,
                "x": &trace.x[..], "y": finite(&trace.y), "line": { "width": 0, "color": trace.colour },
                "fill": "tonexty", "fillcolor": format!("{}33", trace.colour),
                "showlegend": trace.legend, "hoverinfo": "skip", "legendgroup": trace.name,
            })),
        ],
    }
}

/// Plotly wants `null` for gaps; JSON has no NaN.
fn finite(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().map(|&x| x.is_finite().then_some(x)).collect()
}

/// An explicit range (log10 units on a log axis) for an axis whose drawn values span
/// `(lo, hi)`, or `None` for plotly's autorange. A flat y (a constant LR) gets +-10%
/// around its value (a decade on a log axis): plotly would put it on a default axis far
/// from the value. Figures of lines only get what plotly's autorange would give (x tight,
/// y padded 5%); others (markers, error bars, bands, contours) keep plotly's.
fn axis_range((lo, hi): (f64, f64), log: bool, is_y: bool, lines_only: bool) -> Option<Value> {
    if lo > hi {
        return None;
    }
    let shown = |v: f64| if log { v.log10() } else { v };
    if lo == hi {
        return is_y.then(|| {
            if log {
                json!([lo.log10() - 1.0, lo.log10() + 1.0])
            } else if lo == 0.0 {
                json!([-1.0, 1.0])
            } else {
                json!([lo - 0.1 * lo.abs(), lo + 0.1 * lo.abs()])
            }
        });
    }
    if !lines_only {
        return None;
    }
    let (lo, hi) = (shown(lo), shown(hi));
    let pad = if is_y { 0.05 * (hi - lo) } else { 0.0 };
    Some(json!([lo - pad, hi + pad]))
}

fn dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches())
}

fn axis_type(log: bool) -> &'static str {
    if log { "log" } else { "linear" }
}

/// Milliseconds of the last redraw's stages, kept in `window.curvecastRedraw` for the
/// benchmark (`tests/examples/plot_million.rs`): figure, traces (LTTB), layout, plotly.
fn record_timing(marks: &[f64]) {
    let stages = js_sys::Array::new();
    for pair in marks.windows(2) {
        stages.push(&JsValue::from_f64(pair[1] - pair[0]));
    }
    let _ = js_sys::Reflect::set(&js_sys::global(), &"curvecastRedraw".into(), &stages);
}

/// Draws `figure` into `div` with `Plotly.react`, reusing `lines` from the last redraw.
/// `start` is when the redraw began (for [`record_timing`]).
pub fn draw(div: &web_sys::HtmlElement, figure: &Figure, lines: &mut DrawnLines, start: f64) {
    let mut marks = vec![start, js_sys::Date::now()];
    let data = js_sys::Array::new();
    if let Some(c) = &figure.contour {
        data.push(&to_js(&json!({
            "type": "contour", "x": c.x, "y": c.y, "z": c.z, "name": c.title,
            "colorscale": "Viridis", "reversescale": true, "opacity": 0.55,
            "contours": { "coloring": "lines", "showlabels": true },
            "line": { "width": 1.5 }, "showscale": false, "hoverinfo": "skip",
        })));
    }
    let mut fresh = Vec::new();
    let (mut upper, mut lower) = (Extent::EMPTY, Extent::EMPTY);
    for trace in &figure.traces {
        let (objects, extent) = trace_objects(trace, figure, &lines.0, &mut fresh);
        for object in objects {
            data.push(&object);
        }
        if trace.lower {
            lower = lower.join(extent);
        } else {
            upper = upper.join(extent);
        }
    }
    lines.0 = fresh;
    marks.push(js_sys::Date::now());

    let (ink, grid) = if dark() {
        ("#d8dee9", "#3b4252")
    } else {
        ("#222", "#e5e5e5")
    };
    let axis = |title: &str, log: bool, range: Option<Value>| {
        let mut axis = json!({ "title": { "text": title }, "type": axis_type(log),
            "gridcolor": grid, "zerolinecolor": grid, "exponentformat": "power" });
        if let Some(range) = range {
            axis["range"] = range;
        }
        axis
    };
    let lines_only = figure.contour.is_none()
        && (figure.traces.iter()).all(|t| matches!(t.style, Style::Line { .. }));
    let x_span = upper.join(lower).x;
    let mut layout = json!({
        "xaxis": axis(&figure.x_title, figure.log_x, axis_range(x_span, figure.log_x, false, lines_only)),
        "yaxis": axis(&figure.y_title, figure.log_y, axis_range(upper.y, figure.log_y, true, lines_only)),
        "hovermode": if figure.contour.is_some() { "closest" } else { "x unified" },
        "uirevision": figure.revision,
        "margin": { "t": 24, "r": 16, "l": 64, "b": 48 },
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
        "font": { "color": ink },
        "legend": { "orientation": "h", "y": -0.18 },
        "dragmode": "zoom",
    });
    if let Some(title) = &figure.lower_title {
        let log = figure.lower_log_y;
        layout["yaxis"]["domain"] = json!([0.34, 1.0]);
        layout["yaxis2"] = axis(title, log, axis_range(lower.y, log, true, lines_only));
        layout["yaxis2"]["domain"] = json!([0.0, 0.24]);
        layout["xaxis"]["anchor"] = "y2".into();
    }
    let config = json!({ "responsive": true, "displaylogo": false });
    let (layout, config) = (to_js(&layout), to_js(&config));
    marks.push(js_sys::Date::now());
    if let Err(e) = plotly_react(div, &data, &layout, &config) {
        web_sys::console::error_2(&"plotly failed to draw".into(), &e);
    }
    marks.push(js_sys::Date::now());
    record_timing(&marks);
}

/// Saves the chart in `div` as a `format` (png or svg) file named after `name`.
pub fn download_image(div: &web_sys::HtmlElement, format: &str, name: &str) {
    let opts = json!({ "format": format, "filename": name, "width": 1200, "height": 700 });
    if let Err(e) = plotly_download_image(div, &to_js(&opts)) {
        web_sys::console::error_2(&"plotly could not export".into(), &e);
    }
}
