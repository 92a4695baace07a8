//! Su et al.'s `L(N, S_min)` with `B_crit(L)`: fit and predictions (filled in below).
