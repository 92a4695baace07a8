//! Fast, error-bounded evaluation of the multi-power law's loss-drop sums.
//!
//! # Reformulation
//!
//! With `u_k = 1 + C c_k (z - y_k)`, `c_k = eta_k^-gamma`, `y_k = P(k-1)`, `z = P(t)`
//! (`P` the LR prefix sum), every kernel term factors as
//!
//! ```text
//! d_k u_k^-beta = w_k (z - ỹ_k)^-beta,   w_k = d_k (C c_k)^-beta,   ỹ_k = y_k - 1/(C c_k)
//! ```
//!
//! i.e. a 1-D "potential" of sources at positions `ỹ_k` with weights `w_k`, evaluated at
//! targets `z > ỹ_k`. The gradient needs three more weight sets (`w ln eta`, `w/c`,
//! `w ln eta / c`) and the kernels `(z-ỹ)^-(beta+1)` and `(z-ỹ)^-beta ln(z-ỹ)`.
//! Only steps with a nonzero drop are sources: constant stretches cost nothing.
//!
//! # Tree code
//!
//! Sources (in step order) are grouped into a binary tree of blocks (leaves of
//! [`LEAF`] sources). For a block with center `ȳ` and radius `r` (over its `ỹ_k`), and a
//! target with `D = z - ȳ`, `rho = r / D < 1`:
//!
//! ```text
//! sum_k W_k (z-ỹ_k)^-kappa = D^-kappa sum_{j<J} a_j(kappa) rho^j M_j,
//! a_j(kappa) = (kappa)_j / j!,   M_j = sum_k W_k ((ỹ_k - ȳ)/r)^j   (|M_j| <= sum |W_k|)
//! ```
//!
//! Moments are computed per evaluation at the leaves (O(T J)) and shifted up the tree
//! (exact binomial re-centering, O(J^2) per node). Each target walks the tree from the
//! root: a block entirely before the target is used through its moments when the
//! truncation bound below is met, otherwise it is split; leaves that fail are summed exactly.
//!
//! # Error bound
//!
//! For `t = (ỹ-ȳ)/D` in `[-rho, rho]` the Taylor remainder of `(1-t)^-kappa` after `J`
//! terms is at most `a_J rho^J / (1 - q rho)`, `q = max(1, (kappa+J)/(J+1))`, and
//! `D^-kappa <= (1+rho)^kappa (z-ỹ_k)^-kappa`. A block is used with the smallest `J` (at
//! most [`J_MAX`]) such that, with `eps` the law's tolerance,
//!
//! - `(1+rho)^(beta+1) a_J(beta+1) rho^J / (1 - q rho) <= eps` (covers both power kernels), and
//! - `(1+rho)^beta a_J(beta) rho^J [(Lmax + H_J)/(1 - q rho) + q rho / ((beta+J)(1 - q rho)^2)] <= eps`
//!   for the log kernel, `H_J = sum_{i<J} 1/(beta+i)`, `Lmax >= |ln D|` over all targets.
//!
//! Hence, up to floating-point rounding, every far-field aggregate is within
//! `eps * sum_k |W_k| (z-ỹ_k)^-kappa` of the exact sum; for the value this means
//!
//! ```text
//! |LD_fast(t) - LD(t)| <= B * eps * sum_{k<=t} |eta_{k-1} - eta_k| u_k^-beta  <=  B * eps * sum_k |drop_k|
//! ```
//!
//! and each gradient entry obeys the same bound with its own kernel (for `d/d beta` the
//! factor becomes `1 + |ln C| + |gamma| max|ln eta|`). Near-field terms are exact.

use super::{Aggregates, MultiPowerLaw};

/// Sources per leaf block.
pub const LEAF: usize = 32;
/// Most expansion terms a block may use.
pub const J_MAX: usize = 24;
/// Resolution of the `rho -> J` lookup table.
const BUCKETS: usize = 512;
const NONE: usize = usize::MAX;

/// Parameter-independent part: the sources (steps with a nonzero drop and a positive LR)
/// and the block tree over them.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sources {
    /// `eta_{k-1} - eta_k`.
    d: Vec<f64>,
    /// `ln eta_k`.
    ln_eta: Vec<f64>,
    /// `P(k-1)`.
    y: Vec<f64>,
    /// The step `k` of each source (ascending).
    step: Vec<usize>,
    nodes: Vec<Node>,
    root: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    lo: usize,
    hi: usize,
    left: usize,
    right: usize,
}

