//! Per-evaluation moments of the fast multi-power-law evaluation: weights of every source,
//! leaf moments and their exact shifts up the block tree (see [`super::fast`]).

use super::batch_math::{self, MulAdd};
use super::sources::{LEAF, NONE, Sources};
use std::sync::Mutex;

/// Most expansion terms a block may use (a multiple of 8: leaf moments go 8 orders a pass).
pub const J_MAX: usize = 16;
const _: () = assert!(J_MAX.is_multiple_of(8));
/// Weight sets: `w`, `w ln eta`, `w / c`, `w ln eta / c`.
pub(crate) const SETS: usize = 4;
/// One moment order for the four weight sets (one 256-bit vector).
pub(crate) type Row = [f64; SETS];
/// All moments of one block.
pub(crate) type Moments = [Row; J_MAX];

/// `acc += w * p`, lane by lane (written out so that it compiles to vector instructions).
#[inline(always)]
pub(crate) fn axpy<M: MulAdd>(acc: &mut Row, w: &Row, p: f64) {
    *acc = [
        M::mul_add(w[0], p, acc[0]),
        M::mul_add(w[1], p, acc[1]),
        M::mul_add(w[2], p, acc[2]),
        M::mul_add(w[3], p, acc[3]),
    ];
}

/// Per-evaluation buffers, kept between evaluations to avoid re-allocating (and
/// page-faulting) megabytes on every call.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    /// Per source: `c_k = eta_k^-gamma` and `ỹ_k`.
    pub(super) ck: Vec<f64>,
    pub(super) ytil: Vec<f64>,
    pub(super) center: Vec<f64>,
    pub(super) radius: Vec<f64>,
    /// Per node: moments `[j][set]`.
    pub(super) moments: Vec<Moments>,
}

/// A reusable [`Scratch`] behind a mutex; clones start empty and all compare equal, so the
/// law stays `Clone + PartialEq + Send + Sync`.
#[derive(Debug, Default)]
pub(super) struct ScratchCell(pub(super) Mutex<Scratch>);

