//! Fast, error-bounded sums of a power kernel over sources at fixed positions: the
//! multi-power law's far-field machinery ([`super::multipower::fast`]: block tree, moments,
//! truncation table, batched `exp`/`ln`) for laws whose sources do not move with the
//! parameters (the functional scaling law [`super::fsl`], the convex bound
//! [`super::convex`]). At targets `z` with `count` sources each:
//!
//! ```text
//! S_l(z) = sum_{k < count} W_{k,l} D_k^-(kappa + e_l)      (four lanes l, e_l in {0, 1})
//! Lg(z)  = sum_{k < count} W_{k,0} D_k^-kappa ln D_k       (optional, lane 0 at kappa)
//! D_k    = z - y_k + h                                     (h >= 0: one shift for all sources)
//! ```
//!
//! Positions `y_k` and targets are fixed when the law is built, so the tree's geometry
//! (block centres and radii) is computed once; each evaluation forms the leaf moments of
//! the weights `W` (O(m J)), shifts them up the tree and walks it per target (O(log m)
//! blocks of J terms plus about two leaves summed exactly). The series and its a-priori
//! truncation bound are those of the multi-power law (see [`super::multipower::fast`]):
//! every far-field block is within `tol * sum_k |W_k| D_k^-kappa` of its exact sum (and
//! likewise for the `kappa + 1` and log kernels), up to rounding.
//!
//! Requirements: `kappa > 0` and finite, `D_k > 0` for every source a target counts
//! (otherwise the exact terms are infinite or NaN and so is the sum).

use std::sync::Mutex;

use super::multipower::batch_math::{self, MulAdd, Plain};
use super::multipower::fast::{BUCKETS, J_MAX, LEAF, truncation_table};
use super::multipower::moments::{Moments, Row, SETS, leaf_moments, shift_moments};
use super::multipower::sources::{NONE, Node, build_tree};

/// The kernel of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Kernel {
    /// Exponent of the lanes with `plus_one[l] == false`.
    pub kappa: f64,
    /// `h`, added to every distance `z - y_k`.
    pub shift: f64,
    /// Lanes whose exponent is `kappa + 1`.
    pub plus_one: [bool; SETS],
    /// Whether to compute `Lg` (lane 0 must then be at `kappa`).
    pub log: bool,
    /// Truncation tolerance of the far field.
    pub tol: f64,
}

/// The sums at one target.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct KernelSums {
    pub s: Row,
    pub log: f64,
}

/// Per-evaluation node moments, kept between evaluations (clones start empty and all
/// compare equal, so a law holding one stays `Clone + PartialEq + Send + Sync`).
#[derive(Debug, Default)]
pub(crate) struct MomentCell(Mutex<Vec<Moments>>);

