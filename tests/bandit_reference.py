"""Pure-NumPy reference implementations of the bandit updates and scores.

Written from the papers, independently of the native kernels: explicit Gram
matrices and inverses instead of rank-1 updates, Algorithm 2 of Li et al.
(2010) line by line for hybrid LinUCB, a bracketing root finder for the
logistic Laplace step.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class RidgeArms:
    """Disjoint ridge regressions: A = l2 I + sum x x^T, b = l2 theta0 + sum r x."""

    def __init__(self, n_arms, d, l2=1.0):
        self.l2 = l2
        self.A = np.stack([l2 * np.eye(d) for _ in range(n_arms)])
        self.b = np.zeros((n_arms, d))

    def update(self, arms, rewards, X):
        for a, r, x in zip(arms, rewards, X):
            self.A[a] += np.outer(x, x)
            self.b[a] += r * x

    @property
    def A_inv(self):
        return np.linalg.inv(self.A)

    @property
    def theta(self):
        return np.einsum("aij,aj->ai", self.A_inv, self.b)

    def ucb(self, X, alpha):
        """Scores (n, n_arms) of LinUCB: x.theta + alpha sqrt(x^T A^-1 x)."""
        mean = X @ self.theta.T
        width = np.sqrt(np.einsum("ni,aij,nj->na", X, self.A_inv, X))
        return mean + alpha * width, mean, width


class LogisticArms:
    """Online Laplace updates of a Bayesian logistic regression per arm."""

    def __init__(self, n_arms, d, l2=1.0, full=True):
        self.full = full
        self.m = np.zeros((n_arms, d))
        self.precision = (
            np.stack([l2 * np.eye(d) for _ in range(n_arms)]) if full else np.full((n_arms, d), l2)
        )

    def update(self, arms, rewards, X):
        for a, r, x in zip(arms, rewards, X):
            Q = self.precision[a] if self.full else np.diag(self.precision[a])
            Sx = np.linalg.solve(Q, x)
            s = x @ Sx
            z0 = x @ self.m[a]
            # mode of 1/2 (w-m)^T Q (w-m) - log lik lies on m + eta Sigma x
            eta = brentq(
                lambda e, r=r, z0=z0, s=s: e - r + sigmoid(z0 + e * s),
                r - 1.0,
                r,
                xtol=1e-15,
                rtol=1e-15,
            )
            new_m = self.m[a] + eta * Sx
            p = sigmoid(x @ new_m)
            if self.full:
                self.precision[a] = Q + p * (1 - p) * np.outer(x, x)
            else:
                self.precision[a] = self.precision[a] + p * (1 - p) * x * x
            self.m[a] = new_m

    @property
    def covariance(self):
        if self.full:
            return np.linalg.inv(self.precision)
        return 1.0 / self.precision


class HybridArms:
    """Li et al. (2010) Algorithm 2, line by line, with explicit inverses."""

    def __init__(self, n_arms, d, features, l2=1.0):
        self.d = d
        self.F = np.asarray(features, float)
        k = d * self.F.shape[1]
        self.A0 = l2 * np.eye(k)
        self.b0 = np.zeros(k)
        self.A = np.stack([l2 * np.eye(d) for _ in range(n_arms)])
        self.B = np.zeros((n_arms, d, k))
        self.b = np.zeros((n_arms, d))

    def z(self, a, x):
        return np.kron(self.F[a], x)

    def update(self, arms, rewards, X):
        for a, r, x in zip(arms, rewards, X):
            z = self.z(a, x)
            Ainv = np.linalg.inv(self.A[a])
            self.A0 += self.B[a].T @ Ainv @ self.B[a]
            self.b0 += self.B[a].T @ Ainv @ self.b[a]
            self.A[a] += np.outer(x, x)
            self.B[a] += np.outer(x, z)
            self.b[a] += r * x
            Ainv = np.linalg.inv(self.A[a])
            self.A0 += np.outer(z, z) - self.B[a].T @ Ainv @ self.B[a]
            self.b0 += r * z - self.B[a].T @ Ainv @ self.b[a]

    @property
    def beta(self):
        return np.linalg.solve(self.A0, self.b0)

    @property
    def theta(self):
        beta = self.beta
        return np.stack(
            [np.linalg.solve(self.A[a], self.b[a] - self.B[a] @ beta) for a in range(len(self.A))]
        )

    def ucb(self, X, alpha):
        A0inv = np.linalg.inv(self.A0)
        beta, theta = self.beta, self.theta
        out = np.empty((len(X), len(self.A)))
        for a in range(len(self.A)):
            Ainv = np.linalg.inv(self.A[a])
            for n, x in enumerate(X):
                z = self.z(a, x)
                s = (
                    z @ A0inv @ z
                    - 2 * z @ A0inv @ self.B[a].T @ Ainv @ x
                    + x @ Ainv @ x
                    + x @ Ainv @ self.B[a] @ A0inv @ self.B[a].T @ Ainv @ x
                )
                out[n, a] = z @ beta + x @ theta[a] + alpha * np.sqrt(s)
        return out


def counting_stats(n_arms, arms, rewards):
    """(pulls, reward sums) per arm."""
    pulls = np.bincount(arms, minlength=n_arms).astype(float)
    sums = np.bincount(arms, weights=rewards, minlength=n_arms)
    return pulls, sums


def ucb1_scores(pulls, sums, alpha):
    T = pulls.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = sums / pulls + alpha * np.sqrt(2 * np.log(max(T, 1)) / pulls)
    return np.where(pulls > 0, scores, np.inf)


def normal_argmax_probability(m, w, pos):
    """P(candidate ``pos`` has the first largest draw of m_c + w_c Z_c).

    Straight from the definition: conditioned on the chosen draw
    s = m_pos + w_pos z the others are independent, so the probability is
    int phi(z) prod_c P(draw_c < s) dz (scipy's adaptive quadrature, split at
    every competitor's step so that none is stepped over). Zero widths are
    constants; equal constants go to the first in candidate order.
    """
    from scipy import integrate
    from scipy.special import log_ndtr, ndtr

    m, w = np.asarray(m, float), np.asarray(w, float)
    s0, wp = m[pos], w[pos]
    others = [c for c in range(len(m)) if c != pos]
    if wp == 0.0:
        p = 1.0
        for c in others:
            if w[c] == 0.0:
                if m[c] > s0 or (m[c] == s0 and c < pos):
                    return 0.0
            else:
                p *= ndtr((s0 - m[c]) / w[c])
        return p
    const = [(m[c] - s0) / wp for c in others if w[c] == 0.0]
    smooth = [c for c in others if w[c] > 0.0]
    a = np.array([(s0 - m[c]) / w[c] for c in smooth])
    b = np.array([wp / w[c] for c in smooth])
    lo, hi = max(const + [-40.0]), 40.0
    if lo >= hi:
        return 0.0

    def density(z):
        return np.exp(-0.5 * z * z + log_ndtr(a + b * z).sum()) / np.sqrt(2.0 * np.pi)

    cuts = {lo, hi}
    for ac, bc in zip(a, b):
        for x in (-ac / bc - 9.0 / bc, -ac / bc, -ac / bc + 9.0 / bc):
            if lo < x < hi:
                cuts.add(float(x))
    # also split the bulk of phi so that quad sees it
    cuts.update(float(x) for x in np.arange(-10.0, 10.5, 0.5) if lo < x < hi)
    cuts = sorted(cuts)
    return sum(
        integrate.quad(density, x0, x1, epsabs=0.0, epsrel=1e-12, limit=200)[0]
        for x0, x1 in zip(cuts[:-1], cuts[1:])
    )
