"""Bandit policies for exploring new and cold-start videos, with honest propensities.

Every policy has the same interface:

* ``select(contexts=None, k=1, available=None)`` returns ``(actions,
  propensities)``, both ``(n_requests, k)``: the arms chosen for each request
  and the probability the policy gave to each choice (slot ``j``: given the
  arms in slots ``< j``).
* ``update(actions, rewards, contexts=None)`` learns from logged feedback, in
  log order; ``fit(decisions, rewards, contexts=None)`` starts over from a log.
* ``add_arm(features=None, prior=None)`` / ``remove_arm(arm_id)`` change the
  catalogue in O(1) amortised; ``new_arm_share`` guarantees new arms a share
  of the traffic, accounted for exactly in the propensities.
* ``save(path)`` / ``BanditPolicy.load(path)``: versioned ``.npz``, no pickle;
  a loaded policy continues exactly as the saved one would have.

Non-contextual: :class:`EpsilonGreedy`, :class:`UCB1`, :class:`Softmax`,
:class:`ThompsonSampling`. Contextual: :class:`LinUCB`, :class:`HybridLinUCB`,
:class:`LinTS`, :class:`LogisticTS`.
"""

from ._base import BanditPolicy
from .hybrid import HybridLinUCB
from .linear import LinTS, LinUCB, LogisticTS
from .multiarmed import UCB1, EpsilonGreedy, Softmax, ThompsonSampling

__all__ = [
    "BanditPolicy",
    "EpsilonGreedy",
    "HybridLinUCB",
    "LinTS",
    "LinUCB",
    "LogisticTS",
    "Softmax",
    "ThompsonSampling",
    "UCB1",
]
