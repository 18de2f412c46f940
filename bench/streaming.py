"""Full-object and random-range reads through /stream/video beside the same reads direct."""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass, field

import requests

from bench.client import MIB, download, fetch_ranges
from bench.procs import Server
from bench.results import Figure, summary

MB = 1_000_000
WARM_UP_RANGES = 8


@dataclass(frozen=True)
class Source:
    """One way to read the object: a URL, the headers it needs, the servers it goes through."""

    name: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    servers: tuple[Server, ...] = ()


def full_object(
    key: str,
    title: str,
    service: Source,
    anchor: Source,
    size: int,
    runs: int,
    target: float,
    references: tuple[Source, ...] = (),
) -> list[Figure]:
    """Median MB/s of `runs` whole-object GETs (no Range header) from each source, interleaved.

    Each transfer also records the CPU seconds spent by the client and by every server the
    source goes through (reported as the mean per transfer). Each reference (another relay
    in front of the anchor) adds a figure with no target: its ratio to the anchor is what a
    relay can reach on this machine.
    """
    sources = (anchor, service, *references)
    rates: dict[str, list[float]] = {source.name: [] for source in sources}
    cpu: dict[str, list[dict[str, float]]] = {source.name: [] for source in sources}
    with requests.Session() as session:
        for _ in range(runs):
            for source in sources:
                before = _cpu_seconds(source)
                received, seconds = download(session, source.url, source.headers)
                spent = _cpu_seconds(source)
                if received != size:
                    raise RuntimeError(f"{source.name}: {received} bytes, expected {size}")
                rates[source.name].append(received / seconds / MB)
                cpu[source.name].append({part: spent[part] - before[part] for part in spent})
    medians = {name: summary(values)["median"] for name, values in rates.items()}
    cpu_means = {name: _mean_parts(runs_cpu) for name, runs_cpu in cpu.items()}
    for source in sources:
        parts = ", ".join(f"{part} {secs:.3f}" for part, secs in cpu_means[source.name].items())
        wall = size / MB / medians[source.name]
        print(f"[bench] {key} {source.name}: CPU s per transfer: {parts}; wall {wall:.3f}")
    samples = {name: summary(values) for name, values in rates.items()}
    figures = [
        Figure(
            key,
            title,
            "MB/s",
            medians[service.name],
            medians[anchor.name],
            anchor.name,
            target,
            samples={
                "service": samples[service.name],
                "anchor": samples[anchor.name],
                "cpu_seconds_per_transfer": cpu_means,
            },
        )
    ]
    for reference in references:
        figures.append(
            Figure(
                f"{key}_{reference.name}",
                f"{title}, via {reference.name}",
                "MB/s",
                medians[reference.name],
                medians[anchor.name],
                anchor.name,
                None,
                samples={"reference": samples[reference.name], "service": samples[service.name]},
            )
        )
    return figures


def _cpu_seconds(source: Source) -> dict[str, float]:
    """CPU seconds so far of this (client) process and of each server behind `source`."""
    spent = {"client": time.process_time()}
    spent.update((server.name, server.cpu_seconds()) for server in source.servers)
    return spent


def _mean_parts(runs: list[dict[str, float]]) -> dict[str, float]:
    # A mean, not a median: /proc counts in 10 ms ticks, coarse for a single transfer.
    return {part: statistics.fmean(run[part] for run in runs) for part in runs[0]}


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