impl Sources {
    /// Collects sources `k >= ld_start` from the LR array and builds the tree.
    pub(super) fn new(lrs: &[f64], prefix: &[f64], ld_start: usize) -> Self {
        let (mut d, mut ln_eta, mut y, mut step) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for k in ld_start.max(1)..lrs.len() {
            let drop = lrs[k - 1] - lrs[k];
            if drop != 0.0 && lrs[k] > 0.0 {
                d.push(drop);
                ln_eta.push(lrs[k].ln());
                y.push(prefix[k - 1]);
                step.push(k);
            }
        }
        let (nodes, root) = build_tree(d.len());
        Self {
            d,
            ln_eta,
            y,
            step,
            nodes,
            root,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.d.len()
    }

    /// Number of sources with step `<= t`.
    pub(super) fn count_up_to(&self, t: usize) -> usize {
        self.step.partition_point(|&k| k <= t)
    }
}

fn build_tree(m: usize) -> (Vec<Node>, usize) {
    let mut nodes = Vec::new();
    let mut level: Vec<usize> = (0..m.div_ceil(LEAF))
        .map(|i| {
            nodes.push(Node {
                lo: i * LEAF,
                hi: ((i + 1) * LEAF).min(m),
                left: NONE,
                right: NONE,
            });
            nodes.len() - 1
        })
        .collect();
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for pair in level.chunks(2) {
            match *pair {
                [l, r] => {
                    nodes.push(Node {
                        lo: nodes[l].lo,
                        hi: nodes[r].hi,
                        left: l,
                        right: r,
                    });
                    next.push(nodes.len() - 1);
                }
                [only] => next.push(only),
                _ => {}
            }
        }
        level = next;
    }
    let root = level.first().copied().unwrap_or(NONE);
    (nodes, root)
}

/// Everything that depends on the parameters `C, beta, gamma`, computed once per evaluation.
pub(super) struct Expansion<'a> {
    src: &'a Sources,
    c: f64,
    beta: f64,
    /// Per source: `c_k = eta_k^-gamma`.
    ck: Vec<f64>,
    /// Per node: center, radius, and moments `[set][j]` (4 sets x J_MAX).
    center: Vec<f64>,
    radius: Vec<f64>,
    moments: Vec<f64>,
    /// Series coefficients `a_j(beta)`, `a_j(beta+1)`, `a_j(beta) H_j`.
    a: [f64; J_MAX],
    b: [f64; J_MAX],
    ah: [f64; J_MAX],
    /// Terms needed for `rho` in bucket `i` (J_MAX + 1: block must be split).
    jneed: Vec<usize>,
    ln_c: f64,
    gamma: f64,
}

const SETS: usize = 4;
const NODE_STRIDE: usize = SETS * J_MAX;

impl<'a> Expansion<'a> {
    /// Weights, leaf moments, upward shifts and the truncation table (O(T J + nodes J^2)).
    pub(super) fn new(
        src: &'a Sources,
        c: f64,
        beta: f64,
        gamma: f64,
        z_max: f64,
        eps: f64,
    ) -> Self {
        let m = src.len();
        let ln_c = c.ln();
        let mut ck = Vec::with_capacity(m);
        let mut ytil = Vec::with_capacity(m);
        let mut w = [
            Vec::with_capacity(m),
            Vec::with_capacity(m),
            Vec::with_capacity(m),
            Vec::with_capacity(m),
        ];
        let (mut d_lo, mut y_lo) = (f64::INFINITY, f64::INFINITY);
        for k in 0..m {
            let ln_eta = src.ln_eta[k];
            let inv_c = (gamma * ln_eta).exp(); // eta^gamma = 1 / c_k
            let w0 = src.d[k] * (-beta * (ln_c - gamma * ln_eta)).exp(); // d (C c)^-beta
            let yt = src.y[k] - inv_c / c;
            ck.push(1.0 / inv_c);
            ytil.push(yt);
            w[0].push(w0);
            w[1].push(w0 * ln_eta);
            w[2].push(w0 * inv_c);
            w[3].push(w0 * inv_c * ln_eta);
            // z - ỹ_k >= eta_k + eta_k^gamma / C for every target at or after k.
            d_lo = d_lo.min(ln_eta.exp() + inv_c / c);
            y_lo = y_lo.min(yt);
        }
        let l_max = if m == 0 {
            0.0
        } else {
            d_lo.ln().abs().max((z_max - y_lo).max(d_lo).ln().abs())
        };

        let n_nodes = src.nodes.len();
        let mut center = vec![0.0; n_nodes];
        let mut radius = vec![0.0; n_nodes];
        let mut moments = vec![0.0; n_nodes * NODE_STRIDE];
        let mut pw = [0.0; J_MAX];
        for (id, node) in src.nodes.iter().enumerate() {
            let out = &mut moments[id * NODE_STRIDE..(id + 1) * NODE_STRIDE];
            if node.left == NONE {
                let ys = &ytil[node.lo..node.hi];
                let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let (cen, r) = (0.5 * (lo + hi), 0.5 * (hi - lo));
                center[id] = cen;
                radius[id] = r;
                let inv_r = if r > 0.0 { 1.0 / r } else { 0.0 };
                for k in node.lo..node.hi {
                    let s = (ytil[k] - cen) * inv_r;
                    let mut p = 1.0;
                    for v in pw.iter_mut() {
                        *v = p;
                        p *= s;
                    }
                    for (set, ws) in w.iter().enumerate() {
                        let wk = ws[k];
                        for (o, p) in out[set * J_MAX..(set + 1) * J_MAX].iter_mut().zip(&pw) {
                            *o += wk * p;
                        }
                    }
                }
            } else {
                let (l, r) = (node.left, node.right);
                let lo = (center[l] - radius[l]).min(center[r] - radius[r]);
                let hi = (center[l] + radius[l]).max(center[r] + radius[r]);
                let (cen, rad) = (0.5 * (lo + hi), 0.5 * (hi - lo));
                center[id] = cen;
                radius[id] = rad;
                for child in [l, r] {
                    shift_moments(
                        &mut moments,
                        id,
                        child,
                        radius[child],
                        center[child] - cen,
                        rad,
                    );
                }
            }
        }

        let (mut a, mut b, mut ah) = ([0.0; J_MAX], [0.0; J_MAX], [0.0; J_MAX]);
        let (mut aj, mut bj, mut hj) = (1.0, 1.0, 0.0);
        for j in 0..J_MAX {
            a[j] = aj;
            b[j] = bj;
            ah[j] = aj * hj;
            let jf = j as f64;
            aj *= (beta + jf) / (jf + 1.0);
            bj *= (beta + 1.0 + jf) / (jf + 1.0);
            hj += 1.0 / (beta + jf);
        }
        let jneed = truncation_table(beta, l_max, eps);
        Self {
            src,
            c,
            beta,
            ck,
            center,
            radius,
            moments,
            a,
            b,
            ah,
            jneed,
            ln_c,
            gamma,
        }
    }