impl Clone for ScratchCell {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for ScratchCell {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Fills the scratch: per-source `c_k`, `ỹ_k`; leaf moments (weights are formed on the fly,
/// block by block); upward shifts. O(T J + nodes J^2).
/// Returns `Lmax`, the bound on `|ln D|` used by the truncation table.
#[inline(always)]
pub(super) fn prepare<M: MulAdd>(
    src: &Sources,
    buf: &mut Scratch,
    c: f64,
    beta: f64,
    gamma: f64,
    z_max: f64,
) -> f64 {
    let m = src.len();
    let n_nodes = src.nodes.len();
    buf.ck.resize(m, 0.0);
    buf.ytil.resize(m, 0.0);
    buf.center.resize(n_nodes, 0.0);
    buf.radius.resize(n_nodes, 0.0);
    buf.moments.resize(n_nodes, [[0.0; SETS]; J_MAX]);
    let mut inv_fact = [1.0; J_MAX];
    for j in 1..J_MAX {
        inv_fact[j] = inv_fact[j - 1] / j as f64;
    }
    let ln_c = c.ln();
    let (mut d_lo, mut y_lo) = (f64::INFINITY, f64::INFINITY);
    for (id, node) in src.nodes.iter().enumerate() {
        if node.left == NONE {
            let (dl, yl) = leaf::<M>(
                src,
                buf,
                id,
                node.lo,
                node.hi,
                [c, ln_c, beta, gamma],
                &inv_fact,
            );
            d_lo = d_lo.min(dl);
            y_lo = y_lo.min(yl);
        } else {
            // Children precede parents in `nodes`, so their moments are ready.
            let (l, r) = (node.left, node.right);
            let lo = (buf.center[l] - buf.radius[l]).min(buf.center[r] - buf.radius[r]);
            let hi = (buf.center[l] + buf.radius[l]).max(buf.center[r] + buf.radius[r]);
            let (cen, rad) = (0.5 * (lo + hi), 0.5 * (hi - lo));
            buf.center[id] = cen;
            buf.radius[id] = rad;
            let mut out = [[0.0; SETS]; J_MAX];
            for child in [l, r] {
                let (rc, off) = (buf.radius[child], buf.center[child] - cen);
                shift_moments::<M>(&mut out, &buf.moments[child], rc, off, rad, &inv_fact);
            }
            buf.moments[id] = out;
        }
    }
    if m == 0 {
        0.0
    } else {
        d_lo.ln().abs().max((z_max - y_lo).max(d_lo).ln().abs())
    }
}

/// One leaf: `c_k`, `ỹ_k` of its sources, then its center, radius and moments
/// `M_j = sum W s^j / j!` for the four weight sets `w, w ln eta, w / c, w ln eta / c`
/// (`w = d (C c)^-beta`). `p` is `[C, ln C, beta, gamma]`. Returns the leaf's
/// `min (eta_k + eta_k^gamma / C)` (a lower bound of `z - ỹ_k` for targets after `k`)
/// and its smallest `ỹ_k`.
#[inline(always)]
fn leaf<M: MulAdd>(
    src: &Sources,
    buf: &mut Scratch,
    id: usize,
    lo: usize,
    hi: usize,
    p: [f64; 4],
    inv_fact: &[f64; J_MAX],
) -> (f64, f64) {
    let [c, ln_c, beta, gamma] = p;
    let n = hi - lo;
    // eta^gamma = 1/c_k and (C c_k)^-beta, in two vectorizable batches.
    let (mut inv_c_all, mut cb_all) = ([0.0; LEAF], [0.0; LEAF]);
    let mut arg_max: f64 = 0.0;
    for i in 0..n {
        let ln_eta = src.ln_eta[lo + i];
        inv_c_all[i] = gamma * ln_eta;
        cb_all[i] = -beta * (ln_c - gamma * ln_eta);
        arg_max = arg_max.max(inv_c_all[i].abs()).max(cb_all[i].abs());
    }
    if arg_max <= batch_math::EXP_RANGE {
        batch_math::exp_all::<M, LEAF>(&mut inv_c_all);
        batch_math::exp_all::<M, LEAF>(&mut cb_all);
    } else {
        // Extreme parameters: libm handles overflow and underflow exactly.
        for v in inv_c_all.iter_mut().chain(cb_all.iter_mut()) {
            *v = v.exp();
        }
    }
    let mut w = [[0.0; SETS]; LEAF];
    let (mut d_lo, mut y_min, mut y_max) = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for (i, k) in (lo..hi).enumerate() {
        let ln_eta = src.ln_eta[k];
        let inv_c = inv_c_all[i];
        let w0 = src.d[k] * cb_all[i];
        let yt = src.y[k] - inv_c / c;
        buf.ck[k] = 1.0 / inv_c;
        buf.ytil[k] = yt;
        w[i] = [w0, w0 * ln_eta, w0 * inv_c, w0 * inv_c * ln_eta];
        d_lo = d_lo.min(src.eta[k] + inv_c / c);
        y_min = y_min.min(yt);
        y_max = y_max.max(yt);
    }
    let (cen, r) = (0.5 * (y_min + y_max), 0.5 * (y_max - y_min));
    buf.center[id] = cen;
    buf.radius[id] = r;
    buf.moments[id] = leaf_moments::<M>(&w, &buf.ytil[lo..hi], cen, r, inv_fact);
    (d_lo, y_min)
}

/// Moments `M_j = sum_k W_k s_k^j / j!`, `s_k = (y_k - cen) / r`, of one leaf's sources:
/// weights `w[k]` at positions `y[k]` (`k < y.len() <= LEAF`; radius 0: only `M_0`).
#[inline(always)]
pub(crate) fn leaf_moments<M: MulAdd>(
    w: &[Row; LEAF],
    y: &[f64],
    cen: f64,
    r: f64,
    inv_fact: &[f64; J_MAX],
) -> Moments {
    let inv_r = if r > 0.0 { 1.0 / r } else { 0.0 };
    // Eight orders per pass, so that the accumulators stay in registers.
    let mut acc: Moments = [[0.0; SETS]; J_MAX];
    for pass in 0..J_MAX / 8 {
        let mut part = [[0.0; SETS]; 8];
        for (wk, &yk) in w.iter().zip(y) {
            let s = (yk - cen) * inv_r;
            let (s2, s3) = (s * s, s * s * s);
            let s4 = s2 * s2;
            let base = match pass {
                0 => 1.0,
                _ => (s4 * s4).powi(pass as i32),
            };
            let lo4 = [base, base * s, base * s2, base * s3];
            let pw = [
                lo4[0],
                lo4[1],
                lo4[2],
                lo4[3],
                lo4[0] * s4,
                lo4[1] * s4,
                lo4[2] * s4,
                lo4[3] * s4,
            ];
            for l in 0..8 {
                axpy::<M>(&mut part[l], wk, pw[l]);
            }
        }
        for l in 0..8 {
            let (j, f) = (pass * 8 + l, inv_fact[pass * 8 + l]);
            acc[j] = [
                part[l][0] * f,
                part[l][1] * f,
                part[l][2] * f,
                part[l][3] * f,
            ];
        }
    }
    acc
}

/// Adds the moments `cm` of a child (radius `rc`, center offset `off` from the parent
/// center) re-centered and re-scaled to the parent (radius `rp`): with `s_p = a s_c + b`,
/// `a = rc/rp`, `b = off/rp`: `M_p[j] += sum_i a^i M_c[i] b^(j-i) / (j-i)!`.
#[inline(always)]
pub(crate) fn shift_moments<M: MulAdd>(
    out: &mut Moments,
    cm: &Moments,
    rc: f64,
    off: f64,
    rp: f64,
    inv_fact: &[f64; J_MAX],
) {
    if rp <= 0.0 {
        // Every source of both children sits at the parent center: only M_0 survives.
        axpy::<M>(&mut out[0], &cm[0], 1.0);
        return;
    }
    let (a, b) = (rc / rp, off / rp);
    let mut y = [0.0; J_MAX];
    let mut bl = 1.0;
    for l in 0..J_MAX {
        y[l] = bl * inv_fact[l];
        bl *= b;
    }
    let mut ai = 1.0;
    for i in 0..J_MAX {
        let xi = cm[i];
        for l in 0..J_MAX - i {
            axpy::<M>(&mut out[i + l], &xi, ai * y[l]);
        }
        ai *= a;
    }
}
