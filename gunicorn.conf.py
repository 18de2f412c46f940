"""gunicorn settings for `make run` and the image: workers, threads, bound to HOST:PORT."""

import os

from config import load_config

_settings = load_config()


def worker_count(settings, cpus):
    """WEB_CONCURRENCY if set; else one per core with MongoDB, one with the embedded store.

    The embedded store (litemongo) makes each single-document update atomic by running one
    call at a time inside one process; two processes could both pass the same condition.
    MongoDB makes them atomic itself, so there a process per core can use every core.
    """
    if settings.get("WEB_CONCURRENCY"):
        return settings["WEB_CONCURRENCY"]
    return max(1, cpus or 1) if settings.get("MONGO_URI") else 1


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


def post_worker_init(worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    """gunicorn's own error answers (bad request line, headers too large) as JSON."""
    from app.gunicorn_errors import answer_errors_as_json

    answer_errors_as_json()
