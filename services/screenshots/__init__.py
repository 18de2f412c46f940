"""Peer screenshots: pending requests, one-time upload tokens, uploads and listings."""

from services.screenshots.service import ScreenshotService, build_screenshot_service

__all__ = ["ScreenshotService", "build_screenshot_service"]
