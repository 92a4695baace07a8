//! The fit report as readable text (lmfit's layout), from the same [`FitReport`] that
//! is stored and served as JSON.

use std::fmt::Write as _;

use shared::api::{Coverage, FitReport, RunMetrics};
use shared::extrapolation::{PEAK_TOLERANCE, short};

pub fn text(report: &FitReport) -> String {
    let mut out = String::new();
    let _ = write_text(report, &mut out);
    out
}

fn write_text(r: &FitReport, out: &mut String) -> std::fmt::Result {
    if let Some(c) = &r.comparison {
        return out.write_str(&super::compare::text(c));
    }
    writeln!(out, "[[Law]]\n    {}: {}", r.law, r.form)?;
    writeln!(out, "    settings: {}", r.settings)?;
    writeln!(out, "[[Fit Statistics]]")?;
    writeln!(out, "    objective          = {}", r.objective)?;
    writeln!(out, "    objective value    = {:.6e}", r.objective_value)?;
    writeln!(out, "    data points        = {}", r.n_points)?;
    writeln!(out, "    optimizer          = {}", r.optimizer)?;
    writeln!(
        out,
        "    starts             = {} ({})",
        r.n_starts, r.start_grid
    )?;
    writeln!(out, "    convergence        = {}", r.convergence)?;
    writeln!(out, "    evaluations        = {}", r.evaluations)?;
    writeln!(out, "    AIC                = {:.3}", r.aic)?;
    writeln!(out, "    BIC                = {:.3}", r.bic)?;
    if !r.excluded.is_empty() {
        writeln!(out, "    excluded points:")?;
        for e in &r.excluded {
            writeln!(out, "      - {e}")?;
        }
    }
    if !r.aggregation.is_empty() {
        writeln!(
            out,
            "    binned (mean loss per bin, weighted by its count):"
        )?;
        for a in &r.aggregation {
            writeln!(out, "      - {a}")?;
        }
    }
    writeln!(out, "[[Variables]]")?;
    for p in &r.params {
        write!(out, "    {:<6}: {:<12.6}", p.name, p.value)?;
        match (p.fixed, p.stderr, &p.stderr_missing) {
            (true, _, _) => write!(out, " (fixed)")?,
            (_, Some(se), _) => write!(
                out,
                " +/- {se:<10.4e} ({:.2}%)",
                100.0 * se / p.value.abs().max(f64::MIN_POSITIVE)
            )?,
            (_, None, Some(why)) => write!(out, " +/- ? ({why})")?,
            _ => {}
        }
        if let Some([lo, hi]) = p.ci {
            write!(out, " [{lo:.6}, {hi:.6}]")?;
        }
        writeln!(out, " (init = {})", p.init)?;
    }
    if let Some(b) = &r.bootstrap {
        writeln!(
            out,
            "    intervals: {:.0}% bootstrap percentiles, {} resamples of {} (seed {}, {} failed)",
            100.0 * r.ci_level,
            b.resamples,
            b.unit,
            b.seed,
            b.failed
        )?;
    }
    if !r.derived.is_empty() {
        writeln!(
            out,
            "[[Derived]] (natural units of the log-form parameters, not fitted: value = exp(param), stderr by the delta method, interval = exp of the parameter's)"
        )?;
        for d in &r.derived {
            write!(out, "    {:<6}: {:<12.6}", d.name, d.value)?;
            if let Some(se) = d.stderr {
                write!(
                    out,
                    " +/- {se:<10.4e} ({:.2}%)",
                    100.0 * se / d.value.abs().max(f64::MIN_POSITIVE)
                )?;
            }
            if let Some([lo, hi]) = d.ci {
                write!(out, " [{lo:.6}, {hi:.6}]")?;
            }
            writeln!(out, " = exp({})", d.from)?;
        }
    }
    if !r.correlations.is_empty() {
        writeln!(out, "[[Correlations]] (|corr| > 0.1)")?;
        let mut pairs = Vec::new();
        for a in 0..r.correlations.len() {
            for b in a + 1..r.correlations.len() {
                pairs.push((r.correlations[a][b], a, b));
            }
        }
        pairs.sort_by(|x, y| y.0.abs().total_cmp(&x.0.abs()));
        for (c, a, b) in pairs.into_iter().filter(|p| p.0.abs() > 0.1) {
            writeln!(
                out,
                "    C({}, {}) = {c:+.4}",
                r.correlation_names[a], r.correlation_names[b]
            )?;
        }
    }
    if let Some(reg) = &r.regularisation {
        writeln!(out, "[[Regularisation]]")?;
        writeln!(
            out,
            "    stage 1 (simplified law): {}",
            reg["simplified_form"].as_str().unwrap_or("")
        )?;
        writeln!(
            out,
            "    stage 1 objective = {:.6e}; relative prior strength = {} (strength {:.3e})",
            reg["stage_one_objective"].as_f64().unwrap_or(f64::NAN),
            reg["relative_strength"],
            reg["prior"]["strength"].as_f64().unwrap_or(f64::NAN)
        )?;
        for t in reg["prior"]["terms"].as_array().into_iter().flatten() {
            writeln!(
                out,
                "    prior: {} ~ N({}{}, sd {}{})",
                t["name"].as_str().unwrap_or("?"),
                if t["log"] == true { "ln " } else { "" },
                t["center"],
                t["scale"],
                if t["log"] == true { " in ln" } else { "" }
            )?;
        }
        if let Some(cv) = reg.get("cross_validation").filter(|v| !v.is_null()) {
            writeln!(
                out,
                "    leave-one-run-out cross-validation (relative strength: mean rel error of the left-out run):"
            )?;
            let strengths = cv["strengths"].as_array().cloned().unwrap_or_default();
            let scores = cv["scores"].as_array().cloned().unwrap_or_default();
            for (s, e) in strengths.iter().zip(&scores) {
                writeln!(out, "      {s:<8} {:.6}", e.as_f64().unwrap_or(f64::NAN))?;
            }
        }
    }
    if let Some(id) = &r.identifiability {
        writeln!(
            out,
            "[[Identifiability]] (data only; ratio = profile sd / conditional sd)"
        )?;
        for p in id["params"].as_array().into_iter().flatten() {
            let fmt = |v: &serde_json::Value| {
                v.as_f64()
                    .map_or("unbounded".to_string(), |x| format!("{x:.4e}"))
            };
            writeln!(
                out,
                "    {:<6}: profile sd {:<11} conditional sd {:<11} ratio {}",
                p["name"].as_str().unwrap_or("?"),
                fmt(&p["profile_sd"]),
                fmt(&p["conditional_sd"]),
                p["ratio"]
                    .as_f64()
                    .map_or("-".to_string(), |x| format!("{x:.1}"))
            )?;
        }
    }
    if let Some(c) = &r.coverage {
        coverage(out, c)?;
    }
    metrics_table(out, "[[Fitted runs]]", &r.train)?;
    metrics_table(out, "[[Held-out runs]]", &r.holdout)?;
    if !r.warnings.is_empty() {
        writeln!(out, "[[Warnings]]")?;
        for w in &r.warnings {
            writeln!(out, "    - {w}")?;
        }
    }
    Ok(())
}

