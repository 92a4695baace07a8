//! Measures the Curves page with 1,000,000 points (10 runs x 100,000 steps) in a real
//! headless Chromium: time to first draw after opening the page, and time for the chart
//! to follow a smoothing change (the full-resolution EMA plus LTTB to 2,000 points per
//! line, timed in the page), and the CSV export of the full-resolution table. Run: `cargo xtask dist && cargo build --all-targets &&
//! $CARGO_TARGET_DIR/debug/examples/plot_million`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let server = common::start_server().await;
    let browser = common::start_browser().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("million.csv");
    let mut text = String::from("run,step,lr,loss\n");
    for run in 0..10 {
        for step in 1..=100_000u32 {
            let noise = ((step as f64 * 12.9898 + run as f64).sin() * 43758.5453).fract() * 0.05;
            let loss = 2.0 + run as f64 * 0.05 + 8.0 / (step as f64).sqrt() + noise;
            text.push_str(&format!("r{run},{step},0.0003,{loss}\n"));
        }
    }
    std::fs::write(&csv, text).unwrap();
    let t = Instant::now();
    browser.upload(&server.url, &[csv]).await;
    println!(
        "upload + import of 1,000,000 rows: {:.2} s",
        t.elapsed().as_secs_f64()
    );

    // In-app navigation keeps the ten freshly imported runs ticked.
    let t = Instant::now();
    browser.click(thirtyfour::By::LinkText("Curves")).await;
    browser
        .wait_for(
            "ten drawn lines",
            "const c = document.getElementById('loss-chart');
             return c && c.data && c.data.filter(t => t.name.startsWith('r') && !t.name.endsWith('(raw)') && t.yaxis !== 'y2').length === 10;",
        )
        .await;
    println!(
        "Curves page, 10 x 100,000 points fetched and drawn: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let drawn = browser
        .driver
        .execute("return document.getElementById('loss-chart').data.reduce((n, t) => n + t.x.length, 0);", vec![])
        .await
        .unwrap()
        .json()
        .clone();
    println!("points handed to plotly (all traces): {drawn}");
    // Timed in the page (WebDriver polling is too coarse for 100 ms): from the input
    // event to the first animation frame after plotly has drawn the new lines.
    for w in ["0.9", "0.3", "0.95", "0.5", "0.8"] {
        let ms = browser
            .driver
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const div = document.getElementById('loss-chart');
                 const el = document.getElementById('smoothing');
                 let finished = false;
                 const t0 = performance.now();
                 div.on('plotly_afterplot', () => {
                     if (finished) return; finished = true;
                     requestAnimationFrame(() => done(performance.now() - t0));
                 });
                 el.value = arguments[0];
                 el.dispatchEvent(new Event('input', { bubbles: true }));",
                vec![serde_json::json!(w)],
            )
            .await
            .unwrap()
            .json()
            .clone();
        let shown = browser
            .driver
            .execute(
                "return document.querySelector('.slider output').innerText;",
                vec![],
            )
            .await
            .unwrap()
            .json()
            .clone();
        assert_eq!(shown, format!("{:.2}", w.parse::<f64>().unwrap()));
        let stages = browser
            .driver
            .execute("return window.curvecastRedraw;", vec![])
            .await
            .unwrap()
            .json()
            .clone();
        println!(
            "smoothing -> {w}: chart redrawn in {:.0} ms (figure, traces, parse, plotly ms: {stages})",
            ms.as_f64().unwrap()
        );
    }
    // Plotly alone: the same figure handed again as fresh objects (all traces new), and
    // with only the smoothed lines new (raw and LR traces the same objects as drawn).
    let plotly = browser
        .driver
        .execute(
            "const div = document.getElementById('loss-chart');
             const copy = v => JSON.parse(JSON.stringify(v));
             let t0 = performance.now();
             Plotly.react(div, copy(div.data), copy(div.layout));
             const all = performance.now() - t0;
             const data = div.data.map(t => t.opacity === 1 && t.yaxis !== 'y2' ? copy(t) : t);
             t0 = performance.now();
             Plotly.react(div, data, div.layout);
             return [all, performance.now() - t0];",
            vec![],
        )
        .await
        .unwrap()
        .json()
        .clone();
    println!("Plotly.react alone, ms (all traces new, only smoothed new): {plotly}");
    let t = Instant::now();
    browser.click(thirtyfour::By::Id("loss-chart-csv")).await;
    let csv = browser.downloaded("loss-chart.csv").await;
    println!(
        "CSV export of {} rows: {:.2} s",
        csv.lines().count() - 1,
        t.elapsed().as_secs_f64()
    );
    browser.screenshot("million-points").await;
}
