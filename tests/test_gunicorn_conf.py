"""gunicorn.conf.py and the image: how many worker processes, for which metadata store."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from config import SETTINGS, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "gunicorn.conf.py"


@pytest.fixture
def environment(monkeypatch):
    """A clean environment for gunicorn.conf.py: development, nothing else set."""
    for name in (*SETTINGS, "APP_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "development")
    return monkeypatch


def test_the_embedded_store_gets_one_worker_whatever_the_cores(environment):
    conf = runpy.run_path(str(CONF))
    assert conf["workers"] == 1
    assert conf["worker_count"](load_config(), 16) == 1


def test_mongodb_gets_one_worker_per_core_by_default(environment):
    environment.setenv("MONGO_URI", "mongodb://db.invalid:27017")
    conf = runpy.run_path(str(CONF))
    assert conf["worker_count"](load_config(), 4) == 4
    assert conf["worker_count"](load_config(), None) == 1
    assert conf["threads"] == 8


def test_web_concurrency_sets_the_workers_with_mongodb(environment):
    environment.setenv("MONGO_URI", "mongodb://db.invalid:27017")
    environment.setenv("WEB_CONCURRENCY", "3")
    assert runpy.run_path(str(CONF))["workers"] == 3


@pytest.mark.parametrize("value", ["2", "0"])
def test_more_than_one_worker_without_mongodb_is_refused_at_start(environment, value):
    environment.setenv("WEB_CONCURRENCY", value)
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY"):
        runpy.run_path(str(CONF))


def test_web_concurrency_one_is_accepted_with_the_embedded_store(environment):
    environment.setenv("WEB_CONCURRENCY", "1")
    assert runpy.run_path(str(CONF))["workers"] == 1


def test_the_image_starts_gunicorn_with_the_config_file():
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    assert json.loads(cmd[4:]) == ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
    copies = [line for line in dockerfile.splitlines() if line.startswith("COPY ")]
    assert any("gunicorn.conf.py" in line.split() for line in copies)
