"""The peer registry and the edge service, reached over HTTP with timeouts and bounded retries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from services.core.errors import MediastoreError

log = logging.getLogger("mediastore.screenshots")

RETRY_STATUSES = (500, 502, 503, 504)


class PeerServiceUnavailable(MediastoreError):
    """The registry or the edge service could not be reached or answered badly."""

    default_message = "Peer service is temporarily unavailable"


@dataclass(frozen=True)
class Peer:
    """A peer that holds the media, and the edge it is connected through."""

    peer_id: str
    edge_id: str


def outbound_session(retries: int, backoff_seconds: float = 0.2) -> requests.Session:
    """A Session that retries connection errors and 5xx answers at most `retries` times."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        status_forcelist=RETRY_STATUSES,
        # A repeated edge POST carries the same one-time token, so a duplicate is harmless.
        allowed_methods=frozenset({"GET", "POST"}),
        backoff_factor=backoff_seconds,
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class PeerRegistry:
    """GET {base}/api/peers/catalog/{catalog_id} -> [{peer_id, edge_id, catalog_ids}]."""

    def __init__(self, base_url: str | None, session: requests.Session, timeout: float) -> None:
        self.base_url = (base_url or "").rstrip("/")
        self.session = session
        self.timeout = timeout

    def peers_with(self, catalog_id: str) -> list[Peer]:
        """The peers holding the catalog item; PeerServiceUnavailable if the registry fails."""
        if not self.base_url:
            raise PeerServiceUnavailable("PEER_REGISTRY_URL is not configured")
        url = f"{self.base_url}/api/peers/catalog/{quote(catalog_id, safe='')}"
        try:
            response = self.session.get(url, timeout=self.timeout)
        except requests.RequestException as error:
            raise PeerServiceUnavailable(f"peer registry unreachable: {error}") from error
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise PeerServiceUnavailable(f"peer registry answered {response.status_code}")
        try:
            body = response.json()
        except ValueError as error:
            raise PeerServiceUnavailable("peer registry answered with invalid JSON") from error
        if not isinstance(body, list):
            raise PeerServiceUnavailable("peer registry answered with something not a list")
        return [peer for peer in map(_peer_from, body) if peer is not None]


class EdgeClient:
    """POST {base}/api/edge/{edge_id}/screenshot/request; the edge answers 202 when it accepts."""

    def __init__(self, base_url: str | None, session: requests.Session, timeout: float) -> None:
        self.base_url = (base_url or "").rstrip("/")
        self.session = session
        self.timeout = timeout

    def request_screenshots(self, edge_id: str, payload: dict[str, Any]) -> bool:
        """Ask the edge to forward the request to its peer; True only on 202. Never raises."""
        if not self.base_url:
            log.warning("EDGE_SERVICE_URL is not configured; screenshot request not sent")
            return False
        url = f"{self.base_url}/api/edge/{quote(edge_id, safe='')}/screenshot/request"
        try:
            response = self.session.post(url, json=payload, timeout=self.timeout)
        except requests.RequestException as error:
            log.warning("edge %s unreachable: %s", edge_id, error)
            return False
        if response.status_code != 202:
            log.warning("edge %s answered %s", edge_id, response.status_code)
            return False
        return True


def _peer_from(entry: Any) -> Peer | None:
    """A Peer from one registry entry, or None (logged) when the entry is unusable."""
    if isinstance(entry, dict):
        peer_id, edge_id = entry.get("peer_id"), entry.get("edge_id")
        if isinstance(peer_id, str) and peer_id and isinstance(edge_id, str) and edge_id:
            return Peer(peer_id, edge_id)
    log.warning("ignoring malformed peer registry entry %r", entry)
    return None
