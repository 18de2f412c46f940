"""`python -m bench.run`: measure the service beside anchors it starts on the same data."""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench import page, parts, scenarios
from bench.procs import ROOT, Processes
from bench.results import Figure, table, write_json

PHASES = ("gcs", "local", "upload", "status", "small", "media", "entities", "parts", "page")
RUNNERS = {**scenarios.PHASES, "parts": parts.parts_phase, "page": page.page_phase}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The run's knobs; every default is what docs/benchmarks.md reports."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--size-mib", type=int, default=256, help="streamed video size")
    parser.add_argument("--upload-mib", type=int, default=512, help="uploaded video size")
    parser.add_argument("--runs", type=int, default=7, help="repeats of each whole transfer")
    parser.add_argument("--range-requests", type=int, default=200, help="1 MiB ranges per pass")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--status-requests", type=int, default=2000, help="status GETs per pass")
    parser.add_argument("--status-users", type=int, nargs=2, default=(10, 10_000))
    parser.add_argument("--entity-counts", type=int, nargs=2, default=(10, 10_000))
    parser.add_argument("--entity-requests", type=int, default=2000, help="listings per round")
    parser.add_argument("--seed", type=int, default=20240229)
    parser.add_argument("--phases", default=",".join(PHASES), help="comma-separated subset")
    parser.add_argument("--output", type=Path, default=ROOT / "bench/results/latest.json")
    parser.add_argument(
        "--service-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra setting for every service process, e.g. STORAGE_READ_CHUNK_BYTES=1048576",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--max-minutes", type=float, default=20, help="abort after this long")
    args = parser.parse_args(argv)
    unknown = set(args.phases.split(",")) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if any("=" not in item for item in args.service_env):
        parser.error("--service-env takes NAME=VALUE")
    args.service_env = dict(item.split("=", 1) for item in args.service_env)
    return args


def _abort(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(args: argparse.Namespace, work: Path, procs: Processes) -> list[Figure]:
    """Run the chosen phases in order and collect their figures."""
    media = scenarios.write_media(work, args)
    figures: list[Figure] = []
    for phase in args.phases.split(","):
        started = time.perf_counter()
        figures += RUNNERS[phase](args, work, procs, media)
        print(f"[bench] {phase} done in {time.perf_counter() - started:.0f}s", flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the JSON; stop everything it started."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _abort)
    signal.signal(signal.SIGALRM, _abort)
    signal.alarm(int(args.max_minutes * 60))
    work = Path(tempfile.mkdtemp(prefix="mediastore-bench-"))
    procs = Processes(work)
    started = time.perf_counter()
    try:
        figures = run(args, work, procs)
    except KeyboardInterrupt as stop:
        print(f"[bench] interrupted ({str(stop) or 'Ctrl-C'}); stopped", file=sys.stderr)
        return 130
    except BaseException:
        for server in procs.servers:
            print(f"[bench] {server.name} log tail:\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        signal.alarm(0)
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - started
    print(table(figures))
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    write_json(args.output, figures, settings, seconds)
    print(f"[bench] {len(figures)} figures in {seconds:.0f}s -> {args.output}")
    missed = [fig.key for fig in figures if fig.met is False]
    print(f"[bench] missed targets: {', '.join(missed)}" if missed else "[bench] all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
