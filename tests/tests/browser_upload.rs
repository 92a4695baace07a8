//! In a real browser: pick a CSV with the file button, check the preview's roles, import,
//! see its curve in the chart; rename and delete the run.

mod common;

use common::{start_browser, start_server};

#[tokio::test(flavor = "multi_thread")]
async fn uploading_a_csv_plots_its_points() {
    let server = start_server().await;
    let browser = start_browser().await;
    browser
        .driver
        .goto(format!("{}/runs", server.url))
        .await
        .unwrap();
    browser
        .wait_for(
            "the app",
            "return document.getElementById('file-input') !== null",
        )
        .await;

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("browser-run.csv");
    let mut text = String::from("step,lr,loss\n");
    for step in 1..=250 {
        text.push_str(&format!(
            "{},{},{}\n",
            step * 10,
            3e-4,
            2.5 + 8.0 / (step as f64).sqrt()
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let input = browser
        .driver
        .find(thirtyfour::By::Id("file-input"))
        .await
        .unwrap();
    input.send_keys(csv.to_str().unwrap()).await.unwrap();
    // The preview names the detected roles before anything is stored.
    let roles = browser
        .wait_for(
            "the preview's roles",
            "const s = Array.from(document.querySelectorAll('#preview select[data-column]'));
             return s.length === 3 ? Object.fromEntries(s.map(x => [x.dataset.column, x.value])) : null;",
        )
        .await;
    assert_eq!(
        roles,
        serde_json::json!({"step": "step", "lr": "lr", "loss": "loss"})
    );
    assert_eq!(browser.run_ids().await.len(), 0, "the preview stored runs");
    browser.screenshot("upload-preview").await;
    browser.import().await;

    browser
        .wait_for(
            "the import",
            "const n = document.getElementById('upload-notes'); return n && n.innerText.includes('Imported');",
        )
        .await;
    // The run is listed on the Runs page, ticked; the Curves page plots it.
    let listed = browser
        .wait_for(
            "the run list",
            "return document.getElementById('run-list').innerText",
        )
        .await;
    assert!(listed.as_str().unwrap().contains("browser-run"), "{listed}");
    browser.click(thirtyfour::By::LinkText("Curves")).await;
    // The chart holds the (smoothed, debiased: first point unchanged) trace named after
    // the file with all 250 points.
    let trace = browser
        .wait_for(
            "the uploaded curve",
            "const c = document.getElementById('loss-chart');
             const t = c && c.data && c.data.find(t => t.name === 'browser-run');
             return t ? { n: t.x.length, first: t.y[0], last_x: t.x[t.x.length - 1] } : null;",
        )
        .await;
    assert_eq!(trace["n"], 250);
    assert_eq!(trace["last_x"], 2500.0);
    assert!((trace["first"].as_f64().unwrap() - 10.5).abs() < 1e-12);

    // The log-x toggle switches the axis type.
    browser.click(thirtyfour::By::Id("log-x")).await;
    browser
        .wait_for(
            "a log x axis",
            "return document.getElementById('loss-chart').layout.xaxis.type === 'log'",
        )
        .await;
    browser.screenshot("upload-csv").await;

    // Rename, then delete, from the Runs page.
    let id = browser.run_ids().await["browser-run"];
    browser.click(thirtyfour::By::LinkText("Runs")).await;
    browser
        .wait_for(
            "the rename button",
            "return document.querySelector('button[aria-label=\"rename browser-run\"]');",
        )
        .await;
    browser
        .click(thirtyfour::By::Css(
            "button[aria-label='rename browser-run']",
        ))
        .await;
    let field = browser
        .driver
        .find(thirtyfour::By::Id(format!("rename-{id}")))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys("renamed-run").await.unwrap();
    field.send_keys(thirtyfour::Key::Enter).await.unwrap();
    browser
        .wait_for(
            "the new name",
            "return document.getElementById('run-list').innerText.includes('renamed-run');",
        )
        .await;
    assert!(browser.run_ids().await.contains_key("renamed-run"));
    browser
        .click(thirtyfour::By::Id(format!("delete-{id}")))
        .await;
    browser
        .wait_for(
            "the empty list",
            "return document.getElementById('run-list').innerText.includes('renamed-run') ? null : true;",
        )
        .await;
    assert!(browser.run_ids().await.is_empty());
}
