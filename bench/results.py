"""One measured figure beside its anchor and target, and how the run reports them."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    """A service measurement, its anchor on the same data, and the target for their ratio.

    With `at_most` set the target is an absolute ceiling on `service` (memory growth);
    otherwise it is a floor on service / anchor. A figure without a target is a reference:
    it is reported, never met or missed.
    """

    key: str
    title: str
    unit: str
    service: float
    anchor: float | None
    anchor_name: str
    target: float | None
    at_most: bool = False
    samples: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.at_most or not self.anchor:
            return None
        return self.service / self.anchor

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if self.at_most:
            return self.service < self.target
        return self.ratio is not None and self.ratio >= self.target

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


def summary(values: list[float]) -> dict[str, Any]:
    """Best, median and every value of repeated runs."""
    return {"best": max(values), "median": statistics.median(values), "runs": values}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def code() -> dict[str, Any]:
    """The commit measured, and whether files outside bench/ differ from it."""
    root = Path(__file__).resolve().parent.parent

    def git(*command: str) -> str:
        result = subprocess.run(["git", *command], cwd=root, capture_output=True, text=True)
        return result.stdout if result.returncode == 0 else ""

    changed = [line[3:] for line in git("status", "--porcelain").splitlines()]
    return {
        "commit": git("rev-parse", "HEAD").strip() or None,
        "changed_outside_bench": [path for path in changed if not path.startswith("bench/")],
    }


def table(figures: list[Figure]) -> str:
    """The figures as a fixed-width text table."""
    header = ("figure", "service", "anchor", "ratio", "target", "met")
    rows = [header]
    for fig in figures:
        anchor = "-" if fig.anchor is None else f"{fig.anchor:,.1f} {fig.unit} ({fig.anchor_name})"
        ratio = "-" if fig.ratio is None else f"{fig.ratio:.2f}x"
        if fig.target is None:
            target, met = "-", "-"
        else:
            target = f"< {fig.target:g} {fig.unit}" if fig.at_most else f">= {fig.target:g}x"
            met = "yes" if fig.met else "NO"
        rows.append((fig.title, f"{fig.service:,.1f} {fig.unit}", anchor, ratio, target, met))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def write_json(path: Path, figures: list[Figure], settings: dict[str, Any], seconds: float) -> None:
    """Write the run's figures, settings and machine to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine(),
        "code": code(),
        "settings": settings,
        "runtime_seconds": round(seconds, 1),
        "figures": [fig.to_json() for fig in figures],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
