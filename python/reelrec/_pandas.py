"""Optional pandas support."""

from __future__ import annotations

from typing import Any


def require_pandas(what: str) -> Any:
    """Import pandas or explain how to get it."""
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - exercised without pandas
        raise ImportError(
            f"{what} needs pandas, an optional dependency: pip install 'reelrec[pandas]'"
        ) from exc
    return pd
