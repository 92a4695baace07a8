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
