"""GET /storage-status with few and with many users stored."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.client import TIMEOUT, bearer, mint_token
from bench.seed import FILES_PER_USER

WARM_UP = 20


def status_rate(
    base_url: str, secret: str, users: list[str], count: int, clients: int, seed: int
) -> float:
    """Requests/s of `count` status requests for seeded random users, `clients` at once."""
    rng = random.Random(seed)
    chosen = [rng.choice(users) for _ in range(count + WARM_UP)]
    tokens = {uid: mint_token(secret, uid) for uid in set(chosen)}
    url = f"{base_url}/storage-status"

    def run(share: list[str]) -> None:
        with requests.Session() as session:
            for uid in share:
                response = session.get(url, headers=bearer(tokens[uid]), timeout=TIMEOUT)
                if response.status_code != 200:
                    raise RuntimeError(f"status for {uid}: HTTP {response.status_code}")
                if len(response.json()["files"]) != FILES_PER_USER:
                    raise RuntimeError(f"status for {uid}: wrong file list")

    run(chosen[:WARM_UP])
    measured = chosen[WARM_UP:]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="status") as pool:
        list(pool.map(run, [measured[i::clients] for i in range(clients)]))
    return count / (time.perf_counter() - started)
