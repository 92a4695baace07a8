//! Display maths of the web app, kept here so native tests cover it: TensorBoard's
//! debiased EMA smoothing, LTTB downsampling on the displayed axes, linear
//! interpolation, and the long-format CSV/JSON tables the charts export.

/// TensorBoard's smoothing: an exponential moving average divided by `1 - w^k` (so the
/// start is not dragged towards 0). Non-finite points pass through unchanged and do not
/// enter the average; a constant series is returned as is. `weight` is clamped to
/// `[0, 0.999]` (1 would freeze the average).
pub fn debiased_ema(values: &[f64], weight: f64) -> Vec<f64> {
    let w = if weight.is_finite() {
        weight.clamp(0.0, 0.999)
    } else {
        0.0
    };
    let constant = values.windows(2).all(|p| p[0] == p[1]);
    if constant || w == 0.0 {
        return values.to_vec();
    }
    let mut last = 0.0;
    // w^k, kept by multiplying (a `powi` per point is most of the cost in wasm).
    let mut power = 1.0;
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                return v;
            }
            last = last * w + (1.0 - w) * v;
            power *= w;
            last / (1.0 - power)
        })
        .collect()
}

/// Indices of at most `threshold` points chosen by Largest-Triangle-Three-Buckets
/// (Steinarsson 2013) in the displayed coordinates: `log10` of an axis when `log_x` /
/// `log_y`, so peaks and the shape on a log axis are kept. Points that cannot be drawn
/// (non-finite, or `<= 0` on a log axis) are left out. The first and last drawable
/// points are always kept; indices are increasing. Buckets have equal widths on the
/// displayed x axis (empty ones are skipped, so fewer points may come back).
pub fn lttb(x: &[f64], y: &[f64], threshold: usize, log_x: bool, log_y: bool) -> Vec<usize> {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    if !log_x && !log_y && x.iter().chain(y).all(|v| v.is_finite()) {
        return lttb_drawable(x, y, threshold);
    }
    // The drawable points in displayed coordinates, and where they came from.
    let (sx, sy) = (shown(x, log_x), shown(y, log_y));
    let index: Vec<usize> = (0..n)
        .filter(|&i| sx[i].is_finite() && sy[i].is_finite())
        .collect();
    let pick = |v: &[f64]| index.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let chosen = lttb_drawable(&pick(&sx), &pick(&sy), threshold);
    chosen.into_iter().map(|k| index[k]).collect()
}

/// LTTB over points that are all drawable, in displayed coordinates (`px`, `py`).
fn lttb_drawable(px: &[f64], py: &[f64], threshold: usize) -> Vec<usize> {
    let n = px.len();
    if threshold >= n || n <= 2 {
        return (0..n).collect();
    }
    let threshold = threshold.max(3);
    let buckets = buckets(px, threshold - 2);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let mut out = Vec::with_capacity(threshold);
    out.push(0);
    let mut a = 0usize; // the last chosen point
    for (k, &(start, end)) in buckets.iter().enumerate() {
        // The average of the next bucket (or the last point) is the third corner.
        let (cx, cy) = match buckets.get(k + 1) {
            Some(&(s, e)) => (mean(&px[s..e]), mean(&py[s..e])),
            None => (px[n - 1], py[n - 1]),
        };
        let (ax, ay) = (px[a], py[a]);
        let mut best = start;
        let mut best_area = -1.0;
        for j in start..end {
            let area = ((ax - cx) * (py[j] - ay) - (ax - px[j]) * (cy - ay)).abs();
            if area > best_area {
                best_area = area;
                best = j;
            }
        }
        out.push(best);
        a = best;
    }
    out.push(n - 1);
    out
}

/// Of the chosen indices `keep` (increasing, drawable), the ones a line still needs: an
/// inner point on the straight segment between the last kept point and the next one
/// (within 1e-9 of the value, in displayed coordinates) is dropped, so a constant LR or a
/// linear warm-up costs a few points instead of thousands. A point is still kept at least
/// every `1/min_points` of the displayed x span, so hover finds the line everywhere.
pub fn drop_straight(
    x: &[f64],
    y: &[f64],
    keep: &[usize],
    log_x: bool,
    log_y: bool,
    min_points: usize,
) -> Vec<usize> {
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let (px, py) = (shown(&pick(x), log_x), shown(&pick(y), log_y));
    let n = keep.len();
    if n < 2 {
        return keep.to_vec();
    }
    let max_gap = (px[n - 1] - px[0]).abs() / min_points.max(1) as f64;
    let mut out = vec![0];
    for i in 1..n - 1 {
        let (a, j) = (*out.last().unwrap(), i + 1);
        let cross = (px[i] - px[a]) * (py[j] - py[a]) - (px[j] - px[a]) * (py[i] - py[a]);
        let size = py[a].abs().max(py[i].abs()).max(py[j].abs());
        let straight = cross.abs() <= 1e-9 * (px[j] - px[a]).abs() * size;
        if !straight || (px[j] - px[a]).abs() > max_gap {
            out.push(i);
        }
    }
    out.push(n - 1);
    out.into_iter().map(|k| keep[k]).collect()
}

