"""The video API (seed 003): uploads into a per-user library with quota and bandwidth."""

from __future__ import annotations

from dataclasses import dataclass

from services.videos.landing import LandedVideo, VideoLanding
from services.videos.library import VideoLibrary
from services.videos.uploads import VideoUploads


@dataclass(frozen=True)
class VideoFeature:
    """Uploads into the library, the library itself (status, reads, links, deletes), and
    the landing of objects another feature stored (recordings uploaded in parts)."""

    uploads: VideoUploads
    library: VideoLibrary
    landing: VideoLanding


__all__ = ["LandedVideo", "VideoFeature", "VideoLanding", "VideoLibrary", "VideoUploads"]
