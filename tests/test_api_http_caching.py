"""HTTP done properly, on the real app: ETags and 304s, Cache-Control, gzip, HEAD, CORS, one
charset, and interactive docs that load nothing from the internet."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from litestar.testing import TestClient
from postgres_support import open_test_store, world_store
from test_api_support import CAMDEN, XLSX, Keys, World, api_world, make_keys, settings_for
from test_api_uvicorn import live_server

from commissioning.api.app import create_app
from commissioning.api.settings import CORS_ORIGINS_ENV, ApiSettings, default_cors_origins

IMMUTABLE = "max-age=3600, private"
REVALIDATE = "no-cache, private"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with api_world(tmp_path_factory.mktemp("http-caching")) as w:
        yield w


def get(world: World, path: str, who: str = "finance", **headers: str) -> Any:
    return world.client.get(path, headers={**world.keys.header(who), **headers})


def directives(response: Any) -> set[str]:
    return {d.strip() for d in response.headers.get("cache-control", "").split(",") if d.strip()}


def assert_strong(etag: str) -> None:
    assert re.fullmatch(r'"[0-9a-f]{32}(-gzip)?"', etag), etag


# -- ETags and 304 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/runs/{published}/results/allocations",
        "/api/v1/runs/{published}/results/allocations?format=csv",
        "/api/v1/runs/{published}/workbooks/london",
        "/api/v1/runs/{published}/workbooks/boroughs/" + CAMDEN,
        "/api/v1/runs/{published}/results",
        "/api/v1/runs/{published}/scorecard",
        "/api/v1/runs/{published}/timing",
        "/api/v1/runs/{published}/compare/{other}",
        "/api/v1/runs/{published}/boroughs/" + CAMDEN + "/explanation",
    ],
)
def test_a_matching_if_none_match_is_304_without_a_body(world: World, path: str) -> None:
    url = path.format(published=world.published, other=world.other)
    first = get(world, url, **{"Accept-Encoding": "identity"})
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    assert_strong(etag)
    assert get(world, url, **{"Accept-Encoding": "identity"}).headers["etag"] == etag  # stable

    again = get(world, url, **{"Accept-Encoding": "identity", "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == first.headers["cache-control"]
    assert "content-type" not in again.headers

    # In a list, or weak (If-None-Match compares weakly): still 304; another tag: the body.
    listed = get(world, url, **{"If-None-Match": f'"0123", W/{etag}'})
    assert listed.status_code == 304
    other = get(world, url, **{"Accept-Encoding": "identity", "If-None-Match": '"0123"'})
    assert other.status_code == 200 and other.content == first.content


def test_the_etag_follows_the_representation(world: World) -> None:
    path = f"/api/v1/runs/{world.published}/results/allocations"
    as_json = get(world, path, **{"Accept-Encoding": "identity"})
    as_csv = get(world, path + "?format=csv", **{"Accept-Encoding": "identity"})
    by_accept = get(world, path, Accept="text/csv", **{"Accept-Encoding": "identity"})
    camden = get(world, path, "camden", **{"Accept-Encoding": "identity"})
    commissioner = get(world, path, "commissioner", **{"Accept-Encoding": "identity"})
    assert as_json.headers["etag"] != as_csv.headers["etag"]
    assert as_csv.headers["etag"] == by_accept.headers["etag"]  # the same bytes, the same tag
    assert camden.headers["etag"] != as_json.headers["etag"]  # Camden's rows only
    assert commissioner.headers["etag"] == as_json.headers["etag"]  # the same rows as finance

    # A borough lead holding finance's tag is not told its copy is current.
    stale = get(world, path, "camden", **{"If-None-Match": as_json.headers["etag"]})
    assert stale.status_code == 200
    assert {r["area_code"] for r in stale.json()["rows"]} == {CAMDEN}

    other_run = get(world, f"/api/v1/runs/{world.other}/results/allocations")
    assert other_run.headers["etag"] != as_json.headers["etag"]


def test_the_workbook_etag_yields_304(world: World) -> None:
    """It used to carry Litestar's file tag, which no request could ever match."""
    path = f"/api/v1/runs/{world.published}/workbooks/london"
    first = get(world, path)
    assert first.headers["content-type"] == XLSX and first.content[:2] == b"PK"
    assert "content-encoding" not in first.headers  # already zipped: not gzipped again
    again = get(world, path, **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_every_get_that_answers_carries_an_etag(world: World) -> None:
    for path in (
        "/api/v1/runs",
        f"/api/v1/runs/{world.published}",
        "/api/v1/reference/areas",
        "/api/v1/scenarios",
    ):
        response = get(world, path, "commissioner")
        assert response.status_code == 200
        assert_strong(response.headers["etag"])
        tag = response.headers["etag"]
        assert get(world, path, "commissioner", **{"If-None-Match": tag}).status_code == 304


# -- Cache-Control ----------------------------------------------------------------------------


def test_cache_control_immutable_for_a_succeeded_runs_data_revalidate_for_the_rest(
    world: World,
) -> None:
    for path in (
        f"/api/v1/runs/{world.published}/results",
        f"/api/v1/runs/{world.published}/results/coverage",
        f"/api/v1/runs/{world.published}/results/coverage?format=csv",
        f"/api/v1/runs/{world.published}/scorecard",
        f"/api/v1/runs/{world.published}/timing",
        f"/api/v1/runs/{world.published}/compare/{world.other}",
        f"/api/v1/runs/{world.published}/boroughs/{CAMDEN}/explanation",
        f"/api/v1/runs/{world.published}/workbooks/london",
    ):
        response = get(world, path)
        assert response.status_code == 200, path
        assert directives(response) == {"private", "max-age=3600"}, path

    for path in (
        "/api/v1/runs",
        f"/api/v1/runs/{world.published}",
        "/api/v1/reference/areas",
    ):
        response = get(world, path)
        assert response.status_code == 200, path
        assert directives(response) == {"private", "no-cache"}, path


def test_an_error_on_an_immutable_route_is_not_cacheable(world: World) -> None:
    """Refusals (403, 404) must not be kept for an hour: only a succeeded run's data is."""
    forbidden = get(world, f"/api/v1/runs/{world.published}/workbooks/london", "camden")
    assert forbidden.status_code == 403
    draft = get(world, f"/api/v1/runs/{world.draft}/results", "finance")
    assert draft.status_code in (403, 404)
    for response in (forbidden, draft):
        assert "max-age=3600" not in response.headers.get("cache-control", "")
        assert "etag" not in response.headers


def test_vary_names_what_the_answer_depends_on(world: World) -> None:
    response = get(world, f"/api/v1/runs/{world.published}/results/allocations")
    vary = [v.strip() for v in response.headers["vary"].split(",")]
    assert sorted(vary) == sorted(["Accept", "Accept-Encoding", "X-API-Key"])  # each once


# -- gzip -------------------------------------------------------------------------------------


def raw_get(world: World, path: str, **headers: str) -> tuple[Any, bytes]:
    """The response and its bytes as sent (httpx would otherwise decode the gzip)."""
    with world.client.stream(
        "GET", path, headers={**world.keys.header("finance"), **headers}
    ) as response:
        return response, b"".join(response.iter_raw())


def test_a_large_body_is_gzipped_for_a_client_that_accepts_it(world: World) -> None:
    path = f"/api/v1/runs/{world.published}/results"
    plain, plain_bytes = raw_get(world, path, **{"Accept-Encoding": "identity"})
    zipped, zipped_bytes = raw_get(world, path, **{"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) == len(zipped_bytes) < len(plain_bytes) / 4
    assert gzip.decompress(zipped_bytes) == plain_bytes
    assert raw_get(world, path, **{"Accept-Encoding": "gzip"})[1] == zipped_bytes  # same bytes
    assert json.loads(gzip.decompress(zipped_bytes))["run"]["id"] == world.published

    # One strong tag per representation; either matches the same content.
    assert zipped.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
    for tag in (zipped.headers["etag"], plain.headers["etag"]):
        again = get(world, path, **{"Accept-Encoding": "gzip", "If-None-Match": tag})
        assert again.status_code == 304 and again.headers["etag"] == tag


def test_a_small_body_is_not_gzipped(world: World) -> None:
    response, body = raw_get(world, "/api/v1/runs/" + "0" * 32, **{"Accept-Encoding": "gzip"})
    assert response.status_code == 404 and len(body) < 1024
    assert "content-encoding" not in response.headers


# -- HEAD -------------------------------------------------------------------------------------

SAME_AS_GET = ("content-type", "content-length", "etag", "cache-control", "content-disposition")


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/api/v1/runs", "commissioner"),
        ("/api/v1/runs/{published}", "finance"),
        ("/api/v1/runs/{published}/results", "finance"),
        ("/api/v1/runs/{published}/results/allocations", "camden"),
        ("/api/v1/runs/{published}/results/allocations?format=csv", "finance"),
        ("/api/v1/runs/{published}/workbooks/london", "finance"),
        ("/api/v1/reference/services", "camden"),
        ("/api/v1/scenarios", "commissioner"),
        ("/schema/openapi.json", "none"),
        ("/schema/swagger", "none"),
    ],
)
def test_head_answers_with_the_headers_of_get_and_no_body(
    world: World, path: str, who: str
) -> None:
    url = path.format(published=world.published)
    headers = world.keys.header(who)
    got = world.client.get(url, headers=headers)
    head = world.client.head(url, headers=headers)
    assert got.status_code == 200
    assert head.status_code == 200
    assert head.content == b""
    for name in SAME_AS_GET:
        assert head.headers.get(name) == got.headers.get(name), name
    conditional = world.client.head(url, headers={**headers, "If-None-Match": got.headers["etag"]})
    assert conditional.status_code == 304


def test_head_keeps_the_errors_of_get(world: World) -> None:
    assert world.client.head("/api/v1/runs").status_code == 401
    unknown = world.client.head("/api/v1/runs/" + "0" * 32, headers=world.keys.header("finance"))
    assert unknown.status_code == 404 and unknown.content == b""


def allowed(response: Any) -> set[str]:
    return {m.strip() for m in response.headers["allow"].split(",")}


def test_options_names_every_method_and_needs_no_key(world: World) -> None:
    for path, methods in (
        # GET and DELETE of one path come from two controllers: Allow names both
        (f"/api/v1/runs/{world.published}", {"DELETE", "GET", "HEAD", "OPTIONS"}),
        (f"/api/v1/scenarios/{world.scenario_id}", {"DELETE", "GET", "HEAD", "OPTIONS"}),
        ("/api/v1/runs", {"GET", "HEAD", "OPTIONS", "POST"}),
        ("/api/v1/scenarios", {"GET", "HEAD", "OPTIONS", "POST"}),
    ):
        response = world.client.options(path)
        assert response.status_code == 204, path
        assert allowed(response) == methods, path
    refused = world.client.put("/api/v1/runs", headers=world.keys.header("commissioner"))
    assert refused.status_code == 405
    assert allowed(refused) == {"GET", "HEAD", "OPTIONS", "POST"}


# -- one charset ------------------------------------------------------------------------------


def test_csv_has_exactly_one_charset(world: World) -> None:
    for path in (
        f"/api/v1/runs/{world.published}/results/allocations?format=csv",
        f"/api/v1/runs/{world.published}/compare/{world.other}?format=csv",
    ):
        response = get(world, path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"


# -- docs offline -----------------------------------------------------------------------------

ASSET_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
}


def test_the_docs_page_loads_only_assets_the_app_serves(world: World) -> None:
    page = world.client.get("/schema/swagger")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text)
    assert len(urls) >= 3  # the bundle, the preset, the stylesheet (and the icon)
    assert "cdn." not in page.text and "unpkg" not in page.text
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} is not same-origin"
        asset = world.client.get(url)
        assert asset.status_code == 200, url
        expected = ASSET_TYPES[Path(parts.path).suffix]
        assert asset.headers["content-type"].split(";")[0] == expected, url
        assert len(asset.content) > 100
    bundle = world.client.get(next(u for u in urls if u.endswith("swagger-ui-bundle.js")))
    assert b"SwaggerUIBundle" in bundle.content
    assert "public" in directives(bundle)  # the same files for everyone, no key


