"""What people read on the pages is named as they know it: pots and services by the scenario's
names, statuses and fairness rules in words, never the codes the files carry (a code may stand
only in brackets beside its name); and the engine's messages beside a field typed in pounds
quote pounds, not pence. Through the real app, with runs solved by the real optimiser."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest
from litestar.testing import TestClient
from test_api_support import CAMDEN, wait_for_run
from test_web_pages import BRENT, sign_in, token
from test_web_support import WebStore, base_data, web_store

from commissioning.api.app import create_app
from commissioning.api.services import lifecycle, runs, scenarios
from commissioning.api.services.access import Principal
from commissioning.fairness_rules import RULES
from commissioning.web.names import FAIRNESS_RULE_NAMES, RUN_KIND_WORDS, RUN_STATUS_WORDS
from commissioning.web.variant_form import groups


class VisibleText(HTMLParser):
    """The words a person reads on a page: its text (SVG titles included, as tooltips and to
    screen readers), the titles and labels of elements, and what text inputs hold."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        found = dict(attrs)
        for name in ("title", "aria-label", "alt", "placeholder"):
            if found.get(name):
                self.parts.append(str(found[name]))
        if tag == "input" and found.get("type") == "text" and found.get("value"):
            self.parts.append(str(found["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


@dataclass(frozen=True)
class Named:
    world: WebStore
    variant_scenario: str
    variant_run: str  # the Victims Fund cut 30 %: boroughs below benchmark, pots to grow
    codes: frozenset[str]  # the scenario's pot and service ids and bases, the fairness rules
    pots: dict[str, str]
    services: dict[str, str]


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> Named:
    world = web_store(tmp_path_factory.mktemp("names"))
    data = base_data()
    data["name"] = "Victims Fund cut 30%"
    pot = next(p for p in data["pots"] if p["id"] == "victims_fund")
    for amount in pot["amounts"]:
        assert amount["amount_pence"] * 7 % 10 == 0
        amount["amount_pence"] = amount["amount_pence"] * 7 // 10
    system = Principal.system()
    stored = scenarios.create_scenario(world.store, system, data)
    run = runs.run_now(world.store, system, stored.id)
    assert run.status == "succeeded", run.reason
    lifecycle.publish(world.store, system, run.id, "for Camden's lead")
    pots = {p["id"]: p["name"] for p in data["pots"]}
    services = {s["id"]: s["name"] for s in data["services"]}
    bases = {b["basis"] for b in data["benchmarks"]}  # indicator columns, e.g. female_16_plus
    codes = frozenset({*pots, *services, *RULES, *bases})
    return Named(world, stored.id, run.id, codes, pots, services)


@pytest.fixture(scope="module")
def client(named: Named) -> Iterator[TestClient[Any]]:
    app = create_app(named.world.settings(queue_size=8))
    with TestClient(app) as test_client:
        yield test_client


def codes_shown(text: str, codes: frozenset[str]) -> list[str]:
    """Codes a person would read as words (any not standing in brackets beside a name), each
    with the words around it."""
    without_asides = re.sub(r"\([a-z0-9_]+\)", "", text)
    found = []
    for code in sorted(codes):
        for hit in re.finditer(rf"(?<![\w.-]){re.escape(code)}(?![\w.-])", without_asides):
            found.append(f"{code}: …{without_asides[max(0, hit.start() - 80) : hit.end() + 40]}…")
    return found


def test_no_page_shows_a_pot_service_or_rule_by_its_code(
    client: TestClient[Any], named: Named
) -> None:
    world, run = named.world, named.variant_run
    sign_in(client, world.keys.commissioner)
    form_token = token(client, f"/scenarios/{named.variant_scenario}")
    sweep = client.post(
        f"/scenarios/{named.variant_scenario}/sweeps",
        data={"_csrf": form_token, "pot": "victims_fund", "from": "90", "to": "110", "steps": "3"},
        follow_redirects=False,
    )
    sweep_id = sweep.headers["location"].rsplit("/", 1)[1]
    wait_for_run(client, sweep_id, {"X-API-Key": world.keys.commissioner}, timeout=120)
    pages = [
        "/runs",
        "/scenarios",
        f"/scenarios/{named.variant_scenario}",
        f"/runs/{run}",
        f"/runs/{run}?service=marac_coordinator&year=2021%2F22",
        f"/runs/{run}/boroughs/{BRENT}",
        f"/runs/{run}/progress",
        f"/compare?base={world.base_run}&other={run}",
        f"/sweeps/{sweep_id}",
    ]
    for path in pages:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert codes_shown(visible(answer.text), named.codes) == [], path
    swept = visible(client.get(f"/sweeps/{sweep_id}").text)
    assert "MOPAC Victims Fund from 90% to 110% of today's budget, 3 steps" in swept
    assert "Lowest coverage of benchmark against MOPAC Victims Fund a year" in swept  # the curve
    sign_in(client, world.keys.camden)
    for path in (
        "/runs",
        f"/runs/{run}",
        f"/runs/{run}/boroughs/{CAMDEN}",
        f"/compare?base={world.base_run}&other={run}",
    ):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert codes_shown(visible(answer.text), named.codes) == [], path


def test_cost_to_benchmark_names_each_pot_and_service(
    client: TestClient[Any], named: Named
) -> None:
    sign_in(client, named.world.keys.commissioner)
    _, cost = runs.result_table(
        named.world.store, Principal.system(), named.variant_run, "cost_to_benchmark"
    )
    year = "2019/20"
    rows = cost.filter((cost["year"] == year) & cost["level"].is_in(["pot", "service"]))
    assert "pot" in rows["level"].to_list()  # the cut leaves pots to grow
    html = client.get(f"/runs/{named.variant_run}?year=2019%2F20").text
    table = visible(html.split('id="cost-h"')[1].split("</table>")[0])
    for row in rows.iter_rows(named=True):
        if row["level"] == "pot":
            assert f"Pot: {named.pots[row['pot']]}" in table
        else:
            assert f"Service: {named.services[row['service']]}" in table
    assert "must grow by" not in table and "pot " not in table


def test_statuses_kinds_and_fairness_rules_are_words(client: TestClient[Any], named: Named) -> None:
    sign_in(client, named.world.keys.commissioner)
    listing = client.get("/runs").text
    body = listing.split("<tbody>")[1].split("</tbody>")[0]
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in body.split("<tr>")[1:]]
    assert cells and all(row[1] in RUN_KIND_WORDS.values() for row in cells)
    assert all(row[2] in RUN_STATUS_WORDS.values() for row in cells)
    page = client.get(f"/scenarios/{named.variant_scenario}").text
    options = dict(re.findall(r'<option value="([a-z_]+)"[^>]*>([^<]+)</option>', page))
    for rule in RULES:
        assert options[rule] == FAIRNESS_RULE_NAMES[rule]


def test_compare_names_the_services_of_each_change(client: TestClient[Any], named: Named) -> None:
    world = named.world
    sign_in(client, world.keys.commissioner)
    html = client.get(f"/compare?base={world.base_run}&other={named.variant_run}").text
    crossings = visible(html.split('id="crossings"')[1].split("</ul>")[0])
    assert "Brent falls below benchmark" in crossings
    assert named.services["idva"] in crossings
    changes = html.split('id="changes"')[1].split("</table>")[0]
    shown = set(re.findall(r"<tr><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>", changes))
    assert shown and shown <= set(named.services.values())


# -- pounds in the engine's messages --------------------------------------------------------


def _form(named: Named) -> dict[str, str]:
    stored = named.world.store.get_scenario(named.world.base_scenario)
    assert stored is not None
    return {f.path: f.value for g in groups(json.loads(stored.body)) for f in g.fields}


def _errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'<p class="error" id="(f-[a-z0-9-]+)-error"[^>]*>([^<]*)</p>', html))