/// `values` on a displayed axis: `log10` of each on a log axis. (A branch per value
/// would let the compiler call `log10` for every value, which costs in wasm.)
fn shown(values: &[f64], log: bool) -> Vec<f64> {
    if log {
        values.iter().map(|v| v.log10()).collect()
    } else {
        values.to_vec()
    }
}

/// Non-empty index ranges of the inner points `1..n-1` of the displayed `xs`: equal
/// widths on the x axis when x increases (so a log axis gets as many buckets per decade),
/// else equal counts.
fn buckets(xs: &[f64], count: usize) -> Vec<(usize, usize)> {
    let n = xs.len();
    let (lo, hi) = (xs[1], xs[n - 2]);
    let sorted = xs.windows(2).all(|w| w[0] <= w[1]);
    let mut edges: Vec<usize> = Vec::with_capacity(count + 1);
    for k in 0..=count {
        let edge = if k == count {
            n - 1
        } else if sorted && hi > lo {
            let at = lo + (hi - lo) * k as f64 / count as f64;
            1 + xs[1..n - 1].partition_point(|&v| v < at)
        } else {
            1 + (k as f64 * (n - 2) as f64 / count as f64) as usize
        };
        edges.push(edge);
    }
    edges
        .windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| (w[0], w[1]))
        .collect()
}

/// `ys` at `at` by linear interpolation of the increasing `xs`; `None` outside them.
pub fn interpolate(xs: &[f64], ys: &[f64], at: f64) -> Option<f64> {
    let (first, last) = (*xs.first()?, *xs.last()?);
    if !(at >= first && at <= last) {
        return None;
    }
    let i = xs.partition_point(|&x| x < at);
    if xs[i] == at {
        return Some(ys[i]);
    }
    let (x0, x1, y0, y1) = (xs[i - 1], xs[i], ys[i - 1], ys[i]);
    Some(y0 + (y1 - y0) * (at - x0) / (x1 - x0))
}

/// The `q` quantile (0..1) of the finite `values` by linear interpolation.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// A long-format table: one text key column (the trace) and numeric columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Column names; the first is the text column.
    pub columns: Vec<String>,
    pub rows: Vec<(String, Vec<f64>)>,
}

impl Table {
    /// CSV with a header; non-finite numbers are empty cells; text is quoted when needed.
    pub fn to_csv(&self) -> String {
        let mut out = self.columns.join(",");
        out.push('\n');
        for (key, values) in &self.rows {
            out.push_str(&csv_text(key));
            for v in values {
                out.push(',');
                if v.is_finite() {
                    out.push_str(&v.to_string());
                }
            }
            out.push('\n');
        }
        out
    }

    /// A JSON array of objects keyed by column name; non-finite numbers are `null`.
    pub fn to_json(&self) -> String {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|(key, values)| {
                let mut obj = serde_json::Map::new();
                obj.insert(self.columns[0].clone(), key.clone().into());
                for (name, v) in self.columns[1..].iter().zip(values) {
                    let value = serde_json::Number::from_f64(*v)
                        .map(serde_json::Value::Number)
                        .unwrap_or(serde_json::Value::Null);
                    obj.insert(name.clone(), value);
                }
                serde_json::Value::Object(obj)
            })
            .collect();
        serde_json::Value::Array(rows).to_string()
    }
}

