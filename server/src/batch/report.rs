//! The analysis as text (CLI) and as CSV (one row per model and target).

use std::fmt::Write;

use shared::api::batch::{AnalyzeResponse, Estimate, PowerFit};

fn est(e: &Estimate) -> String {
    match e.ci {
        Some([lo, hi]) => format!("{} [{}, {}]", g(e.value), g(lo), g(hi)),
        None => format!("{} [no interval]", g(e.value)),
    }
}

/// Four significant digits.
pub fn g(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) {
        format!("{v:.4e}")
    } else {
        let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
        format!("{v:.digits$}")
    }
}

fn power(name: &str, p: &PowerFit) -> String {
    format!(
        "{name}: {}  with k = {}, a = {}  ({} models)\n",
        p.form,
        est(&p.k),
        est(&p.exponent),
        p.n_points
    )
}

pub fn to_text(r: &AnalyzeResponse) -> String {
    let mut out = String::new();
    let level = r.ci_level * 100.0;
    for m in &r.models {
        let n = m
            .n_params
            .map_or(String::new(), |n| format!(" (N = {})", g(n)));
        let _ = writeln!(out, "model {}{n}", m.model);
        let _ = writeln!(
            out,
            "  {:>10}  {:>32}  {:>36}  {:>32}  {:>32}",
            "target L",
            format!("S_min [{level}% CI]"),
            "E_min",
            "B_crit = E_min/S_min",
            "zhang_cbs"
        );
        for t in &m.targets {
            let target = t.target_loss.map_or("-".into(), g);
            let _ = writeln!(
                out,
                "  {:>10}  {:>32}  {:>36}  {:>32}  {:>32}",
                target,
                est(&t.s_min),
                est(&t.e_min),
                est(&t.b_crit),
                est(&t.zhang_cbs.cbs)
            );
        }
        if let Some(l) = &m.b_crit_law {
            let _ = writeln!(
                out,
                "  B_crit(L) = B* / L^(1/alpha_B): B* = {}, alpha_B = {}",
                est(&l.b_star),
                est(&l.alpha_b)
            );
        }
    }
    if let Some(l) = &r.b_crit_law {
        let _ = writeln!(
            out,
            "all models: B_crit(L) = B* / L^(1/alpha_B): B* = {}, alpha_B = {} ({} targets)",
            est(&l.b_star),
            est(&l.alpha_b),
            l.n_points
        );
    }
    if let Some(p) = &r.cbs_vs_n {
        out.push_str(&power("Zhang CBS vs N", p));
    }
    if let Some(p) = &r.b_crit_vs_n {
        out.push_str(&power("McCandlish B_crit vs N", p));
    }
    for m in &r.method {
        let _ = writeln!(out, "method: {m}");
    }
    for w in &r.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// One row per model and target, with each estimate's value and interval.
pub fn to_csv(r: &AnalyzeResponse) -> String {
    let mut out = String::from(
        "model,n_params,target_loss,n_batches,s_min,s_min_lo,s_min_hi,e_min,e_min_lo,e_min_hi,b_crit,b_crit_lo,b_crit_hi,zhang_reference_batch,zhang_cbs,zhang_cbs_lo,zhang_cbs_hi\n",
    );
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    let e = |e: &Estimate| {
        format!(
            "{},{},{}",
            e.value,
            opt(e.ci.map(|c| c[0])),
            opt(e.ci.map(|c| c[1]))
        )
    };
    for m in &r.models {
        let model = if m.model.contains([',', '"', '\n']) {
            format!("\"{}\"", m.model.replace('"', "\"\""))
        } else {
            m.model.clone()
        };
        for t in &m.targets {
            let _ = writeln!(
                out,
                "{model},{},{},{},{},{},{},{},{}",
                opt(m.n_params),
                opt(t.target_loss),
                t.points.len(),
                e(&t.s_min),
                e(&t.e_min),
                e(&t.b_crit),
                t.zhang_cbs.reference_batch,
                e(&t.zhang_cbs.cbs)
            );
        }
    }
    out
}

/// One row per cell: the best observed and the smooth optimum.
pub fn hyper_csv(r: &shared::api::batch::HyperResponse) -> String {
    let mut out = String::from(
        "n_params,tokens,compute,n_runs,n_used,best_lr,best_batch,best_loss,lr_opt,batch_opt_tokens,loss_opt,source\n",
    );
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for c in &r.cells {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},\"{}\"",
            opt(c.n_params),
            opt(c.tokens),
            c.compute,
            c.n_runs,
            c.n_used,
            c.best_lr,
            c.best_batch,
            c.best_loss,
            c.lr_opt,
            c.batch_opt_tokens,
            c.loss_opt,
            c.source.replace('"', "'")
        );
    }
    out
}

pub fn hyper_text(r: &shared::api::batch::HyperResponse) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12} {:>12} {:>6} {:>10} {:>10} {:>10} {:>12} {:>10}  source",
        "N", "D", "runs", "best lr", "best B", "lr_opt", "B_opt tok", "loss_opt"
    );
    for c in &r.cells {
        let _ = writeln!(
            out,
            "{:>12} {:>12} {:>6} {:>10} {:>10} {:>10} {:>12} {:>10}  {}",
            c.n_params.map_or("-".into(), g),
            c.tokens.map_or("-".into(), g),
            c.n_runs,
            g(c.best_lr),
            g(c.best_batch),
            g(c.lr_opt),
            g(c.batch_opt_tokens),
            g(c.loss_opt),
            c.source
        );
    }
    if let Some(f) = &r.lr_vs_nd {
        let _ = writeln!(
            out,
            "{}: k = {}, a = {}, b = {} ({} cells)",
            f.form,
            est(&f.k),
            est(&f.a),
            est(&f.b),
            f.n_points
        );
    }
    for (name, p) in [
        ("B_opt(D)", &r.batch_vs_d),
        ("eta_opt(C)", &r.lr_vs_c),
        ("B_opt(C)", &r.batch_vs_c),
    ] {
        if let Some(p) = p {
            out.push_str(&power(name, p).replace(" models)", " cells)"));
        }
    }
    for m in &r.method {
        let _ = writeln!(out, "method: {m}");
    }
    for w in &r.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}
