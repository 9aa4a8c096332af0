"""The Monte Carlo wins of Thompson propensities (cpp/bandits/slate.cpp).

The one-slot Normal path counts, per request, the pooled draws j in which the
chosen candidate's score m + w z_j beats every earlier candidate strictly and
ties or beats every later one. The double scan computes those scores as the
definition does; the float filter decides most draws in single precision and
recounts in double the draws whose float scores are too close to call. Both
must give the NumPy count exactly, ties and near-ties included.
"""

import numpy as np
import pytest

from reelrec import _core

ISAS = ["generic", "avx2", "avx512"]


def _reference(m, w, z, pos):
    v = m[:, None] + w[:, None] * z.astype(np.float64)  # multiply, then add: no FMA
    n = z.shape[1]
    before = v[:pos].max(axis=0) if pos > 0 else np.full(n, -np.inf)
    after = v[pos + 1 :].max(axis=0) if pos + 1 < len(m) else np.full(n, -np.inf)
    return int(np.sum((v[pos] > before) & (v[pos] >= after)))


def _wins(m, w, z, pos, isa, filtered):
    out = _core.bandits_mc_wins(m, w, np.ascontiguousarray(z, dtype=np.float32), pos, isa, filtered)
    if out is None:
        pytest.skip(f"this CPU cannot run the {isa} kernel")
    return out


def _case(kind, nc, n, rng):
    z = rng.standard_normal((nc, n)).astype(np.float32)
    if kind == "plain":
        m, w = rng.standard_normal(nc) * 0.1, rng.random(nc) * 0.05
    elif kind == "near-ties":
        # scores 1e6 apart from each other by ~1e-4: far below float resolution
        # (0.06 at 1e6), so nearly every draw goes to the exact recount
        m = 1e6 + rng.integers(0, 3, nc) * 1e-4
        w = rng.random(nc) * 1e-3
        z = np.round(z * 4) / 4
    elif kind == "exact-ties":
        # zero widths: every draw ties exactly between equal means
        m, w = rng.integers(0, 2, nc).astype(float), np.zeros(nc)
    elif kind == "shared-draws":
        # identical draws and equal means, different widths: ties where z = 0
        m = np.full(nc, 0.5)
        w = rng.random(nc)
        z = np.repeat(np.round(z[:1] * 2) / 2, nc, axis=0)
    elif kind == "huge":
        # beyond float range: the double scan decides
        m, w = rng.standard_normal(nc) * 1e31, rng.random(nc) * 1e31
    else:  # tiny: subnormal float scores
        m, w = rng.standard_normal(nc) * 1e-40, rng.random(nc) * 1e-39
    return m, w, z


KINDS = ["plain", "near-ties", "exact-ties", "shared-draws", "huge", "tiny"]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("filtered", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_wins_match_numpy(isa, filtered, kind):
    rng = np.random.default_rng(KINDS.index(kind))
    # draw counts around every vector width and step (4, 8, 16 lanes; 4 vectors a step)
    for n in [1, 3, 4, 5, 15, 16, 17, 31, 48, 63, 64, 65, 100, 129, 250]:
        for nc in [1, 2, 10, 37]:
            m, w, z = _case(kind, nc, n, rng)
            for pos in sorted({0, nc // 2, nc - 1}):
                assert _wins(m, w, z, pos, isa, filtered) == _reference(m, w, z, pos), (n, nc, pos)


@pytest.mark.parametrize("isa", ISAS)
def test_filter_equals_double_scan_at_many_candidates(isa):
    rng = np.random.default_rng(7)
    for nc in [64, 100, 512]:
        m, w, z = _case("plain", nc, 100, rng)
        m = m + rng.integers(0, 2, nc) * 1e-7  # a few near-ties among many arms
        for pos in [0, nc // 3, nc - 1]:
            ref = _reference(m, w, z, pos)
            assert _wins(m, w, z, pos, isa, True) == ref
            assert _wins(m, w, z, pos, isa, False) == ref


def test_wins_hook_rejects_bad_arguments():
    m = np.zeros(3)
    z = np.zeros((3, 5), dtype=np.float32)
    with pytest.raises(ValueError, match="pos"):
        _core.bandits_mc_wins(m, m, z, 3, "generic", True)
    with pytest.raises(ValueError, match="isa"):
        _core.bandits_mc_wins(m, m, z, 0, "sse9", True)
    with pytest.raises(ValueError, match="m, w"):
        _core.bandits_mc_wins(np.zeros(2), m, z, 0, "generic", True)
