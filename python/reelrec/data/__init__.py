"""Data layer: interactions with id maps, video event weighting and splits."""

from .interactions import Interactions
from .splits import Split, leave_last_n_out, random_split, temporal_split, user_split
from .weighting import VideoEventWeights, video_event_confidence

__all__ = [
    "Interactions",
    "Split",
    "VideoEventWeights",
    "leave_last_n_out",
    "random_split",
    "temporal_split",
    "user_split",
    "video_event_confidence",
]
