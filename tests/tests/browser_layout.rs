//! In a real browser: the app in dark mode (Chromium started with
//! `--blink-settings=preferredColorScheme=0`, i.e. `prefers-color-scheme: dark`) keeps readable text (WCAG contrast of text on its background,
//! computed from the page's colours), and at 400 px wide no page scrolls sideways and
//! the nav and main controls are reachable with Tab.

mod common;

use common::{csv_100, start_browser_narrow, start_browser_with, start_server};
use thirtyfour::prelude::*;

/// The lowest WCAG contrast ratio of visible text (nav, headings, labels, buttons, table
/// cells) against the first opaque background behind it.
const CONTRAST: &str = "
const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
const lum = ([r, g, b]) => { const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
                             return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
const bg = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
                     if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3); }
                   return [255, 255, 255]; };
let worst = { ratio: 99 };
for (const el of document.querySelectorAll('nav a, h2, h3, label, button, td, th, p, .meta')) {
  if (!el.offsetParent || !el.innerText.trim()) continue;
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg(el))];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < worst.ratio) worst = { ratio, text: el.innerText.slice(0, 40), color: getComputedStyle(el).color, bg: bg(el) };
}
return { worst, body: getComputedStyle(document.body).backgroundColor, dark: matchMedia('(prefers-color-scheme: dark)').matches };";

#[tokio::test(flavor = "multi_thread")]
async fn dark_mode_is_readable_and_a_narrow_window_works_by_keyboard() {
    let server = start_server().await;
    let browser = start_browser_with(&["--blink-settings=preferredColorScheme=0"]).await;
    browser
        .upload(&server.url, &csv_100(&["cosine_24000", "constant_24000"]))
        .await;
    for page in ["runs", "curves", "batch"] {
        browser
            .driver
            .goto(format!("{}/{page}", server.url))
            .await
            .unwrap();
        browser
            .wait_for(
                "the page",
                "return document.querySelector('.page h2, .page h3') !== null;",
            )
            .await;
        if page == "curves" {
            browser
                .wait_for(
                    "the chart",
                    "const c = document.getElementById('loss-chart'); return c && c.data && c.data.length > 0;",
                )
                .await;
        }
        let seen = browser
            .driver
            .execute(CONTRAST, vec![])
            .await
            .unwrap()
            .json()
            .clone();
        assert_eq!(seen["dark"], true, "{seen}");
        let body = seen["body"].as_str().unwrap();
        let sum: f64 = body
            .trim_start_matches("rgb(")
            .trim_end_matches(')')
            .split(',')
            .map(|v| v.trim().parse::<f64>().unwrap())
            .sum();
        assert!(
            sum < 3.0 * 80.0,
            "{page}: dark background expected, got {body}"
        );
        let ratio = seen["worst"]["ratio"].as_f64().unwrap();
        assert!(
            ratio >= 4.5,
            "{page}: contrast {ratio:.2} < 4.5 (WCAG AA): {seen}"
        );
        browser.screenshot(&format!("dark-{page}")).await;
    }
    // The chart's own text follows the scheme.
    browser
        .driver
        .goto(format!("{}/curves", server.url))
        .await
        .unwrap();
    let font = browser
        .wait_for(
            "the dark chart",
            "const c = document.getElementById('loss-chart'); return c && c.layout && c.data.length > 0 && c.layout.font.color;",
        )
        .await;
    assert_eq!(font, "#d8dee9");

    // 400 CSS px wide, light (a new session; the server keeps the runs).
    drop(browser);
    let browser = start_browser_narrow(400).await;
    for (page, controls) in [
        ("runs", &["file-input"][..]),
        (
            "curves",
            &["x-axis", "log-x", "smoothing", "loss-chart-csv"][..],
        ),
        ("fits/new", &["start-fit"][..]),
        (
            "batch",
            &["batch-file", "batch-reference", "hyper-file"][..],
        ),
    ] {
        browser
            .driver
            .goto(format!("{}/{page}", server.url))
            .await
            .unwrap();
        browser
            .wait_for(
                "the controls",
                &format!(
                    "return document.getElementById('{}') !== null;",
                    controls[0]
                ),
            )
            .await;
        let widths = browser
            .driver
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await
            .unwrap()
            .json()
            .clone();
        assert!(
            widths[0].as_f64() <= widths[1].as_f64() && widths[1] == 400,
            "{page}: scrollWidth, innerWidth = {widths}"
        );
        // Tab from the top of the page: every nav link, then the page's controls.
        browser
            .driver
            .execute(
                "document.activeElement && document.activeElement.blur(); window.focus();",
                vec![],
            )
            .await
            .unwrap();
        let mut reached = Vec::new();
        for _ in 0..60 {
            browser
                .driver
                .action_chain()
                .send_keys(Key::Tab)
                .perform()
                .await
                .unwrap();
            let el = browser
                .driver
                .execute(
                    "const e = document.activeElement; return e ? (e.id || e.innerText || e.tagName) : '';",
                    vec![],
                )
                .await
                .unwrap()
                .json()
                .clone();
            reached.push(el.as_str().unwrap_or_default().trim().to_string());
        }
        for want in ["Runs", "Curves", "Fit", "Forecast", "Scaling", "Batch size"]
            .iter()
            .chain(controls)
        {
            assert!(
                reached.iter().any(|r| r == want),
                "{page}: Tab never reached {want}: {reached:?}"
            );
        }
        browser
            .screenshot(&format!("narrow-{}", page.replace('/', "-")))
            .await;
    }
}
