"""The HTML report in a real browser: headless Chromium, no console errors, all visible.

Chromium is driven through the DevTools protocol over a websocket (the
``websocket-client`` package): no chromedriver, no browser download.  The
screenshot goes to ``$EVALUATE_ARTIFACTS`` (default: the test's tmp_path), so CI
can keep it.  Skipped when /usr/bin/chromium is absent; ``.ci/run`` installs it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import struct
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from evaluate.study import run_study

websocket = pytest.importorskip("websocket", reason="the browser test needs websocket-client")

CHROMIUM = Path("/usr/bin/chromium")
STUDIES = Path(__file__).parents[2] / "studies"
KEY_ELEMENTS = ["#title", "#summary", "#effects", "#business-cases", "#provenance"]
WIDTH = 1280
TIMEOUT = 60.0  # seconds for Chromium to start and the page to load on a busy 2-core machine

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="headless Chromium not installed (apt-get install chromium)"
)


class DevTools:
    """A minimal DevTools-protocol client: send commands, collect events."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=TIMEOUT, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        seen = len(self.events)
        while time.monotonic() < deadline:
            for message in self.events[seen:]:
                if message.get("method") == event:
                    return message
            seen = len(self.events)
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(f"no {event} within {TIMEOUT} s")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors seen so far."""
        found = []
        for message in self.events:
            method, params = message.get("method"), message.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(" ".join(str(a.get("value", a)) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append(details.get("exception", {}).get("description") or details.get("text"))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                found.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
        return found

    def close(self) -> None:
        self.ws.close()


@contextlib.contextmanager
def _chromium(profile: Path):
    """A headless Chromium with a fresh profile; yields the DevTools HTTP endpoint."""
    log_path = profile.parent / "chromium.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",  # CI runs as root in a container
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={WIDTH},900",
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",  # Chromium picks a free port and writes it down
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,  # a file, not a pipe: a chatty browser must never block on a full pipe
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        # Two lines (port, browser path) once Chromium has written the file completely.
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if process.poll() is not None:
                pytest.fail(f"Chromium exited: {log_path.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("Chromium did not open its DevTools port in time")
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)


def _page(endpoint: str) -> DevTools:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    with direct.open(f"{endpoint}/json/list", timeout=TIMEOUT) as response:
        targets = json.load(response)
    page = next(t for t in targets if t.get("type") == "page")
    return DevTools(page["webSocketDebuggerUrl"])


_CHECK = """
(() => {
  const shown = (el) => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return {width: r.width, height: r.height,
            visible: s.display !== 'none' && s.visibility !== 'hidden' && s.opacity !== '0'};
  };
  const out = {elements: {}, images: []};
  for (const sel of SELECTORS) {
    const el = document.querySelector(sel);
    out.elements[sel] = el ? shown(el) : null;
  }
  for (const img of document.images) {
    out.images.push({alt: img.alt, complete: img.complete, natural: img.naturalWidth,
                     ...shown(img)});
  }
  out.height = Math.ceil(document.documentElement.scrollHeight);
  out.overflowX = document.documentElement.scrollWidth > window.innerWidth;
  out.wide = [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 5).map((el) => el.tagName + (el.id ? '#' + el.id : '') + ': '
                     + (el.textContent || '').trim().slice(0, 40));
  return out;
})()
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Render the Faxe report, load it in Chromium once, and keep what the tests check."""
    tmp = tmp_path_factory.mktemp("browser")
    run_study(STUDIES / "faxe_fleksjob.toml", tmp / "report")
    html = tmp / "report" / "report.html"
    artifacts = Path(os.environ.get("EVALUATE_ARTIFACTS") or tmp)
    artifacts.mkdir(parents=True, exist_ok=True)
    with _chromium(tmp / "profile") as endpoint:
        page = _page(endpoint)
        try:
            for domain in ("Page", "Runtime", "Log"):
                page.send(f"{domain}.enable")
            page.send("Page.navigate", url=html.as_uri())
            page.wait_for("Page.loadEventFired")
            check = page.send(
                "Runtime.evaluate",
                expression=_CHECK.replace("SELECTORS", json.dumps(KEY_ELEMENTS)),
                returnByValue=True,
            )["result"]["value"]
            # A full-page screenshot: the viewport grown to the document's height.
            page.send(
                "Emulation.setDeviceMetricsOverride",
                width=WIDTH,
                height=check["height"],
                deviceScaleFactor=1,
                mobile=False,
            )
            shot = page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            errors = page.errors()
        finally:
            page.close()
    screenshot = artifacts / "report_faxe_fleksjob.png"
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    return {
        "check": check,
        "errors": errors,
        "screenshot": screenshot,
        "html": html.read_text(encoding="utf-8"),
    }


def test_no_console_errors(rendered):
    assert rendered["errors"] == [], f"console errors in the report: {rendered['errors']}"


@pytest.mark.parametrize("selector", KEY_ELEMENTS)
def test_key_element_visible(rendered, selector):
    box = rendered["check"]["elements"][selector]
    assert box is not None, f"{selector} missing from the report"
    assert box["visible"] and box["width"] > 0 and box["height"] > 0, (selector, box)


def test_images_decoded_and_visible(rendered):
    images = rendered["check"]["images"]
    # Every figure is embedded (3 effects and 2 business cases at least).
    assert len(images) == rendered["html"].count("<img ") >= 5
    for image in images:
        assert image["complete"] and image["natural"] > 0, f"image not decoded: {image['alt']}"
        assert image["visible"] and image["width"] > 0 and image["height"] > 0, image


def test_screenshot_written(rendered):
    data = rendered["screenshot"].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert width >= WIDTH and height == rendered["check"]["height"] > 900


def test_report_fits_the_window(rendered):
    wide = rendered["check"]["wide"]
    assert not rendered["check"]["overflowX"], f"wider than {WIDTH} px: {wide}"
