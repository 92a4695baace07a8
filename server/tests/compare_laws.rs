//! The law comparison end to end, on the demo runs (three schedules drawn from a known
//! momentum law with 0.4% noise): through the API (`"law": "compare"`, a job like a fit)
//! and the CLI (`curvecast compare`). The law the runs were drawn from must rank ahead of
//! the S1 power law, which cannot see an LR decay; the ranking must be sorted; a
//! comparison has nothing to forecast from and refuses held-out runs and fixed parameters.

use std::process::Command;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shared::api::{FitDetail, FitStatus, FitSummary, LawComparison};

mod common;
use common::TestApp;

fn demo(file: &str) -> (&str, Vec<u8>) {
    let path = format!("{}/../fixtures/demo/{file}", env!("CARGO_MANIFEST_DIR"));
    (file, std::fs::read(path).unwrap())
}

async fn post_json(app: &TestApp, uri: &str, body: serde_json::Value) -> (StatusCode, Vec<u8>) {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, _, body) = common::send(&app.router, request).await;
    (status, body)
}

/// Checks what any comparison must satisfy, and that momentum beats the baseline.
fn check(c: &LawComparison, laws: usize) {
    assert_eq!(c.rows.len(), laws, "{c:?}");
    assert_eq!(c.folds.len(), 6, "3 tails + 3 runs left out: {:?}", c.folds);
    let means: Vec<f64> = c.rows.iter().map(|r| r.mean_rel_error.unwrap()).collect();
    assert!(
        means.windows(2).all(|w| w[0] <= w[1]),
        "not ranked: {means:?}"
    );
    let rank = |law: &str| c.rows.iter().position(|r| r.law == law).unwrap();
    assert!(rank("momentum") < rank("power-s1"), "{c:?}");
    let momentum = &c.rows[rank("momentum")];
    // 0.4% noise: the forecast of a hidden part cannot beat the noise by much, and a law
    // that got its sums wrong would be off by percents.
    assert!(momentum.mean_rel_error.unwrap() < 0.006, "{momentum:?}");
    assert!(momentum.worst_rel_error.unwrap() >= momentum.mean_rel_error.unwrap());
    assert_eq!(momentum.fold_errors.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_compares_every_schedule_law_as_a_job() {
    let app = TestApp::new(Default::default());
    let files = [
        demo("demo_constant.csv"),
        demo("demo_cosine.csv"),
        demo("demo_wsd_sqrt.csv"),
    ];
    let ids = common::upload(&app, &files).await;

    // Refusals, on arrival.
    for (request, needle) in [
        (
            serde_json::json!({"law": "compare", "runs": [ids[0], ids[1]], "holdout": [ids[2]]}),
            "holds no run out",
        ),
        (
            serde_json::json!({"law": "compare", "runs": ids, "options": {"laws": ["chinchilla"]}}),
            "not a schedule law",
        ),
        (
            serde_json::json!({"law": "compare", "runs": ids, "options": {"fixed": {"L0": 3.0}}}),
            "one law's parameters",
        ),
        (
            serde_json::json!({"law": "momentum", "runs": ids, "options": {"laws": ["fsl"]}}),
            "lists the laws of a comparison",
        ),
    ] {
        let (status, body) = post_json(&app, "/api/fits", request).await;
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.contains(needle), "{body} lacks {needle}");
    }

    let (status, body) = post_json(
        &app,
        "/api/fits",
        serde_json::json!({"law": "compare", "runs": ids}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let id = serde_json::from_slice::<FitSummary>(&body).unwrap().id;
    let deadline = Instant::now() + Duration::from_secs(600);
    let fit = loop {
        let request = Request::get(format!("/api/fits/{id}"))
            .body(Body::empty())
            .unwrap();
        let (_, _, body) = common::send(&app.router, request).await;
        let fit: FitDetail = serde_json::from_slice(&body).unwrap();
        if !matches!(fit.summary.status, FitStatus::Queued | FitStatus::Running) {
            break fit;
        }
        assert!(
            Instant::now() < deadline,
            "comparison {id} not done in 600 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        fit.summary.status,
        FitStatus::Done,
        "{:?}",
        fit.summary.error
    );
    let report = fit.report.unwrap();
    check(report.comparison.as_ref().unwrap(), 5);
    let text = fit.report_text.unwrap();
    assert!(text.starts_with("[[Law comparison]]"), "{text}");
    assert!(text.contains("demo_cosine: last third"), "{text}");

    let (status, body) = post_json(
        &app,
        &format!("/api/fits/{id}/predict"),
        serde_json::json!({"schedule": "constant:peak=3e-4,total=24000"}),
    )
    .await;
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("law comparison"), "{body}");
}

#[test]
fn cli_compares_the_laws_it_is_given() {
    let demo = format!("{}/../fixtures/demo", env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(env!("CARGO_BIN_EXE_curvecast"))
        .args(["compare", "--laws", "power-s1,momentum", "--json"])
        .args(
            ["demo_constant.csv", "demo_cosine.csv", "demo_wsd_sqrt.csv"]
                .map(|f| format!("{demo}/{f}")),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let c: LawComparison = serde_json::from_slice(&output.stdout).unwrap();
    check(&c, 2);
    assert_eq!(c.rows[0].law, "momentum");

    let output = Command::new(env!("CARGO_BIN_EXE_curvecast"))
        .args([
            "compare",
            "--laws",
            "chinchilla",
            &format!("{demo}/demo_cosine.csv"),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a schedule law"), "{stderr}");
}
