"""`backroom portal` serves the web app on the port asked for, from the configured warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from backroom_reporting.warehouse.migrate import upgrade
from tests.portal.conftest import free_port


def test_backroom_portal_serves_the_app(tmp_path):
    warehouse = f"sqlite:///{tmp_path}/warehouse.db"
    upgrade(warehouse)
    port = free_port()
    env = os.environ | {
        "BACKROOM_WAREHOUSE_URL": warehouse,
        "BACKROOM_REPORT_STORE": str(tmp_path / "reports"),
        "BACKROOM_PORTAL_URL": f"http://127.0.0.1:{port}",
    }
    command = [
        sys.executable,
        "-c",
        "from backroom_reporting.cli import main; main()",
        "portal",
        "--port",
        str(port),
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read().decode()
            try:
                pixel = httpx.get(f"http://127.0.0.1:{port}/t/o/not-a-token", timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "backroom portal did not start listening"
                time.sleep(0.2)
        assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
        assert httpx.get(f"http://127.0.0.1:{port}/d/not-a-token").status_code == 403
    finally:
        server.terminate()
        server.wait(10)
