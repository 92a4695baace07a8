//! Hyper-parameter laws from LR x batch sweeps (filled in below).
