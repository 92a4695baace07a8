//! Confidence intervals from standard errors: Student-t quantiles (small samples: a
//! McCandlish fit has a handful of batch sizes) and the delta method for ratios.

use shared::api::batch::Estimate;

/// `ln Gamma(x)` (Lanczos, g = 7), x > 0.
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    let x = x - 1.0;
    let t = x + 7.5;
    let sum: f64 = C[0] + (1..9).map(|i| C[i] / (x + i as f64)).sum::<f64>();
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// P(0 <= T <= x) for Student's t with `dof` degrees of freedom (Simpson's rule).
fn t_half_mass(x: f64, dof: f64) -> f64 {
    let c = (ln_gamma((dof + 1.0) / 2.0) - ln_gamma(dof / 2.0)).exp()
        / (dof * std::f64::consts::PI).sqrt();
    let pdf = |t: f64| c * (1.0 + t * t / dof).powf(-(dof + 1.0) / 2.0);
    let n = 400;
    let h = x / n as f64;
    let mut s = pdf(0.0) + pdf(x);
    for i in 1..n {
        s += pdf(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

/// The two-sided `level` quantile of Student's t (e.g. 2.365 for 95% and 7 dof).
pub fn t_quantile(level: f64, dof: usize) -> f64 {
    let (dof, half) = (dof.max(1) as f64, level.clamp(0.5, 0.9999) / 2.0);
    let (mut lo, mut hi) = (0.0, 1.0);
    while t_half_mass(hi, dof) < half && hi < 1e4 {
        hi *= 2.0;
    }
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if t_half_mass(mid, dof) < half {
            lo = mid
        } else {
            hi = mid
        }
    }
    0.5 * (lo + hi)
}

/// A value with a symmetric interval `value +- t se`.
pub fn linear(value: f64, stderr: Option<f64>, t: f64) -> Estimate {
    Estimate {
        value,
        stderr,
        ci: stderr.map(|se| [value - t * se, value + t * se]),
    }
}

/// `exp(v)` of a value `v` with standard error `se` on the log scale: interval
/// `exp(v +- t se)`, standard error by the delta method.
pub fn exp_of(log_value: f64, log_stderr: Option<f64>, t: f64) -> Estimate {
    let value = log_value.exp();
    Estimate {
        value,
        stderr: log_stderr.map(|se| value * se),
        ci: log_stderr.map(|se| [(log_value - t * se).exp(), (log_value + t * se).exp()]),
    }
}

/// `a / b` from estimates with correlation `rho`: delta method on `ln a - ln b`.
pub fn ratio(a: &Estimate, b: &Estimate, rho: f64, t: f64) -> Estimate {
    let ln_value = a.value.ln() - b.value.ln();
    let log_se = match (a.stderr, b.stderr) {
        (Some(sa), Some(sb)) if a.value > 0.0 && b.value > 0.0 => {
            let (ra, rb) = (sa / a.value, sb / b.value);
            Some((ra * ra + rb * rb - 2.0 * rho * ra * rb).max(0.0).sqrt())
        }
        _ => None,
    };
    exp_of(ln_value, log_se, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Two-sided 95%: 12.706 (1 dof), 2.365 (7), 2.042 (30); 90% with 5 dof: 2.015.
        for (level, dof, want) in [
            (0.95, 1, 12.706),
            (0.95, 7, 2.365),
            (0.95, 30, 2.042),
            (0.9, 5, 2.015),
        ] {
            let got = t_quantile(level, dof);
            assert!((got - want).abs() < 2e-3, "{level} {dof}: {got} vs {want}");
        }
    }
}