impl Clone for MomentCell {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for MomentCell {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The parameter-independent part: sources' positions and the block tree over them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KernelTree {
    y: Vec<f64>,
    nodes: Vec<Node>,
    root: usize,
    center: Vec<f64>,
    radius: Vec<f64>,
    /// `max_{j <= k} y_j`: the nearest source of a target counting `k + 1` of them.
    y_prefix_max: Vec<f64>,
    y_min: f64,
    scratch: MomentCell,
}

impl KernelTree {
    /// The tree over sources at positions `y` (finite), in the order targets count them.
    pub(crate) fn new(y: Vec<f64>) -> Self {
        let (nodes, root) = build_tree(y.len());
        let (mut center, mut radius) = (vec![0.0f64; nodes.len()], vec![0.0f64; nodes.len()]);
        for (id, node) in nodes.iter().enumerate() {
            let (lo, hi) = if node.left == NONE {
                let ys = &y[node.lo..node.hi];
                (
                    ys.iter().copied().fold(f64::INFINITY, f64::min),
                    ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                )
            } else {
                let (l, r) = (node.left, node.right);
                (
                    (center[l] - radius[l]).min(center[r] - radius[r]),
                    (center[l] + radius[l]).max(center[r] + radius[r]),
                )
            };
            center[id] = 0.5 * (lo + hi);
            radius[id] = 0.5 * (hi - lo);
        }
        let mut y_prefix_max = Vec::with_capacity(y.len());
        let mut m = f64::NEG_INFINITY;
        for &v in &y {
            m = m.max(v);
            y_prefix_max.push(m);
        }
        let y_min = y.iter().copied().fold(f64::INFINITY, f64::min);
        Self {
            y,
            nodes,
            root,
            center,
            radius,
            y_prefix_max,
            y_min,
            scratch: MomentCell::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.y.len()
    }

    /// The sums at targets `z[i]` over their first `count[i]` sources, for weights `w`
    /// (one row per source). On x86-64 with AVX2 and FMA the whole evaluation is compiled a
    /// second time for them and picked at run time, as the multi-power law's is (results
    /// differ by rounding only).
    pub(crate) fn sums(
        &self,
        w: &[Row],
        kernel: &Kernel,
        z: &[f64],
        count: &[usize],
    ) -> Vec<KernelSums> {
        let mut fresh = Vec::new();
        let mut guard = self.scratch.0.try_lock();
        let moments = match guard.as_deref_mut() {
            Ok(m) => m,
            Err(_) => &mut fresh,
        };
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            return unsafe { self.sums_avx2_fma(w, kernel, z, count, moments) };
        }
        self.sums_body::<Plain>(w, kernel, z, count, moments)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn sums_avx2_fma(
        &self,
        w: &[Row],
        kernel: &Kernel,
        z: &[f64],
        count: &[usize],
        moments: &mut Vec<Moments>,
    ) -> Vec<KernelSums> {
        self.sums_body::<batch_math::Fused>(w, kernel, z, count, moments)
    }

    #[inline(always)]
    fn sums_body<M: MulAdd>(
        &self,
        w: &[Row],
        kernel: &Kernel,
        z: &[f64],
        count: &[usize],
        moments: &mut Vec<Moments>,
    ) -> Vec<KernelSums> {
        self.prepare::<M>(w, moments);
        let walk = Walk::new(self, w, moments, kernel, z, count);
        // A plain loop, not an iterator closure: closures would not inherit the target features.
        let mut out = Vec::with_capacity(z.len());
        for i in 0..z.len() {
            out.push(walk.at::<M>(z[i], count[i]));
        }
        out
    }

    /// The direct sums (reference for tests; O(count) per target).
    #[cfg(test)]
    pub(crate) fn sums_naive(
        &self,
        w: &[Row],
        kernel: &Kernel,
        z: &[f64],
        count: &[usize],
    ) -> Vec<KernelSums> {
        z.iter()
            .zip(count)
            .map(|(&zi, &ci)| {
                let mut out = KernelSums::default();
                for k in 0..ci {
                    let d = (zi - self.y[k]) + kernel.shift;
                    let (ld, p) = (d.ln(), d.powf(-kernel.kappa));
                    for l in 0..SETS {
                        let pl = if kernel.plus_one[l] { p / d } else { p };
                        out.s[l] += w[k][l] * pl;
                    }
                    if kernel.log {
                        out.log += w[k][0] * p * ld;
                    }
                }
                out
            })
            .collect()
    }

    /// Leaf moments of `w`, then their shifts up the tree (children precede parents).
    #[inline(always)]
    fn prepare<M: MulAdd>(&self, w: &[Row], moments: &mut Vec<Moments>) {
        moments.clear();
        moments.resize(self.nodes.len(), [[0.0; SETS]; J_MAX]);
        let mut inv_fact = [1.0; J_MAX];
        for j in 1..J_MAX {
            inv_fact[j] = inv_fact[j - 1] / j as f64;
        }
        for (id, node) in self.nodes.iter().enumerate() {
            if node.left == NONE {
                let mut wl = [[0.0; SETS]; LEAF];
                wl[..node.hi - node.lo].copy_from_slice(&w[node.lo..node.hi]);
                moments[id] = leaf_moments::<M>(
                    &wl,
                    &self.y[node.lo..node.hi],
                    self.center[id],
                    self.radius[id],
                    &inv_fact,
                );
            } else {
                let mut out = [[0.0; SETS]; J_MAX];
                for child in [node.left, node.right] {
                    shift_moments::<M>(
                        &mut out,
                        &moments[child],
                        self.radius[child],
                        self.center[child] - self.center[id],
                        self.radius[id],
                        &inv_fact,
                    );
                }
                moments[id] = out;
            }
        }
    }
}

/// Everything one evaluation's targets share.
struct Walk<'a> {
    tree: &'a KernelTree,
    w: &'a [Row],
    moments: &'a [Moments],
    kernel: &'a Kernel,
    /// Series coefficients per order and lane (`(kappa)_j` or `(kappa+1)_j`; moments carry
    /// the `1/j!`), and `(kappa)_j H_j` for the log kernel.
    coef: [Row; J_MAX],
    ah: [f64; J_MAX],
    /// Terms needed for `rho` in bucket `i` (`J_MAX + 1`: split the block).
    jneed: Vec<usize>,
}

impl<'a> Walk<'a> {
    fn new(
        tree: &'a KernelTree,
        w: &'a [Row],
        moments: &'a [Moments],
        kernel: &'a Kernel,
        z: &[f64],
        count: &[usize],
    ) -> Self {
        let kappa = kernel.kappa;
        let (mut coef, mut ah) = ([[0.0; SETS]; J_MAX], [0.0; J_MAX]);
        let (mut aj, mut bj, mut hj) = (1.0, 1.0, 0.0);
        for j in 0..J_MAX {
            for l in 0..SETS {
                coef[j][l] = if kernel.plus_one[l] { bj } else { aj };
            }
            ah[j] = aj * hj;
            let jf = j as f64;
            aj *= kappa + jf;
            bj *= kappa + 1.0 + jf;
            hj += 1.0 / (kappa + jf);
        }
        // Bounds of ln D over every block a target may use: D lies between the target's
        // distance to its nearest counted source and to the leftmost source.
        let (mut d_lo, mut d_hi) = (f64::INFINITY, 0.0f64);
        for (&zi, &ci) in z.iter().zip(count) {
            if ci > 0 {
                d_lo = d_lo.min(zi + kernel.shift - tree.y_prefix_max[ci - 1]);
                d_hi = d_hi.max(zi + kernel.shift - tree.y_min);
            }
        }
        let l_max = if d_lo > 0.0 {
            d_lo.ln().abs().max(d_hi.max(d_lo).ln().abs())
        } else {
            f64::INFINITY // some term is singular: sum everything exactly
        };
        let jneed = if l_max.is_finite() && kappa.is_finite() && kappa > 0.0 {
            truncation_table(kappa, l_max, kernel.tol)
        } else {
            vec![J_MAX + 1; BUCKETS]
        };
        Self {
            tree,
            w,
            moments,
            kernel,
            coef,
            ah,
            jneed,
        }
    }