/// What the fitted runs cover; forecasts outside it carry warnings (`shared::extrapolation`).
fn coverage(out: &mut String, c: &Coverage) -> std::fmt::Result {
    writeln!(out, "[[Coverage]] (forecasts outside it carry warnings)")?;
    let [lo, hi] = c.peak_lr;
    let range = if lo == hi {
        short(lo)
    } else {
        format!("{} to {}", short(lo), short(hi))
    };
    writeln!(
        out,
        "    peak LR            = {range} (+/- {}%)",
        100.0 * PEAK_TOLERANCE
    )?;
    writeln!(
        out,
        "    longest run        = last step {} (forecasts up to {} steps)",
        c.last_step,
        c.horizon_limit()
    )?;
    writeln!(out, "    schedule families  = {}", c.families.join(", "))?;
    for run in &c.runs {
        writeln!(
            out,
            "      - {}: peak LR {}, last step {}, {}",
            run.run,
            short(run.peak_lr),
            run.last_step,
            run.family
        )?;
    }
    Ok(())
}

fn metrics_table(out: &mut String, title: &str, rows: &[RunMetrics]) -> std::fmt::Result {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out, "{title}")?;
    writeln!(
        out,
        "    {:<24} {:>6} {:>9} {:>10} {:>10} {:>10} {:>10}",
        "run", "points", "R^2", "MAE", "RMSE", "mean rel", "worst rel"
    )?;
    for m in rows {
        let r2 = m.r2.map_or("-".to_string(), |v| format!("{v:.6}"));
        writeln!(
            out,
            "    {:<24} {:>6} {:>9} {:>10.6} {:>10.6} {:>10.6} {:>10.6}",
            m.run, m.n_points, r2, m.mae, m.rmse, m.mean_rel_error, m.worst_rel_error
        )?;
    }
    Ok(())
}
