"""The what-if explorer: driven through its widgets (values set, Run clicked, the redrawn data
checked against :func:`sim.simulate` with the same overrides), its saved scenario run by the
command line, and its Voilà page (``make explore``) rendered in headless Chromium."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.report.explorer import Choices, adoption_curves, overrides, simulate_pair, variant

from .conftest import ROOT

pytest.importorskip("ipywidgets")
REPS = 6


def _variant_line(app, title: str) -> tuple[np.ndarray, np.ndarray]:
    """The variant's curve drawn in the panel titled ``title`` (its x and y)."""
    ax = next(a for a in app.curves.axes if a.get_title() == title)
    line = next(ln for ln in ax.get_lines() if ln.get_label() == "variant")
    return np.asarray(line.get_xdata()), np.asarray(line.get_ydata())


@pytest.fixture(scope="module")
def app():
    return sim.explore(replications=REPS)


def test_widgets_drive_a_paired_run_and_the_plot_matches_simulate(app) -> None:
    assert app.pair is not None
    assert app.progress.value == 3
    assert app.curves_image.value[:4] == b"\x89PNG"
    before = _variant_line(app, "sanctions package")
    first_png = app.forest_image.value
    app.rules["sanctions_package"].value = "qmv"
    app.state.value = "HU"
    app.holdout.value = 0.9
    app.agenda.value = 0.5
    app.run_button.click()
    app.thread.join(timeout=120)
    assert app.progress.value == 3, app.status.value
    assert app.choices.rules == {"sanctions_package": "qmv"}
    assert app.choices.holdout == {"HU": 0.9}
    after = _variant_line(app, "sanctions package")
    assert not (len(before[0]) == len(after[0]) and np.allclose(before[1], after[1]))
    assert app.forest_image.value != first_png
    # the same overrides through the public facade give the plotted curve exactly
    reference = sim.load_scenario("eu27_baseline")
    expected = sim.simulate(
        sim.load_scenario("eu27_baseline", overrides(app.choices, reference)),
        replications=REPS,
        seed=2025,
    )
    x, y = adoption_curves(expected.proposals)["sanctions_package"]
    np.testing.assert_allclose(after[0], np.maximum(x, 0.1))
    np.testing.assert_allclose(after[1], y)
    # the forest plot's first panel shows the paired difference of the same runs
    base = sim.simulate(reference, replications=REPS, seed=2025)
    days = [
        m[(m["metric"] == "time_to_adoption_mean") & (m["group"] == "sanctions_package")].set_index(
            "replication"
        )["value"]
        for m in (base.metrics, expected.metrics)
    ]
    drawn = app.forest.axes[0].collections[-1].get_offsets()[0][0]  # first row: the focus type
    assert drawn == pytest.approx(float((days[1] - days[0]).mean()))


def test_saved_scenario_runs_with_the_command_line(app, tmp_path: Path) -> None:
    app.save_name.value = str(tmp_path / "mine.toml")
    app.save_button.click()
    saved = tmp_path / "mine.toml"
    assert "cfsp-sim run" in app.status.value
    loaded = sim.load_scenario(saved)
    wanted = variant(app.current_choices())
    assert loaded.proposal_types["sanctions_package"].rule == "qmv"
    assert loaded.member_states["HU"].holdout_probability == 0.9
    assert loaded.bodies == wanted.bodies
    assert loaded.model_copy(update={"name": wanted.name, "experiment": wanted.experiment}) == (
        wanted
    )
    out = tmp_path / "run"
    args = ["run", str(saved), "-n", "2", "--seed", "1", "--horizon", "90", "--quiet"]
    assert main([*args, "--workers", "1", "--out", str(out)]) == 0
    assert (out / "report.html").is_file()


def test_wave_and_capitals_change_the_variant() -> None:
    choices = Choices(wave="enlargement_eu30", instruction_median=3.0, replications=3)
    s = variant(choices)
    assert len(s.resolved_members()) == 30
    assert s.member_defaults.instruction_delay.median == 3.0
    pair = simulate_pair(choices)
    t = pair.table
    days = t[(t["metric"] == "time_to_adoption_mean") & (t["group"] == "all")].iloc[0]
    assert days["n_pairs"] == 3
    assert days["difference"] > 0  # capitals three times slower: later adoption


# --- the Voilà page in headless Chromium ------------------------------------------------------

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer in {seconds} s")


class _Browser:
    """Headless Chromium driven through the DevTools protocol (one page)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.n = 0

    @staticmethod
    def url(port: int) -> str:
        pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        return next(p for p in pages if p["type"] == "page")["webSocketDebuggerUrl"]

    def call(self, method: str, **params: object) -> dict:
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=60))
            if msg.get("id") == self.n:
                return msg.get("result", {})

    def evaluate(self, expression: str) -> object:
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return res.get("result", {}).get("value")


PROBE = """(() => ({
  dropdowns: document.querySelectorAll('.widget-dropdown select').length,
  sliders: document.querySelectorAll('.widget-slider').length,
  buttons: [...document.querySelectorAll('button')].map(b => b.textContent.trim()),
  images: [...document.querySelectorAll('.widget-image')]
            .map(i => [i.complete, i.naturalWidth]),
}))()"""


@pytest.mark.slow
def test_voila_page_renders_the_widgets_and_a_figure(tmp_path: Path) -> None:
    pytest.importorskip("voila")
    pytest.importorskip("websockets")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: run `make browser` (Debian's chromium package)")
    voila_port, debug_port = _free_port(), _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    voila = subprocess.Popen(
        [sys.executable, "-m", "voila", str(ROOT / "notebooks" / "05_explorer.ipynb"),
         f"--port={voila_port}", "--no-browser", "--Voila.ip=127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    browser = subprocess.Popen(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", f"--remote-debugging-port={debug_port}",
         f"--user-data-dir={tmp_path / 'profile'}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_http(f"http://127.0.0.1:{voila_port}/", 120)
        _wait_http(f"http://127.0.0.1:{debug_port}/json/version", 60)
        from websockets.sync.client import connect

        with connect(_Browser.url(debug_port), max_size=None) as ws:
            page = _Browser(ws)
            page.call("Page.navigate", url=f"http://127.0.0.1:{voila_port}/")
            seen: dict = {}
            end = time.monotonic() + 180
            while time.monotonic() < end:
                seen = page.evaluate(PROBE) or {}
                images = seen.get("images", [])
                if images and all(done and width > 100 for done, width in images):
                    break
                time.sleep(1)
        assert seen.get("dropdowns", 0) >= 8, seen  # reference, wave, rules per type, state
        assert seen.get("sliders", 0) >= 4, seen
        assert "Run" in seen.get("buttons", []), seen
        assert "Save this scenario" in seen.get("buttons", []), seen
        assert len(seen["images"]) == 2, seen  # the curves and the forest plot, decoded
        assert all(done and width > 100 for done, width in seen["images"]), seen
    finally:
        browser.terminate()
        voila.terminate()
        browser.wait(timeout=30)
        voila.wait(timeout=30)
