"""`flask banner`: the curl lines `make run` prints work as printed, on every start."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.fixtures.live import serve

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")


def _curl_lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith("curl ")]


def test_the_printed_curl_lines_work_as_printed_on_every_start(make_app, tmp_path):
    app = make_app()
    with serve(app) as url:
        app.config["PUBLIC_BASE_URL"] = url
        names = []
        for _start in range(2):
            result = app.test_cli_runner().invoke(args=["banner"])
            assert result.exit_code == 0, result.output
            upload, status, stream = _curl_lines(result.output)
            # The stream line saves its range to /tmp; the test keeps it in its own directory.
            stream = stream.replace("/tmp/part.mp4", str(tmp_path / "part.mp4"))
            answers = [
                subprocess.run(line, shell=True, capture_output=True, text=True, timeout=60)
                for line in (upload, status, stream)
            ]
            assert all(answer.returncode == 0 for answer in answers)
            uploaded = json.loads(answers[0].stdout)
            assert uploaded.get("message") == "File uploaded successfully", uploaded
            names.append(uploaded["filename"])
            listed = [f["name"] for f in json.loads(answers[1].stdout)["files"]]
            assert uploaded["filename"] in listed
            assert answers[2].stdout.startswith("HTTP/1.1 206")
            assert stream.endswith(f"/stream/video/{uploaded['filename']}")
            assert (tmp_path / "part.mp4").stat().st_size == 1024
        assert names[0] != names[1]


def test_the_banner_is_refused_in_production(make_app):
    app = make_app()
    app.config["APP_ENV"] = "production"
    result = app.test_cli_runner().invoke(args=["banner"])
    assert result.exit_code != 0 and "production" in result.output


def test_the_banner_with_a_public_key_names_it_and_mints_nothing(make_app, tmp_path):
    from tests.fixtures.entities import Keys

    app = make_app(JWT_ALGORITHM="ES256", JWT_PUBLIC_KEY=Keys().public_pem, AUTH_DISABLED=True)

    result = app.test_cli_runner().invoke(args=["banner"])

    assert result.exit_code == 0, result.output
    assert "ES256" in result.output and "Bearer" not in result.output
    assert "/entity/" in result.output
