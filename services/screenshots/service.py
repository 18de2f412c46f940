"""Screenshot requests: keep them pending, offer them to peers, take the peers' uploads."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urljoin

from services.clients.peers import EdgeClient, Peer, PeerRegistry, PeerServiceUnavailable
from services.core.errors import InvalidRequest
from services.screenshots.records import ISSUED, PENDING, ScreenshotRecords, is_safe_id
from services.screenshots.tokens import PeerTokens
from services.screenshots.upload import FilePartLike, ScreenshotUploads

log = logging.getLogger("mediastore.screenshots")


class ScreenshotService:
    """The screenshot capability: two event handlers, the peer upload and the user listing.

    The handlers succeed whenever the event itself is valid: a registry or edge that
    cannot be reached leaves the request pending (logged) until a peer.available event
    or a redelivered request offers it again. Invalid event data raises InvalidRequest.
    """

    def __init__(
        self,
        *,
        records: ScreenshotRecords,
        tokens: PeerTokens,
        registry: PeerRegistry,
        edge: EdgeClient,
        uploads: ScreenshotUploads,
        clock: Callable[[], datetime],
        pending_ttl: timedelta,
        public_base_url: str | None = None,
    ) -> None:
        self.records = records
        self.tokens = tokens
        self.registry = registry
        self.edge = edge
        self.uploads = uploads
        self.clock = clock
        self.pending_ttl = pending_ttl
        self.public_base_url = public_base_url

    def handle_requested(self, data: dict[str, Any]) -> None:
        """Store a media.screenshots.requested event as a pending request and offer it to peers."""
        if not isinstance(data, dict):
            raise InvalidRequest("Event data must be an object")
        request_id = _required_id(data, "request_id")
        catalog_id = _required_id(data, "catalog_id")
        now = self.clock()
        created_at = _parse_time(data.get("created_at"), "created_at") or now
        expires_at = _parse_time(data.get("expires_at"), "expires_at") or (
            created_at + self.pending_ttl
        )
        if expires_at <= now:
            log.info("screenshot request %s expired at %s; ignored", request_id, expires_at)
            return
        requester = data.get("requester_service")
        request = self.records.add_request(
            {
                "_id": request_id,
                "request_id": request_id,
                "catalog_id": catalog_id,
                "requester_service": requester if isinstance(requester, str) else None,
                "created_at": created_at,
                "expires_at": expires_at,
                "received_at": now,
            }
        )
        # A redelivered request is offered again (reusing live tokens) while still pending.
        if request["state"] == PENDING and request["expires_at"] > now:
            self._offer_to_registered_peers(request)

    def handle_peer_available(self, data: dict[str, Any]) -> None:
        """Offer a peer.available.with_requested_media peer the pending requests of its media."""
        if not isinstance(data, dict):
            raise InvalidRequest("Event data must be an object")
        peer_id, edge_id, catalog_ids = (
            data.get("peer_id"), data.get("edge_id"), data.get("catalog_ids"),
        )  # fmt: skip
        if not (isinstance(peer_id, str) and peer_id and isinstance(edge_id, str) and edge_id):
            raise InvalidRequest("peer_id and edge_id are required")
        if not isinstance(catalog_ids, list) or not all(isinstance(c, str) for c in catalog_ids):
            raise InvalidRequest("catalog_ids must be a list of strings")
        peer = Peer(peer_id, edge_id)
        for request in self.records.pending_for(catalog_ids):
            self._offer(request, peer)

    def upload(
        self, authorization: str | None, catalog_id: str, files: Iterable[FilePartLike]
    ) -> dict[str, Any]:
        """Take a peer's screenshots (raw Authorization header); see ScreenshotUploads."""
        return self.uploads.upload(authorization, catalog_id, files)

    def list_urls(self, catalog_id: str) -> list[str]:
        """Fresh signed URLs of a catalog item's screenshots (empty when there are none)."""
        return self.uploads.sign(self.records.screenshot_names(catalog_id))

    def resume_completions(self) -> int:
        """Finish requests a crash left between the upload gate and the completed event."""
        return self.uploads.resume_completions()

    def _offer_to_registered_peers(self, request: dict[str, Any]) -> None:
        try:
            peers = self.registry.peers_with(request["catalog_id"])
        except PeerServiceUnavailable as error:
            log.warning("request %s stays pending: %s", request["_id"], error.message)
            return
        for peer in peers:
            self._offer(request, peer)

    def _offer(self, request: dict[str, Any], peer: Peer) -> None:
        """Send the peer its one live token for the request through its edge; failures logged."""
        claims = self.records.live_token(request["_id"], peer.peer_id)
        if claims is None:
            _, fresh = self.tokens.issue(
                peer_id=peer.peer_id, catalog_id=request["catalog_id"], request_id=request["_id"]
            )
            claims, _ = self.records.offer_token(fresh)
            if self.records.token(claims.token_id)["state"] != ISSUED:
                log.info(
                    "peer %s is uploading for %s; not offered again", peer.peer_id, request["_id"]
                )
                return
        payload = {
            "peer_id": peer.peer_id,
            "catalog_id": request["catalog_id"],
            "token": self.tokens.encode(claims),  # the same claims always give the same token
            "screenshot_upload_url": self._upload_url(request["catalog_id"]),
        }
        if not self.edge.request_screenshots(peer.edge_id, payload):
            log.warning("request %s not delivered to peer %s", request["_id"], peer.peer_id)

    def _upload_url(self, catalog_id: str) -> str:
        """Where the peer uploads: absolute, so the edge can hand it on as it is."""
        path = f"/api/screenshot/{quote(catalog_id, safe='')}"
        return urljoin(self.public_base_url, path) if self.public_base_url else path


def _required_id(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None or value == "":
        raise InvalidRequest(f"{key} is required")
    if not is_safe_id(value):
        raise InvalidRequest(f"{key} must match [A-Za-z0-9._-]{{1,128}} without a leading dot")
    return value


def _parse_time(value: Any, key: str) -> datetime | None:
    """An ISO 8601 string or epoch seconds as an aware UTC datetime; None when absent."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError) as error:
        raise InvalidRequest(f"{key} is not a valid timestamp") from error
    raise InvalidRequest(f"{key} is not a valid timestamp")
