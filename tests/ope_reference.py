"""Straight NumPy formulas of the off-policy estimators and the reward model,
used as references for the native kernels in the test_ope_* files."""

from __future__ import annotations

import numpy as np


def _slice(arr, positions):
    """arr[i, :, positions[i]] (or slice 0 when arr has one position / no axis)."""
    n = arr.shape[0]
    if arr.ndim == 2:
        return arr
    p = np.zeros(n, int) if positions is None or arr.shape[2] == 1 else positions
    return arr[np.arange(n), :, p]


def weights(pi, actions, pscore, positions=None):
    pi2 = _slice(pi, positions)
    return pi2[np.arange(len(actions)), actions] / pscore


def dm_terms(pi, q, positions=None):
    return np.sum(_slice(pi, positions) * _slice(q, positions), axis=1)


def q_logged(q, actions, positions=None):
    return _slice(q, positions)[np.arange(len(actions)), actions]


def replay(r, a, pi, positions=None):
    m = _slice(pi, positions)[np.arange(len(a)), a]
    return np.sum(m * r) / np.sum(m)


def ips(r, a, ps, pi, clip=np.inf, positions=None):
    return np.mean(np.minimum(weights(pi, a, ps, positions), clip) * r)


def snips(r, a, ps, pi, positions=None):
    w = weights(pi, a, ps, positions)
    return np.sum(w * r) / np.sum(w)


def dm(pi, q, positions=None):
    return np.mean(dm_terms(pi, q, positions))


def dr(r, a, ps, pi, q, clip=np.inf, positions=None):
    w = np.minimum(weights(pi, a, ps, positions), clip)
    return np.mean(dm_terms(pi, q, positions) + w * (r - q_logged(q, a, positions)))


def sndr(r, a, ps, pi, q, positions=None):
    w = weights(pi, a, ps, positions)
    return np.mean(dm_terms(pi, q, positions)) + np.sum(w * (r - q_logged(q, a, positions))) / np.sum(w)


def switch_dr(r, a, ps, pi, q, tau, positions=None):
    w = weights(pi, a, ps, positions)
    return np.mean(dm_terms(pi, q, positions) + (w <= tau) * w * (r - q_logged(q, a, positions)))


def dr_os(r, a, ps, pi, q, lam, positions=None):
    w = weights(pi, a, ps, positions)
    shrunk = w if np.isinf(lam) else lam * w / (w**2 + lam)
    return np.mean(dm_terms(pi, q, positions) + shrunk * (r - q_logged(q, a, positions)))


# ---------------------------------------------------------------------- reward model
def features(X, positions, n_positions):
    n = X.shape[0]
    onehot = np.zeros((n, n_positions - 1))
    if positions is not None and n_positions > 1:
        rows = np.flatnonzero(positions > 0)
        onehot[rows, positions[rows] - 1] = 1
    return np.hstack([np.ones((n, 1)), X, onehot])


def _glm(Phi, y, l2, prior, kind, iters=100):
    D = Phi.shape[1]
    if kind == "ridge":
        return np.linalg.solve(Phi.T @ Phi + l2 * np.eye(D), Phi.T @ y + l2 * prior)
    beta = prior.copy()
    for _ in range(iters):  # plain Newton: the penalised log-loss is strictly convex
        s = 1 / (1 + np.exp(-(Phi @ beta)))
        g = Phi.T @ (s - y) + l2 * (beta - prior)
        H = (Phi * (s * (1 - s))[:, None]).T @ Phi + l2 * np.eye(D)
        step = np.linalg.solve(H, g)
        beta = beta - step
        if np.abs(step).max() < 1e-13:
            break
    return beta


def reward_coef(X, y, actions, positions, n_actions, n_positions, l2, kind):
    """(n_actions + 1) x D coefficients: per-action models shrunk to the pooled one (last row)."""
    Phi = features(X, positions, n_positions)
    pooled = _glm(Phi, y, l2, np.zeros(Phi.shape[1]), kind)
    coef = np.empty((n_actions + 1, Phi.shape[1]))
    coef[-1] = pooled
    for a in range(n_actions):
        rows = actions == a
        coef[a] = _glm(Phi[rows], y[rows], l2, pooled, kind) if rows.any() else pooled
    return coef


def reward_predict(X, coef, n_positions, kind):
    n, A = X.shape[0], coef.shape[0] - 1
    out = np.empty((n, A, n_positions))
    for p in range(n_positions):
        Phi = features(X, np.full(n, p), n_positions)
        f = Phi @ coef[:-1].T
        out[:, :, p] = 1 / (1 + np.exp(-f)) if kind == "logistic" else f
    return out


def bts_action_dist(bts_log, n_rounds):
    """A context-free (n_rounds, n_actions, n_positions) policy from a BTS log's propensities:
    mean logged propensity of each (item, position), renormalised per position."""
    A, P = bts_log.n_actions, bts_log.n_positions
    total = np.zeros((A, P))
    count = np.zeros((A, P))
    np.add.at(total, (bts_log.actions, bts_log.positions), bts_log.propensities)
    np.add.at(count, (bts_log.actions, bts_log.positions), 1)
    mean = np.where(count > 0, total / np.maximum(count, 1), 1e-4)
    dist = mean / mean.sum(axis=0, keepdims=True)
    return np.ascontiguousarray(np.broadcast_to(dist[None], (n_rounds, A, P)))
