//! In a real browser: with a momentum fit of published runs (csv_100), the Forecast
//! page recomputes a candidate's curve in the browser as a schedule field changes (no
//! request), and its values equal the server's `/predict` for the same schedule; the
//! candidates live in the address, which a fresh session reopens to the same curves.

mod common;

use common::{csv_100, start_browser, start_server};

#[tokio::test(flavor = "multi_thread")]
async fn moving_a_schedule_field_changes_the_forecast_in_the_browser() {
    let server = start_server().await;
    let browser = start_browser().await;
    let files = csv_100(&["cosine_24000", "constant_24000"]);
    browser.upload(&server.url, &files).await;
    let ids = browser.run_ids().await;
    let fit = browser
        .fit_done(serde_json::json!({
            "law": "momentum", "runs": [ids["cosine_24000"], ids["constant_24000"]],
            "options": { "bootstrap": 8 }
        }))
        .await;
    let id = fit["id"].as_i64().unwrap();

    browser
        .driver
        .goto(format!("{}/forecast?fit={id}", server.url))
        .await
        .unwrap();
    let final_of = "const f = document.getElementById('cand-0-result'); const c = document.getElementById('forecast-chart');
                    const t = c && c.data && c.data.find(t => t.name === 'candidate 1');
                    return f && t && parseFloat(f.innerText) > 0 ? { text: f.innerText, y: t.y, x: t.x } : null;";
    let before = browser.wait_for("the first forecast", final_of).await;
    browser.screenshot("forecast-before").await;
    // API requests only (Chrome asks for the favicon again when the address is updated).
    let requests = "return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/')).length;";
    let n_requests = browser
        .driver
        .execute(requests, vec![])
        .await
        .unwrap()
        .json()
        .clone();

    // Candidate 1 is a cosine to 3e-5; decaying only to 1e-4 ends at a higher loss.
    browser.set_value("cand-0-final", "1e-4").await;
    let script = format!(
        "const f = document.getElementById('cand-0-result');
         return f && f.innerText !== {:?} ? true : null;",
        before["text"].as_str().unwrap()
    );
    browser.wait_for("the updated forecast", &script).await;
    let after = browser.wait_for("the updated curve", final_of).await;
    let (b, a) = (
        before["text"].as_str().unwrap().parse::<f64>().unwrap(),
        after["text"].as_str().unwrap().parse::<f64>().unwrap(),
    );
    assert!(
        a > b,
        "final loss {b} -> {a}: a higher final LR should end higher"
    );
    let n_after = browser
        .driver
        .execute(requests, vec![])
        .await
        .unwrap()
        .json()
        .clone();
    assert_eq!(n_requests, n_after, "the forecast asked the server");
    browser.screenshot("forecast-after").await;

    // Same numbers as the server's forecast for that schedule (same shared law code).
    let server_points = browser
        .api(
            "POST",
            &format!("/api/fits/{id}/predict"),
            Some(serde_json::json!({
                "schedule": "cosine:peak=3e-4,final=1e-4,warmup=2160,total=24000", "every": 60
            })),
        )
        .await;
    // The page draws from the end of warmup (step 2160) on.
    let server_points: Vec<&serde_json::Value> = server_points
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["step"].as_f64().unwrap() >= 2160.0)
        .collect();
    let (xs, ys) = (
        after["x"].as_array().unwrap(),
        after["y"].as_array().unwrap(),
    );
    assert_eq!(server_points.len(), xs.len());
    assert_eq!(xs[0], 2160.0);
    for (p, (x, y)) in server_points.iter().zip(xs.iter().zip(ys)) {
        assert_eq!(p["step"].as_f64(), x.as_f64());
        let (s, b) = (p["loss"].as_f64().unwrap(), y.as_f64().unwrap());
        assert!(
            (s - b).abs() < 1e-12 * s.abs(),
            "step {x}: server {s}, browser {b}"
        );
    }

    // A bad field is named next to the candidate; the other candidate still forecasts.
    browser.set_value("cand-0-warmup", "-5").await;
    let message = browser
        .wait_for(
            "the field error",
            "const f = document.getElementById('cand-0-result'); return f && isNaN(parseFloat(f.innerText)) && f.innerText;",
        )
        .await;
    assert!(message.as_str().unwrap().contains("warmup"), "{message}");
    let best = browser
        .driver
        .execute(
            "return document.getElementById('best-candidate').innerText;",
            vec![],
        )
        .await
        .unwrap()
        .json()
        .clone();
    assert_eq!(best, "Best: candidate 2 (lowest final loss)");
    browser.screenshot("forecast-bad-field").await;

    // The address holds the candidates: a fresh session (no state) opens the same forecast.
    browser.set_value("cand-0-warmup", "2160").await;
    browser.click(thirtyfour::By::Id("add-candidate")).await;
    browser.set_value("cand-2-family", "linear").await;
    browser.set_value("cand-2-total", "30000").await;
    let curves = "const c = document.getElementById('forecast-chart');
                  const t = c && c.data && c.data.filter(t => /^candidate \\d+$/.test(t.name));
                  const v = [0, 1, 2].map(i => ['family', 'peak', 'final', 'warmup', 'total', 'decay', 'shape']
                      .map(k => document.getElementById(`cand-${i}-${k}`)?.value).join(' '));
                  return t && t.length === 3 && t[2].x[t[2].x.length - 1] > 29000 ? { fields: v, y: t.map(t => t.y) } : null;";
    let shown = browser.wait_for("three candidates", curves).await;
    let url = browser
        .driver
        .execute("return location.href;", vec![])
        .await
        .unwrap()
        .json()
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        url.contains(&format!("fit={id}")) && url.contains("c="),
        "{url}"
    );
    drop(browser);
    let fresh = start_browser().await;
    fresh.driver.goto(&url).await.unwrap();
    let reopened = fresh.wait_for("the shared forecast", curves).await;
    assert_eq!(reopened["fields"], shown["fields"]);
    assert_eq!(
        reopened["fields"][2], "linear 3e-4 3e-5 2160 30000 0.2 sqrt",
        "{reopened}"
    );
    assert_eq!(reopened["y"], shown["y"], "the same curves");
    fresh.screenshot("forecast-from-url").await;
}