    /// Loss-drop aggregates of the first `count` sources at target `z`.
    pub(super) fn aggregates(&self, z: f64, count: usize) -> Aggregates {
        let mut agg = Aggregates::default();
        if self.src.root == NONE || count == 0 {
            return agg;
        }
        let mut stack = [0usize; 128];
        let mut top = 1;
        stack[0] = self.src.root;
        while top > 0 {
            top -= 1;
            let id = stack[top];
            let node = self.src.nodes[id];
            if node.lo >= count {
                continue;
            }
            if node.hi <= count && self.try_far_field(id, z, &mut agg) {
                continue;
            }
            if node.left == NONE || top + 2 > stack.len() {
                self.exact(node.lo, node.hi.min(count), z, &mut agg);
            } else {
                stack[top] = node.right;
                stack[top + 1] = node.left;
                top += 2;
            }
        }
        agg
    }

    fn exact(&self, lo: usize, hi: usize, z: f64, agg: &mut Aggregates) {
        EXACT.fetch_add(hi - lo, std::sync::atomic::Ordering::Relaxed);
        let src = self.src;
        for k in lo..hi {
            let u = 1.0 + self.c * self.ck[k] * (z - src.y[k]);
            agg.add_exact(src.d[k], src.ln_eta[k], u, self.beta);
        }
    }

    /// Adds a block through its moments when the truncation bound allows it.
    fn try_far_field(&self, id: usize, z: f64, agg: &mut Aggregates) -> bool {
        let dist = z - self.center[id];
        let rho = self.radius[id] / dist;
        if !(dist > 0.0 && rho < 1.0) {
            return false;
        }
        let bucket = ((rho * BUCKETS as f64) as usize).min(BUCKETS - 1);
        let terms = self.jneed[bucket];
        if terms > J_MAX {
            return false;
        }
        FAR.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        TERMS.fetch_add(terms, std::sync::atomic::Ordering::Relaxed);
        let m = &self.moments[id * NODE_STRIDE..(id + 1) * NODE_STRIDE];
        let (m0, rest) = m.split_at(J_MAX);
        let (m1, rest) = rest.split_at(J_MAX);
        let (m2, m3) = rest.split_at(J_MAX);
        let (mut s0, mut s1, mut s2, mut s3, mut sh) = (0.0, 0.0, 0.0, 0.0, 0.0);
        let mut p = 1.0;
        for j in 0..terms {
            let (ap, bp) = (self.a[j] * p, self.b[j] * p);
            s0 += ap * m0[j];
            s1 += ap * m1[j];
            s2 += bp * m2[j];
            s3 += bp * m3[j];
            sh += self.ah[j] * p * m0[j];
            p *= rho;
        }
        let ln_d = dist.ln();
        let db = (-self.beta * ln_d).exp();
        let db1 = db / dist / self.c;
        let q = db * s0;
        let qe = db * s1;
        agg.q += q;
        agg.qe += qe;
        agg.r += db1 * s2;
        agg.re += db1 * s3;
        // sum d u^-beta ln u, with ln u = ln C - gamma ln eta + ln(z - ỹ).
        agg.lq += self.ln_c * q - self.gamma * qe + db * (ln_d * s0 - sh);
        true
    }
}

