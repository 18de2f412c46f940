"""Peer screenshots: pending requests, one-time upload tokens, uploads and listings."""

from services.screenshots.service import ScreenshotService

__all__ = ["ScreenshotService"]
