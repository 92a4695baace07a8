//! The one chart component: every plotly.js figure of the app is drawn here.
//!
//! Pages describe a [`Figure`] (traces at full resolution, axes, an optional linked
//! lower panel or contour map, and how to build the [`Table`] of values it shows);
//! [`plotly`] draws it (long lines downsampled for display only) and keeps the user's
//! zoom until the page changes [`Figure::revision`]. Its buttons export the table as CSV/JSON and
//! the picture as PNG/SVG; the table is built only when the user exports (a 1,000,000-point
//! table costs more than the redraw itself).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use shared::display::Table;

use crate::components::plotly;
use crate::download;

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
    pub x: Arc<[f64]>,
    pub y: Arc<[f64]>,
    pub colour: String,
    pub style: Style,
    /// Drawn in the lower linked panel (shared x axis).
    pub lower: bool,
    pub legend: bool,
}

impl Trace {
    pub fn line(
        name: impl Into<String>,
        x: impl Into<Arc<[f64]>>,
        y: impl Into<Arc<[f64]>>,
        colour: String,
    ) -> Self {
        Self {
            name: name.into(),
            x: x.into(),
            y: y.into(),
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
    let lines = Rc::new(RefCell::new(plotly::DrawnLines::default()));
    Effect::new(move |_| {
        let start = js_sys::Date::now();
        let figure = figure.get();
        if let Some(div) = node.get() {
            plotly::draw(&div, &figure, &mut lines.borrow_mut(), start);
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
            plotly::download_image(&div, format, &name);
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