/// Adds the moments of `child` (radius `rc`, center offset `off` from the parent center)
/// re-centered and re-scaled to the parent (radius `rp`): with `s_p = a s_c + b`,
/// `a = rc/rp`, `b = off/rp`, `M_p[j] += sum_i C(j,i) a^i b^(j-i) M_c[i]`.
fn shift_moments(moments: &mut [f64], parent: usize, child: usize, rc: f64, off: f64, rp: f64) {
    let (pa, ca) = (parent * NODE_STRIDE, child * NODE_STRIDE);
    if rp <= 0.0 {
        // Every source of both children sits at the parent center: only M_0 survives.
        for set in 0..SETS {
            moments[pa + set * J_MAX] += moments[ca + set * J_MAX];
        }
        return;
    }
    let (a, b) = (rc / rp, off / rp);
    // Row j of the coefficient triangle, T[j][i] = C(j,i) a^i b^(j-i).
    let mut row = [0.0; J_MAX];
    row[0] = 1.0;
    let child_m: [f64; NODE_STRIDE] = {
        let mut buf = [0.0; NODE_STRIDE];
        buf.copy_from_slice(&moments[ca..ca + NODE_STRIDE]);
        buf
    };
    for j in 0..J_MAX {
        if j > 0 {
            for i in (1..=j).rev() {
                row[i] = a * row[i - 1] + b * row[i];
            }
            row[0] *= b;
        }
        for set in 0..SETS {
            let cm = &child_m[set * J_MAX..set * J_MAX + j + 1];
            let s: f64 = row[..=j].iter().zip(cm).map(|(t, m)| t * m).sum();
            moments[pa + set * J_MAX + j] += s;
        }
    }
}

/// For each `rho` bucket (bounds taken at its upper edge), the smallest number of terms
/// meeting both truncation bounds of the module docs, or `J_MAX + 1`.
fn truncation_table(beta: f64, l_max: f64, eps: f64) -> Vec<usize> {
    (0..BUCKETS)
        .map(|i| {
            let rho = (i + 1) as f64 / BUCKETS as f64;
            let (mut aj, mut bj, mut hj) = (1.0, 1.0, 0.0);
            let mut pj = 1.0;
            for j in 0..=J_MAX {
                let jf = j as f64;
                let qa = ((beta + jf) / (jf + 1.0)).max(1.0);
                let qb = ((beta + 1.0 + jf) / (jf + 1.0)).max(1.0);
                if qa * rho < 1.0 && qb * rho < 1.0 && j >= 1 {
                    let pow_b = (1.0 + rho).powf(beta + 1.0) * bj * pj / (1.0 - qb * rho);
                    let ga = 1.0 - qa * rho;
                    let log_b = (1.0 + rho).powf(beta)
                        * aj
                        * pj
                        * ((l_max + hj) / ga + qa * rho / ((beta + jf) * ga * ga));
                    if pow_b <= eps && log_b <= eps {
                        return j;
                    }
                }
                aj *= (beta + jf) / (jf + 1.0);
                bj *= (beta + 1.0 + jf) / (jf + 1.0);
                hj += 1.0 / (beta + jf);
                pj *= rho;
            }
            J_MAX + 1
        })
        .collect()
}

/// Loss-drop aggregates at every evaluation point through the tree code.
pub static FAR: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
pub static EXACT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
pub static TERMS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
pub(super) fn all_aggregates(
    law: &MultiPowerLaw,
    c: f64,
    beta: f64,
    gamma: f64,
) -> Vec<Aggregates> {
    let z_max = law.z.iter().copied().fold(0.0, f64::max);
    let t0 = std::time::Instant::now();
    let exp = Expansion::new(&law.sources, c, beta, gamma, z_max, law.tolerance);
    let t1 = t0.elapsed();
    let r = law
        .z
        .iter()
        .zip(&law.source_count)
        .map(|(&z, &n)| exp.aggregates(z, n))
        .collect();
    if std::env::var("MPL_DEBUG").is_ok() {
        eprintln!(
            "prep {:?} traverse {:?} far {} exact {} terms {} jneed {:?}",
            t1,
            t0.elapsed() - t1,
            FAR.swap(0, std::sync::atomic::Ordering::Relaxed),
            EXACT.swap(0, std::sync::atomic::Ordering::Relaxed),
            TERMS.swap(0, std::sync::atomic::Ordering::Relaxed),
            exp.jneed.iter().step_by(32).collect::<Vec<_>>()
        );
    }
    r
}