fn csv_text(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ema_matches_tensorboard_by_hand() {
        // w = 0.5: last = 0.5*0 + 0.5*1 = 0.5 -> /0.5 = 1; last = 0.25 + 1.5 = 1.75 -> /0.75.
        let s = debiased_ema(&[1.0, 3.0, 5.0], 0.5);
        assert!((s[0] - 1.0).abs() < 1e-15);
        assert!((s[1] - 1.75 / 0.75).abs() < 1e-15);
        let last = 1.75 * 0.5 + 2.5;
        assert!((s[2] - last / 0.875).abs() < 1e-15);
    }

    #[test]
    fn ema_passes_constant_and_non_finite_points_through() {
        assert_eq!(debiased_ema(&[2.0; 5], 0.9), vec![2.0; 5]);
        let s = debiased_ema(&[1.0, f64::NAN, 3.0, f64::INFINITY], 0.6);
        assert_eq!(s[0], 1.0);
        assert!(s[1].is_nan());
        assert!(s[3].is_infinite());
        // The NaN did not enter the average: the third point sees only 1 and 3.
        let last = 0.4 * 1.0 * 0.6 + 0.4 * 3.0;
        assert!((s[2] - last / (1.0 - 0.36)).abs() < 1e-12);
        assert_eq!(debiased_ema(&[1.0, 2.0], 0.0), vec![1.0, 2.0]);
        assert!(debiased_ema(&[1.0, 2.0], 1.0).iter().all(|v| v.is_finite()));
    }

    #[test]
    fn lttb_keeps_ends_and_spikes_and_respects_the_budget() {
        let n = 100_000;
        let x: Vec<f64> = (1..=n).map(|i| i as f64).collect();
        let mut y: Vec<f64> = x.iter().map(|s| 3.0 + 5.0 / s.sqrt()).collect();
        y[54_321] = 50.0; // a loss spike must survive
        let idx = lttb(&x, &y, 1000, false, false);
        assert!(idx.len() <= 1000 && idx.len() > 900, "{}", idx.len());
        assert_eq!(idx[0], 0);
        assert_eq!(*idx.last().unwrap(), n - 1);
        assert!(idx.windows(2).all(|w| w[0] < w[1]));
        assert!(idx.contains(&54_321));
        // Short series and non-drawable points.
        assert_eq!(lttb(&[1.0, 2.0], &[1.0, 2.0], 10, false, false), vec![0, 1]);
        let idx = lttb(&[0.0, 1.0, 2.0], &[1.0, f64::NAN, 2.0], 10, true, false);
        assert_eq!(idx, vec![2]);
    }

    #[test]
    fn lttb_on_log_x_keeps_the_early_points() {
        // On a log-x axis half of the picture is the first 1% of steps.
        let x: Vec<f64> = (1..=100_000).map(|i| i as f64).collect();
        let y: Vec<f64> = x.iter().map(|s| 1.0 / s).collect();
        let linear = lttb(&x, &y, 200, false, false);
        let log = lttb(&x, &y, 200, true, true);
        let early = |idx: &[usize]| idx.iter().filter(|&&i| i < 1000).count();
        assert!(early(&log) > 50, "{}", early(&log));
        assert!(early(&log) > 3 * early(&linear));
    }

    #[test]
    fn straight_runs_shrink_to_their_corners_and_curves_keep_every_point() {
        // A WSD schedule: warm-up 0..100, constant to 800, linear decay to 1000.
        let x: Vec<f64> = (0..=1000).map(f64::from).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|&s| match s {
                s if s < 100.0 => 3e-4 * s / 100.0,
                s if s < 800.0 => 3e-4,
                s => 3e-4 * (1000.0 - s) / 200.0,
            })
            .collect();
        let all: Vec<usize> = (0..x.len()).collect();
        assert_eq!(
            drop_straight(&x, &y, &all, false, false, 1),
            [0, 100, 800, 1000]
        );
        // With hover points every tenth of the span, no gap is wider than 100 steps.
        let hover = drop_straight(&x, &y, &all, false, false, 10);
        assert!(hover.windows(2).all(|w| w[1] - w[0] <= 100), "{hover:?}");
        assert!(hover.len() < 20);
        // A curve loses nothing; one or two points stay as they are.
        let curve: Vec<f64> = x.iter().map(|s| 1.0 / (1.0 + s)).collect();
        assert_eq!(drop_straight(&x, &curve, &all, false, false, 1), all);
        assert_eq!(drop_straight(&x, &y, &[3], false, false, 1), [3]);
        assert!(drop_straight(&x, &y, &[], false, false, 1).is_empty());
        // A power law is straight on log-log axes.
        let power: Vec<f64> = x.iter().map(|s| (1.0 + s).powf(-0.5)).collect();
        let xs: Vec<f64> = x.iter().map(|s| 1.0 + s).collect();
        assert_eq!(drop_straight(&xs, &power, &all, true, true, 1), [0, 1000]);
    }

    #[test]
    fn interpolation_and_quantiles() {
        let xs = [0.0, 10.0, 20.0];
        let ys = [1.0, 2.0, 4.0];
        assert_eq!(interpolate(&xs, &ys, 10.0), Some(2.0));
        assert_eq!(interpolate(&xs, &ys, 15.0), Some(3.0));
        assert_eq!(interpolate(&xs, &ys, 0.0), Some(1.0));
        assert_eq!(interpolate(&xs, &ys, 21.0), None);
        assert_eq!(quantile(&[3.0, 1.0, f64::NAN, 2.0], 0.5), Some(2.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn tables_export_csv_and_json() {
        let t = Table {
            columns: vec!["run".into(), "step".into(), "loss".into()],
            rows: vec![
                ("a,b".into(), vec![1.0, 2.5]),
                ("c".into(), vec![2.0, f64::NAN]),
            ],
        };
        assert_eq!(t.to_csv(), "run,step,loss\n\"a,b\",1,2.5\nc,2,\n");
        let json: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        assert_eq!(json[0]["run"], "a,b");
        assert_eq!(json[0]["loss"], 2.5);
        assert!(json[1]["loss"].is_null());
    }
}
