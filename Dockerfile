# mediastore for Cloud Run: dependencies in a virtualenv built in one stage, the code run as a
# non-root user in another. Every dependency ships a manylinux wheel for CPython 3.11, so no
# compiler is needed.

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# The pinned runtime dependencies of pyproject.toml (no dev extras). Only pyproject.toml is
# copied, so a code-only change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install -r requirements.txt


FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_ENV=production \
    PORT=8080 \
    GUNICORN_THREADS=8

RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin mediastore
COPY --from=build /opt/venv /opt/venv

# The code runs from the source tree (gunicorn puts its cwd on sys.path), so a package missing
# from pyproject's package list cannot silently vanish from the image. Owned by root: read-only
# to the service user; compiled here because that user cannot write __pycache__.
WORKDIR /srv
COPY config.py wsgi.py gunicorn.conf.py ./
COPY app/ app/
COPY blueprints/ blueprints/
COPY services/ services/
RUN python -m compileall -q /srv
USER mediastore

EXPOSE 8080

# gunicorn.conf.py: WEB_CONCURRENCY worker processes (default one per core, as production runs
# MongoDB; the embedded store is single-process and always gets one), GUNICORN_THREADS (eight)
# threads each, bound to :$PORT (HOST defaults to 0.0.0.0 in production). The app reads
# GUNICORN_THREADS to cap large uploads at all threads but two (app/http_guard.py). timeout 0:
# request time limits are Cloud Run's, and idle request bodies time out in the app
# (REQUEST_BODY_IDLE_TIMEOUT_SECONDS). No --preload: gRPC clients created before fork hang.
# control_socket_disable: gunicorn >= 25.1 otherwise tries to open a runtime-control socket
# under $HOME, which this user has none of. The exec form makes gunicorn PID 1, so it gets
# Cloud Run's SIGTERM directly.
CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
