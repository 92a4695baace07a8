//! Goodness of fit of one run: R^2, MAE, RMSE, mean and worst relative error.

use shared::api::RunMetrics;

pub fn run_metrics(run: &str, observed: &[f64], predicted: &[f64]) -> RunMetrics {
    let n = observed.len();
    let mean = observed.iter().sum::<f64>() / n.max(1) as f64;
    let (mut ss_res, mut ss_tot, mut abs, mut rel, mut worst) = (0.0, 0.0, 0.0, 0.0, 0.0f64);
    for (&y, &f) in observed.iter().zip(predicted) {
        let e = y - f;
        ss_res += e * e;
        ss_tot += (y - mean) * (y - mean);
        abs += e.abs();
        let r = (e / y).abs();
        rel += r;
        worst = worst.max(r);
    }
    let nf = n.max(1) as f64;
    RunMetrics {
        run: run.to_string(),
        n_points: n,
        r2: (ss_tot > 0.0).then(|| 1.0 - ss_res / ss_tot),
        mae: abs / nf,
        rmse: (ss_res / nf).sqrt(),
        mean_rel_error: rel / nf,
        worst_rel_error: worst,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn perfect_and_known_errors() {
        let m = super::run_metrics("a", &[2.0, 4.0], &[2.0, 4.0]);
        assert_eq!(
            (m.r2, m.mae, m.rmse, m.worst_rel_error),
            (Some(1.0), 0.0, 0.0, 0.0)
        );
        let m = super::run_metrics("a", &[2.0, 4.0], &[1.0, 4.0]);
        assert_eq!(
            (m.mae, m.mean_rel_error, m.worst_rel_error),
            (0.5, 0.25, 0.5)
        );
        assert!((m.r2.unwrap() - 0.5).abs() < 1e-12); // 1 - 1/2
    }
}
