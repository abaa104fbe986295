"""End to end in a real JupyterLab in headless Chromium: the quickstart notebook, the picker,
the Load button and the tables. Debian's chromium (/usr/bin/chromium), driven by playwright;
.ci/run installs it. Off CI, without chromium, the test is skipped."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from cronofy_frames import sandbox

pytestmark = pytest.mark.slow  # make quick skips it

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = os.environ.get("CRONOFY_SCREENSHOT")  # where to keep the panel's picture

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError(
            "CI needs /usr/bin/chromium for the browser test (apt-get install chromium)"
        )
    pytest.skip("no /usr/bin/chromium here (apt-get install chromium)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def lab_settings(folder: Path) -> Path:
    """Every cell kept in the page (no windowing), and no news fetched from the internet."""
    for plugin, values in (
        ("notebook-extension/tracker", {"windowingMode": "none"}),
        ("apputils-extension/notification", {"fetchNews": "false"}),
    ):
        path = folder / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return folder


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab on 127.0.0.1 serving a copy of the notebooks; its URL with the token."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "notebooks" / "connection_health.ipynb", root)
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(root / ".cfg"),
        "JUPYTER_DATA_DIR": str(root / ".data"),
        "JUPYTER_RUNTIME_DIR": str(root / ".run"),
        "JUPYTERLAB_SETTINGS_DIR": str(lab_settings(root / ".settings")),
    }
    env.pop("CRONOFY_ACCESS_TOKEN", None)
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--allow-root",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # the server says when it listens
        if f"127.0.0.1:{port}/lab" in line:
            break
    else:
        raise AssertionError("jupyter lab did not start")
    yield f"http://127.0.0.1:{port}/lab/tree/connection_health.ipynb?token={token}"
    proc.terminate()
    proc.wait(timeout=30)


def accept_kernel(page: Any) -> None:
    """JupyterLab may ask which kernel to start: take the notebook's own (preselected)."""
    select = page.locator(".jp-Dialog button", has_text="Select")
    try:
        select.wait_for(timeout=15_000)
    except PlaywrightTimeout:
        return
    select.click()


UPLOADED = 3_000  # 500 a data center: one minute's budget of Cronofy's limit on each


def test_quickstart_notebook_at_scale_in_a_real_browser(lab: str, tmp_path: Path) -> None:
    """Run all; add a token by hand and find it past the first page; upload 3,000
    tokens of a server that enforces Cronofy's documented limits into the panel the
    notebook built for its own sandbox, load them (not one rate_limited), find a profile
    far past the first page and every profile to relink; Stop a slow load."""
    from playwright.sync_api import expect, sync_playwright

    options: sandbox.SandboxOptions = {"accounts": UPLOADED, "seed": 99}  # 50/s, 500/min
    with sandbox.serve(**options) as big, sync_playwright() as p:
        big.write_tokens_csv(tmp_path / "tokens.csv")
        mine = big.accounts[0]
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(lab)
        page.locator(".jp-Notebook").wait_for(timeout=60_000)
        accept_kernel(page)
        page.locator("li.lm-MenuBar-item", has_text="Run").click()
        page.locator("li[data-command='runmenu:run-all']").click()
        panel = page.locator(".widget-vbox", has=page.locator("button", has_text="Load")).first
        tab = panel.locator(".lm-TabBar-tab", has_text="Health (150)")
        tab.wait_for(timeout=120_000)  # run-all loaded the notebook's own sandbox
        add_by_hand(panel, mine, expect)
        upload_and_load(panel, tmp_path / "tokens.csv", expect)
        served = big.world.stats()
        if SCREENSHOT:  # a finished load, as the README shows it: from the Load button down
            load = panel.locator("button", has_text="Load").first
            load.evaluate("button => button.scrollIntoView({block: 'start'})")
            page.screenshot(path=SCREENSHOT)
        big.world.faults = sandbox.Faults(latency=0.3)  # slow answers from now on
        stop_a_slow_load(panel, expect)
        content = page.content()
        browser.close()
    assert mine.access_token not in content  # the page never shows the token
    assert sum(paths.get("/v1/userinfo", 0) for paths in served.values()) >= UPLOADED
    assert sum(paths.get("429", 0) for paths in served.values()) == 0  # not one over the limit


