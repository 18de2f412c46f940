"""Peak resident memory of a server process while a step runs, read from /proc."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
SAMPLE_SECONDS = 0.05
MAX_SAMPLES = 20 * 60 * 20  # 20 minutes of samples, then the sampler stops by itself


@dataclass
class RssGrowth:
    """Resident set before a step, its peak during it, and the growth in bytes."""

    before: int = 0
    peak: int = 0
    samples: int = 0
    hwm_reset: bool = False

    @property
    def growth(self) -> int:
        return max(0, self.peak - self.before)


def read_status_kib(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux clear_refs 5); False where that is refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@contextmanager
def watch_rss(pid: int) -> Iterator[RssGrowth]:
    """Sample VmRSS every 50 ms and read VmHWM at the end; peak is the larger of the two."""
    growth = RssGrowth(before=read_status_kib(pid, "VmRSS"))
    growth.hwm_reset = reset_peak(pid)
    growth.peak = growth.before
    stop = threading.Event()

    def sample() -> None:
        while growth.samples < MAX_SAMPLES and not stop.wait(SAMPLE_SECONDS):
            try:
                growth.peak = max(growth.peak, read_status_kib(pid, "VmRSS"))
            except (OSError, KeyError):
                return
            growth.samples += 1

    sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
    sampler.start()
    try:
        yield growth
    finally:
        stop.set()
        sampler.join(timeout=5)
        if growth.hwm_reset:
            growth.peak = max(growth.peak, read_status_kib(pid, "VmHWM"))
