"""Previews: poster frames of videos and image thumbnails, made once, kept beside the original."""

from services.previews.service import Previews

__all__ = ["Previews"]
