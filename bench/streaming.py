"""Full-object and random-range reads through /stream/video beside the same reads direct."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import requests

from bench.client import MIB, download, fetch_ranges
from bench.results import Figure, summary

MB = 1_000_000
WARM_UP_RANGES = 8


@dataclass(frozen=True)
class Source:
    """One way to read the object: a URL and the headers it needs."""

    name: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


def full_object(
    key: str, title: str, service: Source, anchor: Source, size: int, runs: int, target: float
) -> Figure:
    """Median MB/s of `runs` whole-object GETs (no Range header) each, interleaved."""
    rates: dict[str, list[float]] = {service.name: [], anchor.name: []}
    with requests.Session() as session:
        for _ in range(runs):
            for source in (anchor, service):
                received, seconds = download(session, source.url, source.headers)
                if received != size:
                    raise RuntimeError(f"{source.name}: {received} bytes, expected {size}")
                rates[source.name].append(received / seconds / MB)
    runs_of = {name: summary(values) for name, values in rates.items()}
    return Figure(
        key,
        title,
        "MB/s",
        runs_of[service.name]["median"],
        runs_of[anchor.name]["median"],
        anchor.name,
        target,
        samples={"service": runs_of[service.name], "anchor": runs_of[anchor.name]},
    )


def random_ranges(size: int, count: int, seed: int, length: int = MIB) -> list[tuple[int, int]]:
    """`count` seeded inclusive ranges of `length` bytes inside an object of `size` bytes."""
    rng = random.Random(seed)
    starts = [rng.randrange(0, size - length + 1) for _ in range(count)]
    return [(start, start + length - 1) for start in starts]


def range_rates(
    key: str, title: str, service: Source, anchor: Source, ranges, clients: int, target: float
) -> Figure:
    """Requests/s for the same 1 MiB ranges through the service and direct, `clients` at once."""
    rates = {}
    for source in (anchor, service):
        fetch_ranges(source.url, source.headers, ranges[:WARM_UP_RANGES], 1)
        _, seconds = fetch_ranges(source.url, source.headers, ranges, clients)
        rates[source.name] = len(ranges) / seconds
    return Figure(
        key,
        title,
        "req/s",
        rates[service.name],
        rates[anchor.name],
        anchor.name,
        target,
        samples={"requests": len(ranges), "clients": clients, "range_bytes": MIB},
    )
