//! The one chart component: a plotly.js figure built with the `plotly` crate's types.
//!
//! It draws with `Plotly.react`, so updates reuse the figure, and sets the layout's
//! `uirevision` so that a user's zoom survives data changes until the axes change.

use leptos::prelude::*;
use plotly::common::Mode;
use plotly::layout::{Axis, AxisType, HoverMode};
use plotly::{Layout, Plot, Scatter};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = Plotly, js_name = react)]
    fn plotly_react(div: &web_sys::HtmlElement, data: &JsValue, layout: &JsValue, config: &JsValue) -> Result<JsValue, JsValue>;
}

/// One line of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub name: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

/// What a chart shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figure {
    pub lines: Vec<Line>,
    pub x_title: String,
    pub y_title: String,
    pub log_x: bool,
    pub log_y: bool,
}

#[component]
pub fn Chart(
    /// The figure to draw; the chart redraws when it changes.
    figure: Signal<Figure>,
    /// The element id (tests and exports find the chart by it).
    #[prop(into)]
    id: String,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        let figure = figure.get();
        if let Some(div) = node.get() {
            draw(&div, &figure);
        }
    });
    view! { <div class="chart" id=id node_ref=node></div> }
}

fn draw(div: &web_sys::HtmlElement, figure: &Figure) {
    let mut plot = Plot::new();
    for line in &figure.lines {
        plot.add_trace(Scatter::new(line.x.clone(), line.y.clone()).name(&line.name).mode(Mode::Lines));
    }
    let axis = |title: &str, log: bool| {
        Axis::new().title(title).type_(if log { AxisType::Log } else { AxisType::Linear })
    };
    plot.set_layout(
        Layout::new()
            .x_axis(axis(&figure.x_title, figure.log_x))
            .y_axis(axis(&figure.y_title, figure.log_y))
            .hover_mode(HoverMode::XUnified),
    );
    let Ok(mut json) = serde_json::from_str::<serde_json::Value>(&plot.to_json()) else { return };
    // Keep the user's zoom across data updates; reset it when an axis changes scale.
    json["layout"]["uirevision"] = format!("{}{}", figure.log_x, figure.log_y).into();
    json["layout"]["margin"] = serde_json::json!({ "t": 24, "r": 16 });
    let config = serde_json::json!({ "responsive": true, "displaylogo": false });
    let parse = |v: &serde_json::Value| js_sys::JSON::parse(&v.to_string()).unwrap_or(JsValue::NULL);
    if let Err(e) = plotly_react(div, &parse(&json["data"]), &parse(&json["layout"]), &parse(&config)) {
        web_sys::console::error_2(&"plotly failed to draw".into(), &e);
    }
}
