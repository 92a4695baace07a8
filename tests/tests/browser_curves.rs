//! In a real browser, on the published multi-power-law runs (csv_100): the Curves page
//! smooths with TensorBoard's debiased EMA, draws the LR in a linked panel, keeps the
//! zoom across a smoothing change, and exports as CSV exactly the API's values.

mod common;

use common::{csv_100, start_browser, start_server};
use shared::display::debiased_ema;

#[tokio::test(flavor = "multi_thread")]
async fn curves_smooth_zoom_and_export_the_api_values() {
    let server = start_server().await;
    let browser = start_browser().await;
    let files = csv_100(&["cosine_24000", "constant_24000", "wsdcon_3"]);
    browser.upload(&server.url, &files).await;
    let ids = browser.run_ids().await;
    assert_eq!(ids.len(), 3, "{ids:?}");

    browser.click(thirtyfour::By::LinkText("Curves")).await;
    browser
        .wait_for(
            "three curves with their LR panel",
            "const c = document.getElementById('loss-chart');
             return c && c.data && c.layout.yaxis2 && c.data.filter(t => t.yaxis === 'y2').length === 3
                 && c.data.filter(t => !t.name.endsWith('(raw)') && t.yaxis !== 'y2').length === 3;",
        )
        .await;

    // Box-zoom with the mouse (a horizontal drag zooms x), then change the smoothing:
    // the zoom stays, the values follow the slider.
    let x_range = async || -> Vec<f64> {
        let range = browser
            .driver
            .execute(
                "return document.getElementById('loss-chart').layout.xaxis.range;",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(range.json().clone()).unwrap()
    };
    let full = x_range().await;
    let plot = browser
        .driver
        .find(thirtyfour::By::Css("#loss-chart .nsewdrag"))
        .await
        .unwrap();
    browser
        .driver
        .action_chain()
        .move_to_element_center(&plot)
        .move_by_offset(-250, 0)
        .click_and_hold()
        .move_by_offset(150, 2)
        .move_by_offset(150, 2)
        .release()
        .perform()
        .await
        .unwrap();
    let zoomed = x_range().await;
    assert!(
        zoomed[0] > full[0]
            && zoomed[1] < full[1]
            && zoomed[1] - zoomed[0] < 0.5 * (full[1] - full[0]),
        "the drag did not zoom: {full:?} -> {zoomed:?}"
    );
    browser.set_value("smoothing", "0.9").await;
    let cosine = ids["cosine_24000"];
    let api = browser
        .api("GET", &format!("/api/runs/{cosine}"), None)
        .await;
    let values: Vec<f64> = serde_json::from_value(api["points"]["loss"]["values"].clone()).unwrap();
    let steps: Vec<f64> = serde_json::from_value(api["points"]["loss"]["steps"].clone()).unwrap();
    let expected = debiased_ema(&values, 0.9);
    let script = format!(
        "const c = document.getElementById('loss-chart');
         const t = c.data.find(t => t.name === 'cosine_24000');
         const raw = c.data.find(t => t.name === 'cosine_24000 (raw)');
         return t && raw && Math.abs(t.y[20] - {}) < 1e-12
             ? {{ y: t.y, range: c.layout.xaxis.range, opacity: raw.opacity }} : null;",
        expected[20]
    );
    let shown = browser.wait_for("the smoothed curve at 0.9", &script).await;
    let shown_y: Vec<f64> = serde_json::from_value(shown["y"].clone()).unwrap();
    assert_eq!(shown_y.len(), expected.len());
    for (a, b) in shown_y.iter().zip(&expected) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    let kept: Vec<f64> = serde_json::from_value(shown["range"].clone()).unwrap();
    assert_eq!(kept, zoomed, "the zoom was lost");
    assert!(
        shown["opacity"].as_f64().unwrap() < 0.5,
        "the raw curve is not faint"
    );
    browser.screenshot("curves-smoothing").await;

    // CSV export: exactly the API's points and their smoothed values, long format.
    browser.click(thirtyfour::By::Id("loss-chart-csv")).await;
    let csv = browser.downloaded("loss-chart.csv").await;
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("run,step,loss,smoothed"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let cosine_rows: Vec<&Vec<&str>> = rows.iter().filter(|r| r[0] == "cosine_24000").collect();
    assert_eq!(cosine_rows.len(), values.len());
    for (i, row) in cosine_rows.iter().enumerate() {
        assert_eq!(row[1].parse::<f64>().unwrap(), steps[i]);
        assert_eq!(row[2].parse::<f64>().unwrap(), values[i]);
        assert!((row[3].parse::<f64>().unwrap() - expected[i]).abs() < 1e-12);
    }
    assert!(
        rows.iter().any(|r| r[0] == "wsdcon_3") && rows.iter().any(|r| r[0] == "constant_24000")
    );

    // A double click resets the zoom, and the reset too survives a smoothing change.
    browser
        .driver
        .action_chain()
        .move_to_element_center(&plot)
        .double_click()
        .perform()
        .await
        .unwrap();
    let full_again = format!(
        "const r = document.getElementById('loss-chart').layout.xaxis.range;
         return Math.abs(r[0] - {}) < 1e-6 && Math.abs(r[1] - {}) < 1e-6;",
        full[0], full[1]
    );
    browser
        .wait_for("the full x range after a double click", &full_again)
        .await;
    browser.set_value("smoothing", "0.5").await;
    browser
        .wait_for(
            "the smoothed curve at 0.5",
            &format!(
                "const t = document.getElementById('loss-chart').data.find(t => t.name === 'cosine_24000');
                 return Math.abs(t.y[20] - {}) < 1e-12;",
                debiased_ema(&values, 0.5)[20]
            ),
        )
        .await;
    browser
        .wait_for("the full x range after smoothing", &full_again)
        .await;

    // Log x on the token axis is not available for these runs (no tokens): a note says so.
    browser.set_value("x-axis", "tokens").await;
    browser
        .wait_for(
            "a note on the missing tokens",
            "return document.querySelector('.curves-page .notes').innerText.includes('has no tokens');",
        )
        .await;
    browser.screenshot("curves-no-tokens").await;
}
