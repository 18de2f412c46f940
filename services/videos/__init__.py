"""The video API (seed 003): uploads into a per-user library with quota and bandwidth."""

from __future__ import annotations

from dataclasses import dataclass

from services.videos.library import VideoLibrary
from services.videos.uploads import VideoUploads


@dataclass(frozen=True)
class VideoFeature:
    """Uploads into the library, and the library itself (status, reads, links, deletes)."""

    uploads: VideoUploads
    library: VideoLibrary


__all__ = ["VideoFeature", "VideoLibrary", "VideoUploads"]
