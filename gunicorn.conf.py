"""gunicorn settings for `make run` and the image: workers, threads, bound to HOST:PORT."""

import ctypes
import ctypes.util
import os

from config import load_config

_settings = load_config()
MIB = 1024 * 1024
# glibc mallopt() parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def tune_malloc(mmap_threshold=8 * MIB, trim_threshold=32 * MIB):
    """Keep freed megabyte buffers in the heap for reuse instead of returning them each time.

    A streamed body passes through 1 MiB buffers: the read, and gunicorn's chunk framing
    (a join into a new buffer). With glibc's defaults each one is fresh memory from the
    kernel, paged in and zeroed, then given back: that doubled the worker's CPU per byte
    relayed (docs/benchmarks.md). Set here, in the master, so every forked worker has it.
    Returns False where there is no glibc (the defaults then stay).
    """
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(
        libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)
        and libc.mallopt(M_TRIM_THRESHOLD, trim_threshold)
    )


def worker_count(settings, cpus):
    """WEB_CONCURRENCY if set; else one per core with MongoDB, one with the embedded store.

    The embedded store (litemongo) makes each single-document update atomic by running one
    call at a time inside one process; two processes could both pass the same condition.
    MongoDB makes them atomic itself, so there a process per core can use every core.
    """
    if settings.get("WEB_CONCURRENCY"):
        return settings["WEB_CONCURRENCY"]
    return max(1, cpus or 1) if settings.get("MONGO_URI") else 1


malloc_tuned = tune_malloc()
bind = f"{_settings['HOST']}:{_settings['PORT']}"
# The cores this process may run on (a container's share), not the host's count.
workers = worker_count(_settings, len(os.sched_getaffinity(0)))
# The body guard (app/http_guard.py) sizes its cap on large uploads from the same setting.
threads = _settings["GUNICORN_THREADS"]
# Request time limits are the body guard's (idle reads) and, on Cloud Run, the platform's.
timeout = 0
# gunicorn >= 25.1 otherwise opens a runtime-control socket in $HOME (or XDG_RUNTIME_DIR),
# shared by every checkout and user of that home; nothing here uses it.
control_socket_disable = True
