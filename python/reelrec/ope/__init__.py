"""Logged bandit feedback and off-policy evaluation.

* :class:`BanditLog` -- validated logged feedback; :func:`load_open_bandit`
  reads the Open Bandit Dataset; conversions to and from Open Bandit Pipeline's
  ``bandit_feedback`` dict and Vowpal Wabbit's ``--cb`` text format.
* Estimators -- :func:`replay`, :func:`ips`, :func:`snips`, :func:`dm`,
  :func:`dr`, :func:`sndr`, :func:`switch_dr`, :func:`dr_os` -- each returning an
  :class:`Estimate` with CLT and (native, multithreaded) bootstrap intervals.
* :class:`OffPolicyEvaluator` -- several estimators of one log in one table.
* :class:`RewardModel` -- cross-fitted ridge / logistic reward regression for DM and DR
  (:class:`ConvergenceWarning` when its Newton iterations run out).
* :class:`SyntheticBanditEnvironment` -- a bandit with known expected rewards.
"""

from ._log import BanditLog, load_open_bandit
from .estimators import (
    BootstrapInterval,
    Estimate,
    bootstrap_estimates,
    dm,
    dr,
    dr_os,
    ips,
    replay,
    sndr,
    snips,
    switch_dr,
)
from .evaluator import EvaluationTable, OffPolicyEvaluator
from .reward_model import ConvergenceWarning, RewardModel
from .synthetic import SyntheticBanditEnvironment

__all__ = [
    "BanditLog",
    "BootstrapInterval",
    "ConvergenceWarning",
    "Estimate",
    "EvaluationTable",
    "OffPolicyEvaluator",
    "RewardModel",
    "SyntheticBanditEnvironment",
    "bootstrap_estimates",
    "dm",
    "dr",
    "dr_os",
    "ips",
    "load_open_bandit",
    "replay",
    "snips",
    "sndr",
    "switch_dr",
]