    /// The sums at target `z` over its first `count` sources: blocks whose truncation bound
    /// holds through their moments, the rest split or summed exactly.
    #[inline(always)]
    fn at<M: MulAdd>(&self, z: f64, count: usize) -> KernelSums {
        let mut out = KernelSums::default();
        let tree = self.tree;
        if tree.root == NONE || count == 0 {
            return out;
        }
        let mut stack = [0usize; 128];
        let mut top = 1;
        stack[0] = tree.root;
        while top > 0 {
            top -= 1;
            let id = stack[top];
            let node = tree.nodes[id];
            if node.lo >= count {
                continue;
            }
            if node.hi <= count {
                let dist = z + self.kernel.shift - tree.center[id];
                let rho = tree.radius[id] / dist;
                if dist > 0.0 && rho < 1.0 {
                    let terms = self.jneed[((rho * BUCKETS as f64) as usize).min(BUCKETS - 1)];
                    if terms <= J_MAX {
                        self.far::<M>(id, dist, rho, terms, &mut out);
                        continue;
                    }
                }
            }
            if node.left == NONE || top + 2 > stack.len() {
                self.exact::<M>(node.lo, node.hi.min(count), z, &mut out);
            } else {
                stack[top] = node.right;
                stack[top + 1] = node.left;
                top += 2;
            }
        }
        out
    }

    /// Block `id` through its first `terms` moments at distance `dist` (`rho = r / dist`).
    #[inline(always)]
    fn far<M: MulAdd>(&self, id: usize, dist: f64, rho: f64, terms: usize, out: &mut KernelSums) {
        let m = &self.moments[id];
        let mut acc: Row = [0.0; SETS];
        let (mut sh, mut p) = (0.0, 1.0);
        for (j, mj) in m.iter().enumerate().take(terms) {
            let c = &self.coef[j];
            acc = [
                M::mul_add(c[0] * p, mj[0], acc[0]),
                M::mul_add(c[1] * p, mj[1], acc[1]),
                M::mul_add(c[2] * p, mj[2], acc[2]),
                M::mul_add(c[3] * p, mj[3], acc[3]),
            ];
            sh = M::mul_add(self.ah[j] * p, mj[0], sh);
            p *= rho;
        }
        let ln_d = dist.ln();
        // D^-kappa; exactly 1/D for the Cauchy kernel.
        let dk = if self.kernel.kappa == 1.0 {
            1.0 / dist
        } else {
            (-self.kernel.kappa * ln_d).exp()
        };
        for l in 0..SETS {
            let scale = if self.kernel.plus_one[l] {
                dk / dist
            } else {
                dk
            };
            out.s[l] += scale * acc[l];
        }
        if self.kernel.log {
            out.log += dk * (ln_d * acc[0] - sh);
        }
    }

