//! The fit report as readable text (lmfit's layout), from the same [`FitReport`] that
//! is stored and served as JSON.

use std::fmt::Write as _;

use shared::api::{FitReport, RunMetrics};

pub fn text(report: &FitReport) -> String {
    let mut out = String::new();
    let _ = write_text(report, &mut out);
    out
}

fn write_text(r: &FitReport, out: &mut String) -> std::fmt::Result {
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
