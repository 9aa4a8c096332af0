"""Exceptions and warnings raised by reelrec."""

from __future__ import annotations

__all__ = ["NotFittedError", "CopyWarning", "ConvergenceWarning"]


class NotFittedError(ValueError, AttributeError):
    """Raised when a model is used before ``fit``.

    Subclasses both :class:`ValueError` and :class:`AttributeError`, as in
    scikit-learn, so existing ``except`` clauses keep working.
    """


class CopyWarning(UserWarning):
    """Emitted when an input had to be copied to a different format or dtype.

    Pass float32 CSR matrices (or :class:`reelrec.data.Interactions`) to avoid it.
    """


class ConvergenceWarning(RuntimeWarning):
    """An iterative solver stopped at its iteration limit before meeting its
    tolerance (e.g. the logistic reward model's Newton steps): the result may
    be inaccurate; raise ``max_iter``."""
