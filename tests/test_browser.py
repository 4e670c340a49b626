"""Widgets in a real browser: JupyterLab on localhost, headless Chromium driven by Playwright.

For notebooks 1 and 6 (quick mode): open the notebook, run all cells, check that no cell shows an
error, then move a slider as a student would (its readout edited, Enter) and check that the figure
below it is redrawn. Screenshots land in build/browser-test/. `make test` installs Debian's
chromium and Playwright; the test is skipped only where neither can be had (it says so).
"""
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")
SHOTS = os.path.join(ROOT, "build", "browser-test")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make test installs it)")
pytestmark = [pytest.mark.full,
              pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (make test-all installs Debian's)")]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a copy of the notebooks (so nothing is saved into the repository)."""
    folder = tmp_path_factory.mktemp("lab")
    for name in ("01_noise_schedules.ipynb", "06_classifier_free_guidance.ipynb"):
        shutil.copy(os.path.join(ROOT, "notebooks", name), folder / name)
    # JupyterLab renders only the cells near the screen (windowingMode "full"): a widget far down a long
    # notebook has no DOM to find. The test's own settings folder turns that off, as a user may.
    settings = folder / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, DIFFUSION_QUICK="1", DIFFUSION_OFFLINE="1")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1", "--allow-root",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={folder}", f"--LabApp.user_settings_dir={folder / 'settings'}", "--LabApp.expose_app_in_browser=True",
         "--ServerApp.disable_check_xsrf=True"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start within a minute")
    yield url, token
    server.terminate()
    server.wait(timeout=30)


# the notebook panel whose file is `name` (JupyterLab may also restore other tabs)
PANEL = ("window.jupyterapp && Array.from(window.jupyterapp.shell.widgets('main'))"
         ".find(w => w.context && w.context.path.endsWith(name))")
KERNEL_READY = f"""name => {{
    const panel = {PANEL};
    const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
    return Boolean(kernel && kernel.status === 'idle' && panel.content.model && panel.content.model.cells.length > 0);
}}"""
RUN_ALL = f"""name => {{
    const panel = {PANEL};
    window.jupyterapp.shell.activateById(panel.id);
    return window.jupyterapp.commands.execute('notebook:run-all-cells');
}}"""
ALL_RUN = f"""name => {{
    const panel = {PANEL};
    const cells = panel.content.model.cells;
    for (let i = 0; i < cells.length; i++) {{
        const cell = cells.get(i);
        if (cell.type === 'code' && cell.sharedModel.getSource().trim() && cell.executionCount == null) return false;
    }}
    return panel.sessionContext.session.kernel.status === 'idle';
}}"""
ERRORS = f"""name => {{
    const cells = {PANEL}.content.model.cells, errors = [];
    for (let i = 0; i < cells.length; i++) {{
        const cell = cells.get(i);
        if (cell.type === 'code') for (const output of cell.outputs.toJSON())
            if (output.output_type === 'error') errors.push(`cell ${{i}}: ${{output.ename}}: ${{output.evalue}}`);
    }}
    return errors;
}}"""


def run_all_cells(page, name, timeout_s):
    """Wait for the kernel, run every cell through JupyterLab's own command, and wait until every
    code cell has an execution count (read from the notebook's model, not the screen, which JupyterLab
    renders lazily) and the kernel is idle again."""
    page.wait_for_function(KERNEL_READY, arg=name, timeout=180_000)
    page.evaluate(RUN_ALL, name)
    page.wait_for_function(ALL_RUN, arg=name, timeout=timeout_s * 1000, polling=1000)


def error_outputs(page, name):
    return page.evaluate(ERRORS, name)


def figure_after(slider):
    """The src of the first figure below a slider's cell (the static figure the widget redraws)."""
    return slider.evaluate("""node => {
        const cell = node.closest('.jp-Cell');
        const image = cell.querySelector('.jp-OutputArea-output img');
        return image ? image.src : null;
    }""")


@pytest.mark.parametrize("name, slider_label, value", [
    ("01_noise_schedules.ipynb", "t", "700"),
    ("06_classifier_free_guidance.ipynb", "digit", "7"),
])
def test_a_student_runs_the_notebook_and_moves_a_slider(lab, name, slider_label, value):
    url, token = lab
    os.makedirs(SHOTS, exist_ok=True)
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/lab/workspaces/{name[:2]}/tree/{name}?reset&token={token}")  # a fresh workspace
        run_all_cells(page, name, timeout_s=300)
        assert error_outputs(page, name) == [], "a cell shows an error"
        sliders = [handle for handle in page.query_selector_all(".widget-slider")
                   if handle.query_selector(".widget-label") and
                   handle.query_selector(".widget-label").inner_text().strip() == slider_label]
        assert sliders, f"no slider labelled {slider_label!r}"
        slider = sliders[0]
        slider.scroll_into_view_if_needed()
        before = figure_after(slider)
        assert before, "the widget drew no static figure"
        page.screenshot(path=os.path.join(SHOTS, f"{name[:2]}_before.png"))
        readout = slider.query_selector(".widget-readout")
        readout.click()
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
        page.keyboard.press("Enter")
        deadline = time.time() + 120
        while figure_after(slider) == before and time.time() < deadline:
            page.wait_for_timeout(500)
        page.screenshot(path=os.path.join(SHOTS, f"{name[:2]}_after.png"))
        assert figure_after(slider) != before, "moving the slider did not redraw the figure"
        assert error_outputs(page, name) == []
        browser.close()
