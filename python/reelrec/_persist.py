"""The versioned ``.npz`` file format shared by models and bandit policies.

A file holds named arrays plus ``__meta__``, a JSON header with the format name
and version, the class name, the writing reelrec version and the constructor
parameters. Reading never unpickles: the class is looked up in a registry of
known classes and rebuilt from its parameters.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import _core

__all__ = ["write_npz", "read_npz", "to_plain"]


def write_npz(
    path: str | os.PathLike,
    *,
    fmt: str,
    version: int,
    obj: Any,
    params: dict[str, Any],
    arrays: dict[str, np.ndarray],
    extra: dict[str, Any] | None = None,
) -> None:
    """Write ``arrays`` and a JSON header describing ``obj`` (its class and ``params``) to ``path``."""
    params = {name: to_plain(value) for name, value in params.items()}
    bad = []
    for name, value in params.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            bad.append(name)
    if bad:
        desc = ", ".join(f"{name}={params[name]!r}" for name in bad)
        hint = " (use an int random_state)" if "random_state" in bad else ""
        raise ValueError(f"save: parameters must be JSON serialisable{hint}, got {desc}")
    params_json = json.dumps(params)
    meta = {
        "format": fmt,
        "format_version": version,
        "class": type(obj).__name__,
        "reelrec_version": getattr(_core, "__version__", "dev"),
        "params": json.loads(params_json),
    }
    if extra:
        meta.update(extra)
    with open(os.fspath(path), "wb") as fh:
        np.savez(fh, __meta__=np.array(json.dumps(meta)), **arrays)


def to_plain(value: Any) -> Any:
    """NumPy scalars and arrays as Python numbers and lists: serialisable, comparable with ==."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


@contextmanager
def read_npz(
    path: str | os.PathLike,
    *,
    fmt: str,
    version: int,
    registry: dict[str, type],
    base: type,
    file_kind: str,
    class_kind: str,
) -> Iterator[tuple[type, dict[str, Any], Any]]:
    """Open a file written by :func:`write_npz`; yields ``(class, header, arrays)``.

    The header is checked (format name, version not newer than ``version``) and
    the class it names must be registered and a subclass of ``base``. ``arrays``
    is the open ``NpzFile``, valid inside the ``with`` block only.
    """
    try:
        archive = np.load(os.fspath(path), allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"path: {os.fspath(path)!r} is not a reelrec {file_kind} file ({exc})"
        ) from exc
    with archive as data:
        if "__meta__" not in data.files:
            raise ValueError(
                f"path: {os.fspath(path)!r} is not a reelrec {file_kind} file (no header)"
            )
        meta = json.loads(str(data["__meta__"]))
        if meta.get("format") != fmt:
            raise ValueError(f"path: unexpected format {meta.get('format')!r}")
        if meta.get("format_version", 0) > version:
            raise ValueError(
                f"path: written by a newer reelrec (format {meta['format_version']}, "
                f"this version reads up to {version})"
            )
        klass = registry.get(meta["class"])
        if klass is None:
            raise ValueError(f"path: unknown {class_kind} class {meta['class']!r}")
        if not issubclass(klass, base):
            raise TypeError(f"path: holds a {meta['class']}, not a {base.__name__}")
        yield klass, meta, data