def test_messages_beside_a_pounds_field_quote_pounds_not_pence(
    client: TestClient[Any], named: Named
) -> None:
    sign_in(client, named.world.keys.commissioner)
    form = _form(named)
    form.update(
        {
            # IDVAs are bought in half posts: £40,000.01 a post is £20,000.005 a half.
            "services[0].unit_cost_pence": "40,000.01",
            "services[2].unit_cost_pence": "0",
            "pots[1].amounts[0].amount_pence": "999,999,999,999,999",
        }
    )
    form["_csrf"] = token(client, f"/scenarios/{named.world.base_scenario}")
    answer = client.post(f"/scenarios/{named.world.base_scenario}/check", data=form)
    assert answer.status_code == 200
    errors = _errors(answer.text)
    idva = errors["f-services-0-unit-cost-pence"]
    assert idva == "unit cost £40,000.01 × granularity 0.5 is not a whole number of pence"
    assert "(got £0.00)" in errors["f-services-2-unit-cost-pence"]
    pot = errors["f-pots-1-amounts-0-amount-pence"]
    assert "less than or equal to £100,000,000,000.00" in pot
    assert "(got £999,999,999,999,999.00)" in pot
    for message in errors.values():
        # Pounds are grouped in threes with commas; pence would be a longer run of digits.
        assert not re.search(r"[0-9]{4,}", message), message
    # Saving shows the same messages beside the same fields.
    saved = client.post(f"/scenarios/{named.world.base_scenario}/variants", data=form)
    assert saved.status_code == 400
    assert _errors(saved.text)["f-services-0-unit-cost-pence"] == idva
