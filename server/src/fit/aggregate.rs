//! Dense logs, fitted at the cost of their shape rather than their length.
//!
//! Trackers log the loss at every step: 100,000 noisy points per run is normal. A law
//! evaluated at every point makes each fit cost O(points) per evaluation, although a few
//! hundred numbers describe the curve. A run with more than [`MAX_POINTS`] points (the
//! default of `max_points`) is therefore averaged over [`BINS`] bins of equal width in steps: each bin becomes one
//! point at the mean step of its points (rounded), with the mean loss, weighted by its
//! count, so the objective still counts every logged point once.
//!
//! Why the mean in a bin is a good stand-in: the noise of one step's loss (0.01-0.05
//! nats) is far larger than the change of the true curve across a bin (a bin of width w
//! misplaces a curve of curvature L'' by w^2 L'' / 24), so the mean is a better estimate
//! of the curve there than any one point, and the fit's residuals become the law's
//! error instead of the noise.

/// Runs with at most this many points are fitted point by point.
pub const MAX_POINTS: usize = 2_000;
/// The bins of a run with more points.
pub const BINS: usize = 1_000;

/// A curve as fitted: steps (ascending), losses, and each point's weight.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregated {
    pub steps: Vec<usize>,
    pub loss: Vec<f64>,
    pub weights: Vec<f64>,
    /// Steps per bin, when the curve was binned.
    pub bin_width: Option<usize>,
}

/// The curve as it is fitted: unchanged (weights 1) up to `max_points` points, else
/// [`BINS`] bin means. `steps` must be ascending, as stored runs are.
pub fn aggregate(steps: &[usize], loss: &[f64], max_points: usize) -> Aggregated {
    if steps.len() <= max_points.max(BINS) {
        return Aggregated {
            steps: steps.to_vec(),
            loss: loss.to_vec(),
            weights: vec![1.0; steps.len()],
            bin_width: None,
        };
    }
    let (first, last) = (steps[0], steps[steps.len() - 1]);
    let width = (last - first + 1).div_ceil(BINS).max(1);
    let mut out = Aggregated {
        steps: Vec::with_capacity(BINS),
        loss: Vec::with_capacity(BINS),
        weights: Vec::with_capacity(BINS),
        bin_width: Some(width),
    };
    let mut current = usize::MAX;
    let (mut step_sum, mut loss_sum, mut count) = (0.0, 0.0, 0.0);
    let flush = |out: &mut Aggregated, step_sum: f64, loss_sum: f64, count: f64| {
        if count > 0.0 {
            out.steps.push((step_sum / count).round() as usize);
            out.loss.push(loss_sum / count);
            out.weights.push(count);
        }
    };
    for (&s, &l) in steps.iter().zip(loss) {
        let bin = (s - first) / width;
        if bin != current {
            flush(&mut out, step_sum, loss_sum, count);
            (step_sum, loss_sum, count, current) = (0.0, 0.0, 0.0, bin);
        }
        step_sum += s as f64;
        loss_sum += l;
        count += 1.0;
    }
    flush(&mut out, step_sum, loss_sum, count);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_curves_are_kept_point_by_point() {
        let a = aggregate(&[1, 2, 5], &[3.0, 2.5, 2.0], MAX_POINTS);
        assert_eq!(a.steps, vec![1, 2, 5]);
        assert_eq!(a.weights, vec![1.0; 3]);
        assert_eq!(a.bin_width, None);
    }

    #[test]
    fn dense_curves_become_bin_means_that_count_every_point() {
        let steps: Vec<usize> = (0..100_000).collect();
        let loss: Vec<f64> = steps
            .iter()
            .map(|&s| 2.0 + 1.0 / (1.0 + s as f64))
            .collect();
        let a = aggregate(&steps, &loss, MAX_POINTS);
        assert_eq!(a.steps.len(), BINS);
        assert_eq!(a.bin_width, Some(100));
        assert_eq!(a.weights.iter().sum::<f64>(), 100_000.0);
        assert_eq!(a.steps[0], 50); // mean of 0..=99, rounded
        let mean: f64 = loss[..100].iter().sum::<f64>() / 100.0;
        assert!((a.loss[0] - mean).abs() < 1e-12);
        assert!(a.steps.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn gaps_leave_no_empty_bins() {
        let steps: Vec<usize> = (0..3_000).chain(900_000..903_000).collect();
        let loss = vec![3.0; steps.len()];
        let a = aggregate(&steps, &loss, MAX_POINTS);
        assert!(a.weights.iter().all(|&w| w > 0.0));
        assert_eq!(a.weights.iter().sum::<f64>(), 6_000.0);
    }
}
