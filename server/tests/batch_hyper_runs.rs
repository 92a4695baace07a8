//! `/api/hyper/fit` on uploaded runs over the real router: a synthetic LR x batch sweep with
//! known optima (`eta_opt = 0.01 (N/1e8)^-0.5 (D/2^31)^0.3`, `B_opt = 2^20 (D/2^31)^0.5`
//! tokens) uploaded as loss curves with a decaying LR schedule, then fitted from the stored
//! runs; and the errors for a run that lacks what a row needs.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use server::api::Config;
use server::rng::SplitMix64;
use shared::api::batch::HyperResponse;
use shared::api::{ErrorResponse, UploadResponse};

mod common;

const D0: f64 = 2147483648.0; // 2^31

fn lr_opt(n: f64, d: f64) -> f64 {
    0.01 * (n / 1e8).powf(-0.5) * (d / D0).powf(0.3)
}

fn b_opt(d: f64) -> f64 {
    2f64.powi(20) * (d / D0).powf(0.5)
}

/// A long CSV of the sweep: per run 5 logged points; the loss falls linearly to its final
/// value, the LR decays from its peak (the first point) to 10% of it.
fn sweep_csv() -> String {
    let mut rng = SplitMix64(11);
    let mut out = String::from("run,step,loss,lr,batch_size,n_params,tokens\n");
    for n in [1e8f64, 3e8, 1e9] {
        for d in [D0, 4.0 * D0] {
            let l_best = 2.0 + 400.0 / n.powf(0.34) + 400.0 / d.powf(0.28);
            for i in -3..=3 {
                let lr = lr_opt(n, d) * (0.35 * i as f64).exp();
                for k in 17..=24 {
                    let b = 2f64.powi(k);
                    let u = ((lr / lr_opt(n, d)).ln(), (b / b_opt(d)).ln());
                    let noise = 1.0 + 3e-4 * rng.normal();
                    let last = l_best * (1.0 + 0.02 * u.0 * u.0 + 0.01 * u.1 * u.1) * noise;
                    let steps = d / b;
                    for j in 1..=5 {
                        // Steps are whole numbers (ingestion refuses others); the last
                        // point is exact, so D = the last tokens is unchanged.
                        let step = (steps * j as f64 / 5.0).round();
                        let loss = last + 0.5 * (1.0 - j as f64 / 5.0);
                        let lr_now = lr * (1.0 - 0.9 * (j - 1) as f64 / 4.0);
                        out.push_str(&format!(
                            "n{n:e}_d{d:e}_lr{i}_b{k},{step},{loss},{lr_now},{b},{n},{}\n",
                            step * b
                        ));
                    }
                }
            }
        }
    }
    out
}

fn post_json(uri: &str, body: serde_json::Value) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn upload(router: &axum::Router, name: &str, csv: &str) -> Vec<i64> {
    let (status, _, bytes) =
        common::send(router, common::multipart("/api/runs", &[(name, csv)], None)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let up: UploadResponse = serde_json::from_slice(&bytes).unwrap();
    up.runs.iter().map(|r| r.id).collect()
}

#[tokio::test]
async fn hyper_laws_from_uploaded_runs() {
    let app = common::TestApp::new(Config::default());
    let router = app.router.clone();
    let ids = upload(&router, "sweep.csv", &sweep_csv()).await;
    assert_eq!(ids.len(), 6 * 7 * 8);

    let (status, _, bytes) = common::send(
        &router,
        post_json(
            "/api/hyper/fit",
            serde_json::json!({"run_ids": ids, "options": {"bootstrap": 100}}),
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let r: HyperResponse = serde_json::from_slice(&bytes).unwrap();
    assert!(r.method[0].contains("largest logged LR"), "{:?}", r.method);
    assert_eq!(r.cells.len(), 6);
    for c in &r.cells {
        let (n, d) = (c.n_params.unwrap(), c.tokens.unwrap());
        assert_eq!(c.n_runs, 56);
        // Each cell's optimum within 5% (LR) and 5% (batch) of the truth.
        assert!((c.lr_opt / lr_opt(n, d) - 1.0).abs() < 0.05, "{c:?}");
        assert!((c.batch_opt_tokens / b_opt(d) - 1.0).abs() < 0.05, "{c:?}");
    }
    // The power laws: exponents within 0.05 of the truth, with bootstrap intervals around
    // the estimates (6 cells are too few to ask the truth inside on one seed).
    let lr = r.lr_vs_nd.as_ref().unwrap();
    let b = r.batch_vs_d.as_ref().unwrap();
    for (what, e, truth) in [
        ("eta_opt N exponent", &lr.a, -0.5),
        ("eta_opt D exponent", &lr.b, 0.3),
        ("B_opt D exponent", &b.exponent, 0.5),
    ] {
        let [lo, hi] = e.ci.unwrap();
        assert!((e.value - truth).abs() < 0.05, "{what}: {e:?}");
        assert!(lo <= e.value && e.value <= hi, "{what}: {e:?}");
        eprintln!("{what}: {e:?} (truth {truth})");
    }

    // The mean of the last 3 points shifts every loss alike (the curves fall linearly by the
    // same amount): the optima stay where they are; the best losses rise by 0.1.
    let (status, _, bytes) = common::send(
        &router,
        post_json(
            "/api/hyper/fit",
            serde_json::json!({"run_ids": ids, "final_points": 3, "options": {"bootstrap": 20}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let r3: HyperResponse = serde_json::from_slice(&bytes).unwrap();
    for (a, c) in r.cells.iter().zip(&r3.cells) {
        assert!(
            (c.best_loss - a.best_loss - 0.1).abs() < 1e-9,
            "{a:?} {c:?}"
        );
        assert_eq!((c.best_lr, c.best_batch), (a.best_lr, a.best_batch));
    }

    // A run without a model size, an unknown id, and final_points 0: 422 naming what.
    let bare = upload(
        &router,
        "bare.csv",
        "run,step,loss,lr,batch_size\nbare,1,3.0,0.01,64\nbare,2,2.9,0.01,64\n",
    )
    .await;
    for (body, words) in [
        (
            serde_json::json!({"run_ids": bare}),
            "run 'bare' has no model size",
        ),
        (
            serde_json::json!({"run_ids": [999_999]}),
            "no run with id 999999",
        ),
        (
            serde_json::json!({"run_ids": ids, "final_points": 0}),
            "final_points",
        ),
    ] {
        let (status, _, bytes) = common::send(&router, post_json("/api/hyper/fit", body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let e: ErrorResponse = serde_json::from_slice(&bytes).unwrap();
        assert!(e.error.message.contains(words), "{}", e.error.message);
    }
}

#[test]
fn hyper_from_run_logs_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sweep.csv");
    std::fs::write(&path, sweep_csv()).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_curvecast"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[
        "hyper",
        "--json",
        "--bootstrap",
        "20",
        "--runs",
        path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: HyperResponse = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r.cells.len(), 6);
    assert!(r.method[0].contains("last 1 logged"), "{:?}", r.method);
    let b = r.batch_vs_d.unwrap();
    assert!((b.exponent.value - 0.5).abs() < 0.05, "{b:?}");
    // Neither a table nor run logs: a usage error.
    assert!(!run(&["hyper"]).status.success());
}
