"""The web workspace in a real browser: headless Chromium (the distribution's, installed by
scripts/ensure_chromium.sh) driven by Playwright against `commissioning serve` (two web
processes, a real store file, the real solver in worker processes).

One journey: a commissioner signs in, makes a variant of the base scenario with the Victims Fund
cut 30 % (seeing the engine's message beside a mistyped field first), runs it and watches its
progress, sees the tile map change, compares it with the base and publishes it; then Camden's
lead signs in, sees only Camden, downloads Camden's workbook (read back with openpyxl) and is
refused every other borough's page. Every page is checked for console errors, and screenshotted
at 1280 px and 390 px wide into $COMMISSIONING_WEB_ARTIFACTS (else the test's tmp folder);
with $COMMISSIONING_WEB_DOCS set, the README's screenshots are copied there too.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_api_support import CAMDEN
from test_api_uvicorn import live_server
from test_web_support import web_store

CHROMIUM = Path("/usr/bin/chromium")
BRENT, BROMLEY = "E09000005", "E09000006"
DOCS_SHOTS = (
    "scenario",
    "run-variant",
    "compare",
    "sweep",
    "borough-lead-run",
    "run-variant-390",
)

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]'")


class Browser:
    """One page of a Chromium context that fails the test on any console error."""

    def __init__(self, browser: Any, base_url: str, shots: Path, width: int = 1280):
        self.context = browser.new_context(
            base_url=base_url, viewport={"width": width, "height": 900}, accept_downloads=True
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.shots = shots

    def shot(self, name: str) -> None:
        assert not self.errors, f"console errors on {self.page.url}: {self.errors}"
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)

    def sign_in(self, key: str) -> None:
        """By keyboard alone: Tab to the key (the skip link comes first, visibly focused),
        type it, Enter."""
        self.page.goto("/runs")
        assert "/sign-in" in self.page.url  # nobody signed in: sent to sign in first
        self.from_the_top()
        reached = self.tab_until("api_key")
        assert reached[0] == "skip-link", reached
        self.page.keyboard.type(key)
        self.page.keyboard.press("Enter")
        self.page.wait_for_url(re.compile(r"^[^?]*/runs$"))

    def from_the_top(self) -> None:
        """Focus back at the document's start, as after loading a page."""
        self.page.evaluate("() => document.activeElement && document.activeElement.blur()")

    def tab_until(self, ident: str, most: int = 120) -> list[str]:
        """Press Tab until the element with this id has focus; every element passed on the
        way must show a focus outline. Returns what was focused, in order."""
        seen: list[str] = []
        for _ in range(most):
            self.page.keyboard.press("Tab")
            focused = self.page.evaluate(
                "() => { const e = document.activeElement; const s = getComputedStyle(e);"
                " return [e.id || e.className || e.tagName, s.outlineStyle, s.outlineWidth]; }"
            )
            seen.append(focused[0])
            assert focused[1] != "none" and focused[2] != "0px", f"no visible focus: {focused}"
            if focused[0] == ident:
                return seen
        raise AssertionError(f"Tab never reached #{ident}: {seen}")

    def labels_inside_their_pictures(self) -> list[str]:
        """Texts of every SVG picture on the page that Chromium draws even partly outside the
        picture's own box (the viewBox): those are cut off on screen. Empty when none are."""
        found: list[str] = self.page.evaluate(
            """() => [...document.querySelectorAll('svg.chart')].flatMap(svg => {
                 const box = svg.viewBox.baseVal;
                 return [...svg.querySelectorAll('text')].filter(t => {
                   const b = t.getBBox();
                   return b.x < box.x - 0.5 || b.x + b.width > box.x + box.width + 0.5;
                 }).map(t => t.textContent);
               })"""
        )
        return found

    def band(self, area: str) -> str:
        value = self.page.locator(f'svg g.tile[data-area="{area}"]').get_attribute("data-band")
        assert value is not None
        return value


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: run scripts/ensure_chromium.sh (scripts/test does)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        yield browser
        browser.close()


