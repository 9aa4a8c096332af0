"""Data layer: interactions with id maps, weighting and splits."""

from .interactions import Interactions

__all__ = ["Interactions"]