    /// Exact sum over sources `lo..hi`, a leaf-sized chunk at a time with batched `ln`/`exp`.
    #[inline(always)]
    fn exact<M: MulAdd>(&self, lo: usize, hi: usize, z: f64, out: &mut KernelSums) {
        let (kappa, shift) = (self.kernel.kappa, self.kernel.shift);
        let mut start = lo;
        while start < hi {
            let end = (start + LEAF).min(hi);
            let n = end - start;
            let mut d = [1.0; LEAF];
            for (di, &y) in d.iter_mut().zip(&self.tree.y[start..end]) {
                *di = (z - y) + shift;
            }
            if kappa == 1.0 && !self.kernel.log {
                // The Cauchy kernel needs no logarithms.
                for i in 0..n {
                    let (wk, inv) = (&self.w[start + i], 1.0 / d[i]);
                    for l in 0..SETS {
                        let pl = if self.kernel.plus_one[l] {
                            inv * inv
                        } else {
                            inv
                        };
                        out.s[l] = M::mul_add(wk[l], pl, out.s[l]);
                    }
                }
                start = end;
                continue;
            }
            let mut ln_d = d;
            let mut pk = [0.0; LEAF];
            // The batched routines need normal positive D and |kappa ln D| <= 708.
            let batched = d[..n].iter().all(|&v| v.is_normal() && v > 0.0);
            if batched {
                batch_math::ln_all::<M, LEAF>(&mut ln_d);
            } else {
                for v in &mut ln_d[..n] {
                    *v = v.ln();
                }
            }
            for i in 0..LEAF {
                pk[i] = -kappa * ln_d[i];
            }
            if batched && pk.iter().all(|v| v.abs() <= batch_math::EXP_RANGE) {
                batch_math::exp_all::<M, LEAF>(&mut pk);
            } else {
                for v in &mut pk[..n] {
                    *v = v.exp();
                }
            }
            for i in 0..n {
                let wk = &self.w[start + i];
                for l in 0..SETS {
                    let pl = if self.kernel.plus_one[l] {
                        pk[i] / d[i]
                    } else {
                        pk[i]
                    };
                    out.s[l] += wk[l] * pl;
                }
                if self.kernel.log {
                    out.log += wk[0] * pk[i] * ln_d[i];
                }
            }
            start = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fast sums agree with the direct ones within the truncation bound, for both kernels,
    /// a shift and the log kernel, on a smooth source set with a gap.
    #[test]
    fn fast_matches_naive() {
        let y: Vec<f64> = (0..5000)
            .map(|k| {
                let t = k as f64;
                t * 1e-3 + if k > 3000 { 0.5 } else { 0.0 }
            })
            .collect();
        let w: Vec<Row> = (0..y.len())
            .map(|k| {
                let t = k as f64 / 5000.0;
                [1.0 + t, (3.0 * t).sin(), t * t, -0.5]
            })
            .collect();
        let tree = KernelTree::new(y.clone());
        let z: Vec<f64> = (1..60).map(|i| y[i * 80] + 1e-3).collect();
        let count: Vec<usize> = (1..60).map(|i| i * 80 + 1).collect();
        for (kappa, shift, plus_one) in [
            (0.6, 0.01, [false, false, true, false]),
            (1.0, 0.0, [false; 4]),
            (2.5, 1e-4, [false, true, false, true]),
        ] {
            let kernel = Kernel {
                kappa,
                shift,
                plus_one,
                log: true,
                tol: 1e-12,
            };
            let fast = tree.sums(&w, &kernel, &z, &count);
            let naive = tree.sums_naive(&w, &kernel, &z, &count);
            for (f, n) in fast.iter().zip(&naive) {
                for l in 0..SETS {
                    let scale = n.s[l].abs().max(1.0);
                    assert!((f.s[l] - n.s[l]).abs() <= 1e-10 * scale, "{f:?} {n:?}");
                }
                assert!((f.log - n.log).abs() <= 1e-10 * n.log.abs().max(1.0));
            }
        }
    }
}
