//! Natural-unit values of parameters fitted as logarithms: Chinchilla's `a = ln A`,
//! `b = ln B`, `e = ln E`, Kaplan's `log_nc = ln N_c`, ... The fit works in logs (it keeps
//! the scales positive and the problem well conditioned), but people compare `A = 406.4`,
//! so the report lists `exp(param)` too, marked as derived.

use shared::api::{DerivedEstimate, ParamEstimate};

/// The natural-unit name and meaning of `law`'s parameter `param`, when it is a log.
fn natural(law: &str, param: &str) -> Option<(&'static str, &'static str)> {
    Some(match (law, param) {
        ("chinchilla", "a") => ("A", "coefficient of N^-alpha"),
        ("chinchilla", "b") => ("B", "coefficient of D^-beta"),
        ("chinchilla", "e") => ("E", "irreducible loss"),
        ("kaplan-n", "log_scale") | (_, "log_nc") => ("N_c", "parameter-count scale"),
        ("kaplan-d", "log_scale") | (_, "log_dc") => ("D_c", "data scale"),
        (_, "log_sc") => ("S_c", "step scale"),
        _ => return None,
    })
}

/// `exp` of every log-form parameter of `law`: the standard error by the delta method
/// (`d exp(x) = exp(x) dx`), the interval the exponentiated ends of the parameter's own
/// (exact for a percentile interval, as `exp` is monotone).
pub fn derive(law: &str, params: &[ParamEstimate]) -> Vec<DerivedEstimate> {
    params
        .iter()
        .filter_map(|p| {
            let (name, meaning) = natural(law, &p.name)?;
            let value = p.value.exp();
            Some(DerivedEstimate {
                name: name.into(),
                from: p.name.clone(),
                meaning: format!("{meaning}, exp({})", p.name),
                value,
                stderr: p.stderr.map(|se| value * se),
                ci: p.ci.map(|[lo, hi]| [lo.exp(), hi.exp()]),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(
        name: &str,
        value: f64,
        stderr: Option<f64>,
        ci: Option<[f64; 2]>,
    ) -> ParamEstimate {
        ParamEstimate {
            name: name.into(),
            meaning: String::new(),
            value,
            init: value,
            lower: -10.0,
            upper: 50.0,
            fixed: false,
            stderr,
            stderr_missing: None,
            ci,
        }
    }

    #[test]
    fn logs_become_natural_units_and_others_are_left_out() {
        let params = [
            estimate("a", 6.0, Some(0.1), Some([5.8, 6.3])),
            estimate("e", 0.5, None, None),
            estimate("alpha", 0.34, Some(0.01), None),
        ];
        let d = derive("chinchilla", &params);
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].name.as_str(), d[0].from.as_str()), ("A", "a"));
        assert_eq!(d[0].value, 6f64.exp());
        assert_eq!(d[0].stderr, Some(6f64.exp() * 0.1));
        assert_eq!(d[0].ci, Some([5.8f64.exp(), 6.3f64.exp()]));
        assert_eq!(
            (d[1].name.as_str(), d[1].stderr, d[1].ci),
            ("E", None, None)
        );
        assert_eq!(
            derive("kaplan-d", &[estimate("log_scale", 1.0, None, None)])[0].name,
            "D_c"
        );
        assert!(derive("momentum", &params[2..]).is_empty());
    }
}
