"""Constructor-parameter machinery shared by models, bandit policies and featurizers.

scikit-learn manners: parameters are the ``__init__`` arguments, stored as
given; ``get_params``/``set_params`` read and write them by name and ``repr``
shows them. A base class that defines its own ``_registry`` dict gets every
concrete subclass registered there by name, which is how ``load`` finds the
class named in a saved file.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

__all__ = ["ParamsMixin"]


class ParamsMixin:
    """Parameter access (``get_params``, ``set_params``, ``repr``) and a per-base class registry."""

    #: name -> concrete subclass; a base that wants registration defines its own dict
    _registry: ClassVar[dict[str, type] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls._registry is not None and not inspect.isabstract(cls):
            cls._registry[cls.__name__] = cls

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters, as given (scikit-learn convention)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Any:
        """Set constructor parameters by name; returns self."""
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"set_params: {type(self).__name__} has no parameter {name!r}; "
                    f"valid parameters are {sorted(valid)}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