def _shots_folder(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("COMMISSIONING_WEB_ARTIFACTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _cut_30_percent(shown: str) -> str:
    pence = int(Decimal(shown.replace(",", "")) * 100)
    kept = pence * 7 // 10
    assert kept * 10 == pence * 7  # the fixture's figure cuts to whole pence
    return f"{kept // 100:,}.{kept % 100:02d}"


def test_commissioner_and_borough_lead_journey(chromium: Any, tmp_path: Path) -> None:
    world = web_store(tmp_path)
    shots = _shots_folder(tmp_path)
    with live_server(tmp_path, world.location, workers=1) as server:
        me = Browser(chromium, server.url, shots)
        me.sign_in(world.keys.commissioner)
        me.shot("runs")

        # The base scenario; its variant with the Victims Fund cut 30 % in every year.
        me.page.goto("/scenarios")
        me.shot("scenarios")
        me.page.get_by_role("link", name=re.compile("MOPAC direct £4.4m")).click()
        form = me.page.locator("#variant-form")
        victims = form.get_by_label(re.compile(r"^MOPAC Victims Fund, "))
        assert victims.count() == 3
        first = victims.nth(0)
        first.fill("210,000.123")  # the engine's check, as you type, beside the field
        error = me.page.locator(f"#{first.get_attribute('id')}-error")
        sync_api.expect(error).to_contain_text("more than two decimals")
        me.shot("scenario-checking")
        for i in range(3):
            field = victims.nth(i)
            field.fill(_cut_30_percent(world_value(world, i)))
        form.get_by_label("Name of the variant").fill("Victims Fund cut 30%")
        sync_api.expect(me.page.locator("#variant-summary")).to_contain_text("valid")
        sync_api.expect(error).to_be_empty()
        me.shot("scenario")
        me.page.get_by_role("button", name="Save the variant").click()
        me.page.wait_for_url(re.compile(r"/scenarios/[0-9a-f]{32}$"))
        sync_api.expect(me.page.locator("h1")).to_have_text("Victims Fund cut 30%")
        sync_api.expect(me.page.get_by_role("table").first).to_contain_text("£210,000.00")

        # Run it: progress while it solves, then the results in place.
        me.page.get_by_role("button", name="Run this scenario").click()
        me.page.wait_for_url(re.compile(r"/runs/[0-9a-f]{32}$"))
        variant_url = me.page.url
        sync_api.expect(me.page.locator("#progress")).to_be_visible()
        me.shot("run-progress")
        me.page.locator("svg g.tile").first.wait_for(timeout=120_000)
        sync_api.expect(me.page.locator("#score-h")).to_be_visible()
        me.shot("run-variant")
        assert me.page.locator("svg g.bar").count() == 32
        assert me.labels_inside_their_pictures() == []  # Hammersmith and Fulham whole
        variant_bands = {area: me.band(area) for area in (BRENT, BROMLEY, CAMDEN)}
        sync_api.expect(me.page.locator("#below-list")).to_contain_text("Brent")

        me.page.locator("#below-list").get_by_role("link", name="Brent").click()
        sync_api.expect(me.page.locator("h1")).to_contain_text("Brent")
        sync_api.expect(me.page.locator("#why-h")).to_be_visible()
        me.shot("borough")

        # The tile map changed: Brent and Bromley fell below benchmark; Camden did not.
        me.page.goto(f"/runs/{world.base_run}")
        base_bands = {area: me.band(area) for area in (BRENT, BROMLEY, CAMDEN)}
        me.shot("run-base")
        assert variant_bands[BRENT] != base_bands[BRENT]
        assert variant_bands[BROMLEY] != base_bands[BROMLEY]
        assert variant_bands[CAMDEN] == base_bands[CAMDEN]

        # Compare with the base, then publish.
        me.page.goto(variant_url)
        base_option = me.page.locator("#base option", has_text="MOPAC direct £4.4m")
        me.page.get_by_label("Compare this run with (base)").select_option(
            value=base_option.get_attribute("value")
        )
        me.page.get_by_role("button", name="Compare").click()
        me.page.wait_for_url(re.compile(r"/compare\?"))
        crossings = me.page.locator("#crossings")
        sync_api.expect(crossings).to_contain_text("Brent")
        sync_api.expect(crossings).to_contain_text("falls below")
        sync_api.expect(me.page.locator("#scorecards")).to_contain_text("£")
        me.shot("compare")
        me.page.goto(variant_url)
        me.from_the_top()
        me.tab_until("publish")  # every control on the way is reachable and visibly focused
        me.page.keyboard.press("Enter")
        me.page.wait_for_url(variant_url)
        sync_api.expect(me.page.locator(".badge.published")).to_be_visible()

        # A sweep of MOPAC's direct budget: the curve and its knee.
        me.page.goto(f"/scenarios/{world.base_scenario}")
        me.page.get_by_label("From (% of today)").fill("90")
        me.page.get_by_label("To (%)").fill("110")
        me.page.get_by_label("Steps").fill("3")
        me.page.get_by_role("button", name="Start the sweep").click()
        me.page.wait_for_url(re.compile(r"/sweeps/[0-9a-f]{32}$"))
        me.page.locator("#knee").wait_for(timeout=120_000)
        sync_api.expect(me.page.locator("#knee")).to_contain_text(
            "every borough at benchmark from £"
        )
        assert me.page.locator("svg line.knee").count() == 1
        assert me.labels_inside_their_pictures() == []
        me.shot("sweep")

        narrow = Browser(chromium, server.url, shots, width=390)
        narrow.sign_in(world.keys.commissioner)
        narrow.page.goto(variant_url)
        assert narrow.labels_inside_their_pictures() == []
        narrow.shot("run-variant-390")
        narrow.page.goto(f"/scenarios/{world.base_scenario}")
        narrow.shot("scenario-390")
        narrow.context.close()

        copied = me.context.cookies()  # as someone who took the session cookie might
        me.page.get_by_role("button", name="Sign out").click()
        me.page.wait_for_url(re.compile("/sign-in"))
        me.context.close()
        thief = Browser(chromium, server.url, shots)
        thief.context.add_cookies(copied)
        thief.page.goto(variant_url)
        assert "/sign-in" in thief.page.url  # signed out on the server: the copy is dead
        thief.context.close()

        # Camden's lead: only Camden, Camden's workbook, nobody else's page.
        lead = Browser(chromium, server.url, shots)
        lead.sign_in(world.keys.camden)
        sync_api.expect(lead.page.locator("#runs")).to_contain_text("Victims Fund cut 30%")
        lead.shot("borough-lead-runs")
        lead.page.goto(variant_url)
        figures = lead.page.locator("svg g.tile text + text")  # tiles with a figure
        assert figures.count() == 1
        assert lead.page.locator("svg g.bar").count() == 1
        assert lead.page.locator("svg g.bar").get_attribute("data-area") == CAMDEN
        assert lead.page.locator("#score-h").count() == 0  # the scorecard is London-wide
        body = lead.page.locator("main").inner_text()
        assert "Brent" not in body and "Islington" not in body
        lead.shot("borough-lead-run")
        with lead.page.expect_download() as download_info:
            lead.page.locator("#borough-workbook").click()
        saved = tmp_path / "camden.xlsx"
        download_info.value.save_as(saved)
        workbook = openpyxl.load_workbook(saved, read_only=True)
        codes = {
            value
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if isinstance(value, str) and re.fullmatch(r"E0[0-9]{7}", value)
        }
        assert codes == {CAMDEN}
        assert "Camden" in str(workbook.worksheets[0].cell(1, 1).value)

        run_id = variant_url.rsplit("/", 1)[1]
        for refused in (
            f"/runs/{run_id}/boroughs/{BRENT}",
            f"/runs/{run_id}/workbooks/{BRENT}.xlsx",
            f"/runs/{run_id}/workbooks/london.xlsx",
            f"/runs/{world.draft_run}",
            "/scenarios",
        ):
            answer = lead.page.request.get(refused)
            assert answer.status in (403, 404), (refused, answer.status)
            assert "Brent" not in answer.text()
        lead.page.goto(f"/runs/{run_id}/boroughs/{BRENT}")
        sync_api.expect(lead.page.locator("h1")).to_have_text("Not for your role or borough")
        lead.errors.clear()  # the 403 itself is logged by Chromium as a failed resource
        lead.shot("borough-lead-refused")
        lead.context.close()
    docs = os.environ.get("COMMISSIONING_WEB_DOCS")
    if docs:
        for name in DOCS_SHOTS:
            shutil.copyfile(shots / f"{name}.png", Path(docs) / f"web-{name}.png")


def world_value(world: Any, index: int) -> str:
    """The Victims Fund's amount in year `index` of the base scenario, as the form shows it."""
    import json

    stored = world.store.get_scenario(world.base_scenario)
    pot = next(p for p in json.loads(stored.body)["pots"] if p["id"] == "victims_fund")
    pence = pot["amounts"][index]["amount_pence"]
    return f"{pence // 100:,}.{pence % 100:02d}"