def test_the_cdn_only_docs_page_is_gone(world: World) -> None:
    assert world.client.get("/schema/scalar").status_code == 404


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)")
def test_swagger_ui_renders_the_spec_in_a_browser_with_no_internet(tmp_path: Path) -> None:
    """Served by uvicorn and rendered by headless Chromium: every operation is on the page
    (Swagger UI 4 could not render an OpenAPI 3.1 spec; this machine has no internet)."""
    assert CHROMIUM is not None
    with live_server(tmp_path, world_store(tmp_path, "docs")) as server:
        head = httpx.head(f"{server.url}/schema/openapi.json")
        got = httpx.get(f"{server.url}/schema/openapi.json", headers={"Accept-Encoding": "gzip"})
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == got.headers["content-length"]
        operations = sum(len(ops) for ops in got.json()["paths"].values())
        browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        dom = subprocess.run(
            [*browser, "--virtual-time-budget=15000", "--dump-dom", f"{server.url}/schema"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    assert "Unable to render" not in dom
    assert "Start a run" in dom and "OAS 3.1" in dom
    assert dom.count('class="opblock-summary-path"') == operations


# -- CORS -------------------------------------------------------------------------------------

ALLOWED = "https://finance.example.org"


@pytest.fixture(scope="module")
def cors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient[Any], Keys]]:
    settings = settings_for(tmp_path_factory.mktemp("cors"), cors_origins=(ALLOWED,))
    keys = make_keys(open_test_store(settings.store))
    with TestClient(create_app(settings)) as client:
        yield client, keys


