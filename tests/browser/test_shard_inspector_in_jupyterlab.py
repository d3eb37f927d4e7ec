"""The shard inspector in a real browser: JupyterLab runs notebook 04, and a click on "Get records" shows records.

The widgets' logic is tested headlessly (tests/localcloud/test_shard_inspector.py). Only a browser shows that
the widget renders in JupyterLab and that its button reaches the kernel and the table comes back, so this
is the one test that needs one. The screenshot it leaves in build/ shows what a learner sees.

It opens the learner's notebook, notebooks/04, as a learner would, not the solution. Its exercise comes after
the widget and is blanked (`raise NotImplementedError`, in a cell tagged raises-exception), so Run All Cells
shows that error there by design; any other traceback fails the test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.browser

NOTEBOOK = "notebooks/04_shard_inspection.ipynb"
SCREENSHOT = Path(__file__).resolve().parents[2] / "build" / "shard_inspector.png"
ROWS_WANTED = 3                                    # a page size the notebook itself never asks for
ORDER_ID = re.compile(r"^[0-9a-f]{8}-\d{6}$")      # datagen's order ids, e.g. 85881de5-000013
CHANGE_EVENTS = {"INSERT", "MODIFY", "REMOVE"}
OPEN_TIMEOUT_MS = 30_000                           # JupyterLab's page and the notebook
RUN_TIMEOUT_MS = 45_000                            # every cell of the notebook, kernel start included
CLICK_TIMEOUT_MS = 10_000                          # one page of records after a click


def test_get_records_click_shows_records_in_jupyterlab(browser_page: Page, jupyterlab):
    page = browser_page
    try:
        page.goto(jupyterlab.url_for(NOTEBOOK), timeout=OPEN_TIMEOUT_MS)
        run_all_cells(page)
        inspector = shard_inspector_widget(page)
        rows = inspector.locator("table.workshop-records tbody tr")
        assert rows.count() != ROWS_WANTED, "the notebook already shows a page of that size: change ROWS_WANTED"

        limit = inspector.locator(".widget-inline-hbox", has_text="Limit").locator("input")
        limit.fill(str(ROWS_WANTED))
        limit.press("Enter")
        inspector.get_by_role("button", name="Get records").click()

        expect(inspector.get_by_text(f"{ROWS_WANTED} records from shardId-")).to_be_visible(timeout=CLICK_TIMEOUT_MS)
        expect(rows).to_have_count(ROWS_WANTED)
        inspector.evaluate("widget => widget.scrollIntoView({block: 'start'})")   # for the screenshot
    finally:
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOT)   # what the browser showed, also when something above failed
    columns = inspector.locator("table.workshop-records thead th").all_inner_texts()
    for row in rows.all():
        cells = dict(zip(columns[1:], row.locator("td").all_inner_texts()))   # columns[0] heads the index
        assert cells["event_name"] in CHANGE_EVENTS, cells
        assert ORDER_ID.match(cells["orderid"]), cells


def run_all_cells(page: Page) -> None:
    """Clear the saved outputs, then Run > Run All Cells as a learner would; wait until no cell is left to run.

    The saved outputs go first so that nothing on the page comes from the file: every output, the widget
    included, is then this kernel's. A traceback other than the blanked exercise's is the failure message.
    """
    # The status bar says "Python 3 (ipykernel) | Idle" once the kernel is connected. Cells run before that are
    # not run at all: JupyterLab clears their prompts and moves on.
    kernel_status = page.get_by_title(f"Change kernel for {Path(NOTEBOOK).name}")
    expect(kernel_status).to_have_text(re.compile(r"\| Idle$"), timeout=OPEN_TIMEOUT_MS)
    notebook = page.locator(".jp-NotebookPanel")
    choose_menu_item(page, "Edit", "Clear Outputs of All Cells")
    expect(notebook.locator(".jp-OutputArea-output")).to_have_count(0)
    choose_menu_item(page, "Run", "Run All Cells")
    page.wait_for_function(RUN_FINISHED, timeout=RUN_TIMEOUT_MS)
    tracebacks = [text for text in notebook.locator(STDERR_OUTPUT).all_text_contents() if "Traceback" in text]
    unexpected = [text for text in tracebacks if "NotImplementedError" not in text]
    assert not unexpected, f"a cell of {NOTEBOOK} failed in JupyterLab:\n" + "\n".join(unexpected)


def choose_menu_item(page: Page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


def shard_inspector_widget(page: Page) -> Locator:
    """The output that shows the ShardInspector: the only output with a "Get records" button."""
    widget = page.locator(".jp-OutputArea-output").filter(has=page.get_by_role("button", name="Get records"))
    expect(widget).to_have_count(1)
    return widget


STDERR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
# True once no cell is queued or running ([*]:) and either the last code cell shows an execution count ([9]:) or an
# output shows a traceback (after which JupyterLab may stop the run). textContent, not innerText: JupyterLab skips
# rendering cells that are off screen, but they are in the page.
RUN_FINISHED = f"""() => {{
    const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]
        .map(p => p.textContent.trim());
    const failed = [...document.querySelectorAll("{STDERR_OUTPUT}")].some(o => o.textContent.includes('Traceback'));
    const lastRan = prompts.length > 0 && /^\\[\\d+\\]:$/.test(prompts[prompts.length - 1]);
    return !prompts.includes('[*]:') && (failed || lastRan);
}}"""
