"""The event types the screenshot feature handles and publishes."""

SCREENSHOTS_REQUESTED = "media.screenshots.requested"
SCREENSHOTS_COMPLETED = "media.screenshots.completed"
PEER_AVAILABLE = "peer.available.with_requested_media"
