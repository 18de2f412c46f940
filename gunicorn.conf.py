"""gunicorn settings for `make run`: one worker, eight threads, bound to HOST:PORT."""

from config import load_config

_settings = load_config()
bind = f"{_settings['HOST']}:{_settings['PORT']}"
workers = 1
threads = 8
timeout = 0
