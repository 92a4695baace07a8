//! Measures the Curves page with 1,000,000 points (10 runs x 100,000 steps) in a real
//! headless Chromium: time to first draw after opening the page, and time for the chart
//! to follow a smoothing change (the full-resolution EMA plus LTTB to 1,000 points per
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
    // event to the first task after the frame that paints plotly's new lines.
    for w in ["0.9", "0.3", "0.95", "0.5", "0.8"] {
        let ms = browser
            .driver
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const div = document.getElementById('loss-chart');
                 const el = document.getElementById('smoothing');
                 let finished = false, answer = null;
                 const t0 = performance.now();
                 // The first frame after the input (registered before the app's): what it
                 // paints is the user's first answer.
                 requestAnimationFrame(() => {
                     const out = document.querySelector('.slider output').innerText;
                     answer = { ms: performance.now() - t0, slider: out,
                                redrawing: !!document.getElementById('redrawing') };
                 });
                 div.on('plotly_afterplot', () => {
                     if (finished) return; finished = true;
                     // The task after the next frame: the new lines have been painted.
                     requestAnimationFrame(() => setTimeout(() => done({ ms: performance.now() - t0, answer })));
                 });
                 el.value = arguments[0];
                 el.dispatchEvent(new Event('input', { bubbles: true }));",
                vec![serde_json::json!(w)],
            )
            .await
            .unwrap()
            .json()
            .clone();
        let answer = &ms["answer"];
        assert_eq!(
            answer["slider"],
            format!("{:.2}", w.parse::<f64>().unwrap())
        );
        assert_eq!(answer["redrawing"], true);
        let stages = browser
            .driver
            .execute("return window.curvecastRedraw;", vec![])
            .await
            .unwrap()
            .json()
            .clone();
        println!(
            "smoothing -> {w}: slider and \"redrawing...\" in the frame at {:.0} ms, chart redrawn and painted in {:.0} ms (figure, traces, layout, plotly ms: {stages})",
            answer["ms"].as_f64().unwrap(),
            ms["ms"].as_f64().unwrap()
        );
    }
    if std::env::args().any(|a| a == "--profile") {
        profile_smoothing(&browser).await;
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

/// `--profile`: where the time of five smoothing changes goes, from Chromium's sampling
/// profiler (DevTools protocol): the functions with the most self time.
async fn profile_smoothing(browser: &common::Browser) {
    let none = serde_json::json!({});
    let cdp = browser.driver.cdp();
    cdp.send_raw("Profiler.enable", &none).await.unwrap();
    cdp.send_raw(
        "Profiler.setSamplingInterval",
        serde_json::json!({"interval": 200}),
    )
    .await
    .unwrap();
    cdp.send_raw("Profiler.start", &none).await.unwrap();
    for w in ["0.7", "0.4", "0.85", "0.2", "0.6"] {
        browser
            .driver
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const div = document.getElementById('loss-chart');
                 let finished = false;
                 div.on('plotly_afterplot', () => {
                     if (finished) return; finished = true;
                     requestAnimationFrame(() => setTimeout(() => done(0)));
                 });
                 const el = document.getElementById('smoothing');
                 el.value = arguments[0];
                 el.dispatchEvent(new Event('input', { bubbles: true }));",
                vec![serde_json::json!(w)],
            )
            .await
            .unwrap();
    }
    let profile = cdp.send_raw("Profiler.stop", &none).await.unwrap();
    let profile = &profile["profile"];
    let nodes = profile["nodes"].as_array().unwrap();
    let deltas = profile["timeDeltas"].as_array().unwrap();
    let mut self_us = std::collections::HashMap::<i64, f64>::new();
    for (sample, delta) in profile["samples"].as_array().unwrap().iter().zip(deltas) {
        *self_us.entry(sample.as_i64().unwrap()).or_default() += delta.as_f64().unwrap();
    }
    let mut by_function = std::collections::HashMap::<String, f64>::new();
    for node in nodes {
        let frame = &node["callFrame"];
        let url = frame["url"].as_str().unwrap_or("");
        let name = format!(
            "{} ({}:{})",
            frame["functionName"]
                .as_str()
                .filter(|n| !n.is_empty())
                .unwrap_or("(anonymous)"),
            url.rsplit('/').next().unwrap_or(""),
            frame["lineNumber"]
        );
        *by_function.entry(name).or_default() += self_us
            .get(&node["id"].as_i64().unwrap())
            .copied()
            .unwrap_or(0.0);
    }
    let mut top: Vec<_> = by_function.into_iter().collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total: f64 = top.iter().map(|t| t.1).sum();
    println!(
        "profile of five smoothing changes, {:.0} ms sampled; most self time:",
        total / 1e3
    );
    for (name, us) in top.iter().take(25) {
        println!("  {:7.1} ms  {name}", us / 1e3);
    }
}
