"""gunicorn settings for `make run`: one worker, GUNICORN_THREADS threads, bound to HOST:PORT."""

from config import load_config

_settings = load_config()
bind = f"{_settings['HOST']}:{_settings['PORT']}"
workers = 1
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
