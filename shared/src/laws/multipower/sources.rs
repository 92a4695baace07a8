//! The parameter-independent part of the fast multi-power-law evaluation: the sources
//! (steps with a nonzero drop and a positive learning rate) and the binary tree of blocks
//! over them (see [`super::fast`]).

/// Sources per leaf block.
pub const LEAF: usize = 32;
/// Marks a missing child.
pub(crate) const NONE: usize = usize::MAX;

/// Parameter-independent part: the sources (steps with a nonzero drop and a positive LR)
/// and the block tree over them.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sources {
    /// `eta_{k-1} - eta_k`.
    pub(super) d: Vec<f64>,
    /// `eta_k` and `ln eta_k`.
    pub(super) eta: Vec<f64>,
    pub(super) ln_eta: Vec<f64>,
    /// `P(k-1)`.
    pub(super) y: Vec<f64>,
    /// The step `k` of each source (ascending).
    pub(super) step: Vec<usize>,
    pub(super) nodes: Vec<Node>,
    pub(super) root: usize,
}

/// A block of sources `lo..hi`; a leaf has no children ([`NONE`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Node {
    pub(crate) lo: usize,
    pub(crate) hi: usize,
    pub(crate) left: usize,
    pub(crate) right: usize,
}

impl Sources {
    /// Collects sources `k >= ld_start` from the LR array and builds the tree.
    pub(super) fn new(lrs: &[f64], prefix: &[f64], ld_start: usize) -> Self {
        let mut s = Self {
            d: Vec::new(),
            eta: Vec::new(),
            ln_eta: Vec::new(),
            y: Vec::new(),
            step: Vec::new(),
            nodes: Vec::new(),
            root: NONE,
        };
        for k in ld_start.max(1)..lrs.len() {
            let drop = lrs[k - 1] - lrs[k];
            if drop != 0.0 && lrs[k] > 0.0 {
                s.d.push(drop);
                s.eta.push(lrs[k]);
                s.ln_eta.push(lrs[k].ln());
                s.y.push(prefix[k - 1]);
                s.step.push(k);
            }
        }
        (s.nodes, s.root) = build_tree(s.d.len());
        s
    }

    pub(super) fn len(&self) -> usize {
        self.d.len()
    }

    /// Number of sources with step `<= t`.
    pub(super) fn count_up_to(&self, t: usize) -> usize {
        self.step.partition_point(|&k| k <= t)
    }
}

/// The block tree over `m` sources in order: leaves of [`LEAF`] sources first, parents
/// after their children; returns the nodes and the root index ([`NONE`] when `m = 0`).
pub(crate) fn build_tree(m: usize) -> (Vec<Node>, usize) {
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