def add_by_hand(panel: Any, mine: Any, expect: Any) -> None:
    """The password field, a label, a custom URL: Add, Load, and the row found by search."""
    panel.locator("input[type=password]").first.fill(mine.access_token)
    panel.locator("input[placeholder^='e.g. acme']").fill("browser-test")
    panel.locator("select").first.select_option(label="Custom URL (sandbox) …")
    panel.locator("input[placeholder='http://127.0.0.1:8123']").fill(mine.base_url)
    panel.locator("button", has_text="Add").click()
    expect(panel.get_by_text("1 added; 151 in all.")).to_be_visible()
    expect(panel.locator("input[type=password]").first).to_have_value("")
    panel.locator("button", has_text="Load").click()
    panel.locator(".lm-TabBar-tab", has_text="Health (151)").wait_for(timeout=60_000)
    panel.locator(".lm-TabBar-tab", has_text="Accounts (").click()
    # 151 rows, 50 a page: the new token's row (the last) is found by the search box,
    # which looks at every row on the kernel side
    expect(panel.locator("tr:visible", has_text="browser-test")).to_have_count(0)
    panel.locator("input[placeholder='search every row']:visible").fill("browser-test")
    row = panel.locator("tr:visible", has_text="browser-test")
    expect(row).to_be_visible()
    expect(row).to_contain_text(mine.account_id)  # its account_id and sub


def upload_and_load(panel: Any, tokens_csv: Path, expect: Any) -> None:
    """Replace the list with 10,000 uploaded tokens, load them, search far past page 1."""
    panel.locator(".widget-checkbox", has_text="Replace the list").locator("input").check()
    page = panel.page
    with page.expect_file_chooser() as chooser:  # the picker's upload button opens it
        panel.locator(".widget-upload").first.click()
    chooser.value.set_files(str(tokens_csv))
    expect(panel.get_by_text("3,000 added; 3,000 in all.")).to_be_visible(timeout=60_000)
    expect(panel.get_by_text("3,000 of 3,000 tokens match")).to_be_visible()
    panel.locator("button", has_text="Load").click()
    expect(panel.get_by_text("(Cronofy's documented limit)").first).to_be_visible()
    panel.locator(".lm-TabBar-tab", has_text="Health (3,000)").wait_for(timeout=240_000)
    expect(panel.locator(".lm-TabBar-tab", has_text="Errors (0)")).to_be_visible()  # none
    panel.locator(".lm-TabBar-tab", has_text="Profiles (").click()
    expect(panel.locator("tr:visible", has_text="sbx-002876")).to_have_count(0)
    panel.locator("input[placeholder='search every row']:visible").fill("sbx-002876")
    expect(panel.locator("tr:visible", has_text="sbx-002876").first).to_be_visible()
    expect(panel.get_by_text("By access mode").first).to_be_visible()  # the health view
    relink = panel.locator(".lm-TabBar-tab", has_text="To relink (")
    total = relink.inner_text().split("(")[1].rstrip(")")
    relink.click()
    expect(panel.get_by_text(f"of {total} shown (of {total})").first).to_be_visible()
    assert int(total.replace(",", "")) > 50  # more than a page: the whole list, not 500


def stop_a_slow_load(panel: Any, expect: Any) -> None:
    """Load again against slow answers, Stop once progress shows: finished work is kept."""
    panel.locator("button", has_text="Load").click()
    expect(panel.get_by_text("us (sandbox ").first).to_be_visible()  # the floor, up front
    expect(panel.get_by_text("waiting for the rate limit").first).to_be_visible(timeout=60_000)
    panel.locator("button", has_text="Stop").click()
    expect(panel.get_by_text("(stopped: ").first).to_be_visible(timeout=60_000)


LINKS = [
    "https://app.cronofy.com/relink/apple?email=example@cronofy.com",  # Cronofy's own example
    "https://app-uk.cronofy.com/relink/x?profile_id=pro_1#top",
    "https://:@evil.test\\@app.cronofy.com/relink",  # urlsplit: app.cronofy.com; Chromium: evil
    "https://app.cronofy.com@evil.test/relink",
    "https://app.cronofy.com\\@evil.test/relink",
    "https://app.cronofy.com.evil.test/relink",
    "https://evil.test/https://app.cronofy.com/",
    "https://app.cronofy.com/x\u202e/relink",
    "javascript:alert(1)//https://app.cronofy.com/",
]


def test_a_link_is_clickable_only_where_the_browser_and_python_agree_on_its_host() -> None:
    """The relink rule in the real browser: every anchor the tables make goes to the host
    Python read (a Cronofy app host); every crafted text stays text."""
    from urllib.parse import urlsplit

    import pandas as pd
    from playwright.sync_api import sync_playwright

    from cronofy_frames.tables import APP_HOSTS, html_table

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        page = browser.new_page()
        page.set_content(html_table(pd.DataFrame({"link": LINKS})))
        anchors = page.eval_on_selector_all(
            "a", "links => links.map(a => [a.textContent, new URL(a.href).hostname])"
        )
        browser.close()
    assert [text for text, _ in anchors] == LINKS[:2]
    for text, host in anchors:
        assert host == urlsplit(text).hostname
        assert host in APP_HOSTS