def test_a_preflight_from_an_allowed_origin_is_answered(
    cors: tuple[TestClient[Any], Keys],
) -> None:
    client, _ = cors
    response = client.options(
        "/api/v1/runs",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-API-Key, If-None-Match",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "x-api-key" in allowed and "if-none-match" in allowed


def test_a_simple_request_from_an_allowed_origin_can_read_the_headers(
    cors: tuple[TestClient[Any], Keys],
) -> None:
    client, keys = cors
    response = client.get(
        "/api/v1/reference/areas", headers={**keys.header("finance"), "Origin": ALLOWED}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    exposed = {h.strip() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"ETag", "Location", "Retry-After"} <= exposed
    assert "Origin" in response.headers["vary"]


def test_a_disallowed_origin_gets_no_cors_headers(cors: tuple[TestClient[Any], Keys]) -> None:
    client, keys = cors
    other = "https://elsewhere.example.org"
    simple = client.get(
        "/api/v1/reference/areas", headers={**keys.header("finance"), "Origin": other}
    )
    preflight = client.options(
        "/api/v1/runs", headers={"Origin": other, "Access-Control-Request-Method": "GET"}
    )
    assert simple.status_code == 200
    assert preflight.status_code >= 400
    for response in (simple, preflight):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_no_origins_configured_means_no_cors_headers(world: World) -> None:
    response = get(world, "/api/v1/reference/areas", Origin=ALLOWED)
    assert response.status_code == 200
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_cors_origins_from_the_environment_are_checked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CORS_ORIGINS_ENV, " https://a.example.org, http://localhost:5173 ,")
    assert default_cors_origins() == ("https://a.example.org", "http://localhost:5173")
    for bad in ("a.example.org", "https://a.example.org/", "ftp://a.example.org", "https://"):
        monkeypatch.setenv(CORS_ORIGINS_ENV, bad)
        with pytest.raises(ValueError, match=CORS_ORIGINS_ENV):
            default_cors_origins()
    monkeypatch.delenv(CORS_ORIGINS_ENV)
    assert default_cors_origins() == ()
    with pytest.raises(ValueError, match="scheme://host"):
        ApiSettings(store_path=tmp_path / "s.sqlite3", cors_origins=("*",))


def test_the_etag_memo_gives_the_hash_of_the_body_it_is_shown() -> None:
    from commissioning.api.http_cache import EtagMemo, etag_of

    memo = EtagMemo()
    body = json.dumps({"rows": list(range(2000))}).encode()
    first = memo.etag(body, "application/json")
    assert first == etag_of(body, "application/json")
    assert memo.etag(body, "application/json") == first  # remembered, same answer
    equal_copy = bytes(bytearray(body))  # another object, same bytes: same tag
    assert equal_copy is not body and memo.etag(equal_copy, "application/json") == first
    assert memo.etag(body, "text/csv") == etag_of(body, "text/csv") != first
    changed = body.replace(b"1999", b"1998")
    assert memo.etag(changed, "application/json") == etag_of(changed, "application/json") != first
    for n in range(EtagMemo.SIZE * 2):  # bounded: old bodies are let go
        memo.etag(str(n).encode(), "text/plain")
    assert len(memo.entries) == EtagMemo.SIZE
    assert all(len(held) <= EtagMemo.MAX_BODY for held, _, _ in memo.entries.values())
