"""The scipy recipe a user would otherwise run, on the same data and grids as
`server/examples/fit_bench.rs`; prints one `name,seconds` line per task.

- Chinchilla (Epoch's digitised data, 5 highest losses dropped): summed Huber(1e-3) on
  log L, log L^ = LSE(a - alpha log N, b - beta log D, e), L-BFGS-B with the analytic
  gradient from each of Hoffmann's 4,500 starts, keep the best.
- Bootstrap: 1,000 resamples of the rows, each refitted by L-BFGS-B from the best fit.
- Multi-power law, three 24k-step curves of the authors' 25M data: L-BFGS-B with the
  analytic gradient on all seven parameters from the authors' initial values, on the
  direct O(n T) sum (numpy). Capped at 30 iterations: uncapped it runs for minutes.
Needs numpy and scipy (`pip install numpy scipy`).
"""
import csv, itertools, os, time
import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
DELTA = 1e-3


def huber(r):
    a = np.abs(r)
    return np.where(a <= DELTA, 0.5 * r * r, DELTA * (a - 0.5 * DELTA)), np.clip(r, -DELTA, DELTA)


def chinchilla_data():
    rows = list(csv.DictReader(open(os.path.join(DATA, "epoch_chinchilla", "svg_extracted_data.csv"))))
    n = np.array([float(r["Model Size"]) for r in rows])
    d = np.array([float(r["Training FLOP"]) for r in rows]) / (6 * n)
    loss = np.array([float(r["loss"]) for r in rows])
    keep = np.argsort(-loss)[5:]
    return np.log(n[keep]), np.log(d[keep]), np.log(loss[keep])


def chinchilla_objective(p, ln_n, ln_d, ln_l, w):
    a, b, e, alpha, beta = p
    terms = np.stack([a - alpha * ln_n, b - beta * ln_d, np.full_like(ln_n, e)])
    lse = logsumexp(terms, axis=0)
    soft = np.exp(terms - lse)
    h, dh = huber(ln_l - lse)
    g = -(w * dh)
    grad = np.array([
        (g * soft[0]).sum(), (g * soft[1]).sum(), (g * soft[2]).sum(),
        (g * soft[0] * -ln_n).sum(), (g * soft[1] * -ln_d).sum()])
    return (w * h).sum(), grad


def chinchilla_grid(data):
    w = np.ones_like(data[0])
    best = None
    for alpha, beta, e, a, b in itertools.product(
            [0, 0.5, 1, 1.5, 2], [0, 0.5, 1, 1.5, 2], [-1, -0.5, 0, 0.5, 1],
            [0, 5, 10, 15, 20, 25], [0, 5, 10, 15, 20, 25]):
        res = minimize(chinchilla_objective, [a, b, e, alpha, beta], args=(*data, w),
                       jac=True, method="L-BFGS-B")
        if best is None or res.fun < best.fun:
            best = res
    return best


def bootstrap(data, best, resamples=1000):
    rng = np.random.default_rng(1)
    n = len(data[0])
    for _ in range(resamples):
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        minimize(chinchilla_objective, best.x, args=(*data, w), jac=True, method="L-BFGS-B")


W, PEAK, END = 2160, 3e-4, 3e-5


def schedule(name):
    def warm(total):
        eta = np.full(total, PEAK)
        eta[:W] = np.linspace(0, PEAK, W)
        return eta
    if name == "cosine_24000":
        eta = warm(24000)
        p = (np.arange(W, 24000) - W) / (24000 - W)
        eta[W:] = END + (PEAK - END) * 0.5 * (1 + np.cos(np.pi * p))
        return eta
    if name == "constant_24000":
        return warm(24000)
    eta = warm(16000)
    eta[8000:] = 9e-5
    return eta


class Curve:
    """The multi-power law at a curve's logged steps (authors' code convention)."""

    def __init__(self, name):
        rows = list(csv.DictReader(open(os.path.join(DATA, "multipowerlaw", "csv_25", name + ".csv"))))
        self.steps = np.array([int(r["step"]) for r in rows])
        self.loss = np.array([float(r["loss"]) for r in rows])
        eta = schedule(name)
        prefix = np.cumsum(eta)
        self.z = prefix[self.steps]
        k = np.arange(1, len(eta))
        drop = eta[:-1] - eta[1:]
        keep = (drop != 0) & (eta[1:] > 0)
        k, drop = k[keep], drop[keep]
        self.ln_eta = np.log(eta[k])
        mask = k[None, :] <= self.steps[:, None]
        self.s = np.where(mask, self.z[:, None] - prefix[k - 1][None, :], 0.0)
        self.d = np.where(mask, drop[None, :], 0.0)

    def eval(self, p):
        l0, a, alpha, b, c, beta, gamma = p
        za = self.z ** -alpha
        u = 1 + c * np.exp(-gamma * self.ln_eta)[None, :] * self.s
        lu = np.log(u)
        ub = np.exp(-beta * lu)
        ld = (self.d * (1 - ub)).sum(1)
        pred = l0 + a * za - b * ld
        du = self.d * ub / u * (u - 1)
        jac = np.stack([np.ones_like(pred), za, -a * za * np.log(self.z), -ld,
                        -b * beta / c * du.sum(1), -b * (self.d * ub * lu).sum(1),
                        b * beta * (du * self.ln_eta[None, :]).sum(1)], axis=1)
        return pred, jac


def mpl_objective(p, curves):
    total, grad = 0.0, np.zeros(7)
    for c in curves:
        pred, jac = c.eval(p)
        if np.any(pred <= 0):
            return np.inf, grad
        h, dh = huber(np.log(c.loss) - np.log(pred))
        total += h.sum()
        grad += ((-dh / pred)[:, None] * jac).sum(0)
    return total, grad


def main():
    data = chinchilla_data()
    t = time.perf_counter()
    best = chinchilla_grid(data)
    print(f"chinchilla_4500_starts,{time.perf_counter() - t:.4f}")
    t = time.perf_counter()
    bootstrap(data, best)
    print(f"chinchilla_bootstrap_1000,{time.perf_counter() - t:.4f}")
    curves = [Curve(n) for n in ("cosine_24000", "constant_24000", "wsdcon_9")]
    t = time.perf_counter()
    bounds = [(0, 20), (0, 100), (0, 5), (0, 1e5), (1e-6, 1e4), (1e-4, 5), (0, 5)]
    minimize(mpl_objective, [3.0, 0.5, 0.5, 400.0, 1.0, 0.5, 0.5], args=(curves,), jac=True,
             method="L-BFGS-B", bounds=bounds, options={"maxiter": 30})
    print(f"multipower_3x24k,{time.perf_counter() - t:.4f}")


if __name__ == "__main__":
    main()
