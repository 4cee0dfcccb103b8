"""Browser tests: the real app served over HTTP, driven in Debian's headless Chromium.

They skip, saying why, where Chromium, its driver or the Mermaid build is missing;
with OPSCORE_BROWSER_TESTS=required (set by .ci/run) they fail instead, so CI cannot
pass by skipping them.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import threading
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from opscore.api import create_app
from opscore.api.ui import MERMAID_BUILD, mermaid_available
from opscore.api.ui import blp as ui_blueprint
from opscore.clock import ManualClock
from opscore.core import OpsCore
from opscore.definitions import DefinitionRegistry
from opscore.store import MemoryStore, MemoryWorkQueue
from tests.support.constants import API_KEY, BROWSER_WAIT_SECONDS, MACHINES, ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1400",
)


def unavailable(reason: str) -> None:
    """Skip with `reason`, or fail when the browser tests are required."""
    if os.environ.get("OPSCORE_BROWSER_TESTS") == "required":
        pytest.fail(f"browser tests are required but {reason}")
    pytest.skip(reason)


def executable(variable: str, name: str) -> str | None:
    """The program named by `variable`, else `name` on PATH; None unless it can run."""
    path = os.environ.get(variable) or shutil.which(name)
    return path if path and os.access(path, os.X_OK) else None


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """A headless Chromium driven by Debian's chromedriver, with a fresh profile."""
    chromium = executable("OPSCORE_CHROMIUM", "chromium")
    chromedriver = executable("OPSCORE_CHROMEDRIVER", "chromedriver")
    if not chromium or not chromedriver:
        unavailable("Chromium is not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    # Both paths given: Selenium Manager (which would download drivers) is never run.
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(chromedriver))
    driver.set_script_timeout(BROWSER_WAIT_SECONDS)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def mermaid_build() -> Path:
    """The Mermaid build the service serves at /ui/static/vendor/mermaid.min.js."""
    if not mermaid_available():
        path = Path(ui_blueprint.static_folder, MERMAID_BUILD).relative_to(ROOT)
        unavailable(f"the Mermaid build {path} is missing (make ui-assets fetches it with npm)")
    return Path(ui_blueprint.static_folder, MERMAID_BUILD)


@pytest.fixture
def live_core(callbacks):
    """An OpsCore over the shipped machines with four workers and a manual clock."""
    clock = ManualClock()
    definitions = DefinitionRegistry()
    definitions.load([MACHINES], callbacks)
    store = MemoryStore(history_cap=200, clock=clock, queue=MemoryWorkQueue(100, clock))
    core = OpsCore(definitions, store, callbacks, clock=clock, rng=random.Random(7))
    core.start(4)
    yield core
    core.stop()


class LiveServer:
    """The app served by werkzeug in a thread, with a small JSON client for its API.

    `answered` counts, per path, the requests the app has answered (their body built).
    """

    def __init__(self, app) -> None:
        self.app = app
        self.answered: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self._counting, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _counting(self, environ, start_response):
        body = self.app(environ, start_response)
        with self._lock:
            self.answered[environ["PATH_INFO"]] += 1
        return body

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        """Send a request with the API key; the status and the decoded body."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw = response.status, response.read()
                kind = response.headers.get_content_type()
        except urllib.error.HTTPError as error:
            status, raw, kind = error.code, error.read(), error.headers.get_content_type()
            error.close()
        return status, json.loads(raw) if kind == "application/json" else raw.decode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def live_server(live_core):
    """The real app over `live_core`, listening on a free loopback port."""
    server = LiveServer(create_app({"api_keys": API_KEY, "log_level": "WARNING"}, core=live_core))
    yield server
    server.close()


@pytest.fixture
def artifacts() -> Path:
    """The git-ignored folder screenshots are saved to."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
