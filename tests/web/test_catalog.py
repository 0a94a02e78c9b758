"""Reading ``dist`` into memory: which folders are maps, their tiles (MBTiles or tile folder),
their documents (catalog, TileJSON, style) and downloads, and errors at start-up."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from starlette.applications import Starlette

from tests.support.mvt import decode
from tests.support.servers import require_tool
from tests.web.http_helpers import GZIP, TestClient, raw_body
from tests.web.sample_dist import (
    DEMO_TILES,
    LEGEND,
    PUBLIC_URL,
    SAFE_ATTRIBUTION,
    TITLE,
    build_dist,
    stored_tile,
)
from tilepress.errors import ServeError
from tilepress.web.app import create_app
from tilepress.web.pages import clean_attribution

# --------------------------------------------------------------------------- start-up


def test_start_up_skips_folders_that_are_not_maps(app: Starlette) -> None:
    assert app.state.maps == ("atlas", "demo")
    assert app.state.public_url == PUBLIC_URL


def test_empty_folder_raises_serve_error(tmp_path: Path) -> None:
    (tmp_path / "_work").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "run.log").write_text("")
    with pytest.raises(ServeError) as caught:
        create_app(tmp_path, public_url=PUBLIC_URL)
    message = str(caught.value)
    assert "holds no map" in message
    assert "tilepress run" in message
    assert caught.value.where == str(tmp_path)


def test_missing_folder_and_bad_public_url_raise_serve_error(tmp_path: Path) -> None:
    with pytest.raises(ServeError, match="does not exist"):
        create_app(tmp_path / "nope", public_url=PUBLIC_URL)
    with pytest.raises(ServeError, match="public URL"):
        create_app(tmp_path, public_url="ftp://example.org")


def test_broken_tilejson_raises_serve_error(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "tiles.json").write_text("{not json")
    with pytest.raises(ServeError) as caught:
        create_app(tmp_path, public_url=PUBLIC_URL)
    assert caught.value.where == str(tmp_path / "demo" / "tiles.json")


def test_mbtiles_is_opened_read_only(dist: Path) -> None:
    mbtiles = dist / "demo" / "demo.mbtiles"
    before = hashlib.sha256(mbtiles.read_bytes()).hexdigest()
    create_app(dist, public_url=PUBLIC_URL)
    assert hashlib.sha256(mbtiles.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in (dist / "demo").glob("demo.mbtiles*")) == ["demo.mbtiles"]


def test_requests_never_touch_the_disk(tmp_path: Path) -> None:
    dist = build_dist(tmp_path)
    pdf = (dist / "demo" / "demo.pdf").read_bytes()
    tile = stored_tile(dist, 1, 1, 0)
    app = create_app(dist, public_url=PUBLIC_URL)
    shutil.rmtree(dist)
    with TestClient(app) as client:
        response, body = raw_body(client, "/demo/tiles/1/1/0.pbf", GZIP)
        assert response.status_code == 200
        assert body == tile
        assert client.get("/demo/demo.pdf").content == pdf
        assert client.get("/demo/").status_code == 200
        assert client.get("/atlas/tiles/1/0/0.pbf").status_code == 200


# --------------------------------------------------------------------------- catalog


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok", "maps": 2}


def test_catalog_json_lists_the_maps(client: TestClient) -> None:
    response = client.get("/catalog.json")
    assert response.status_code == 200
    catalog = response.json()
    assert catalog["public_url"] == PUBLIC_URL
    maps = {entry["id"]: entry for entry in catalog["maps"]}
    assert sorted(maps) == ["atlas", "demo"]
    demo = maps["demo"]
    assert demo["title"] == TITLE
    assert demo["caption"] == "Countries that <em>matter</em>"
    assert demo["minzoom"] == 0
    assert demo["maxzoom"] == 2
    assert demo["tile_count"] == len(DEMO_TILES)
    assert demo["license"]["id"] == "CC-BY-SA-4.0"
    assert demo["links"] == {
        "viewer": f"{PUBLIC_URL}/demo/",
        "tilejson": f"{PUBLIC_URL}/demo/tiles.json",
        "style": f"{PUBLIC_URL}/demo/style.json",
        "pdf": f"{PUBLIC_URL}/demo/demo.pdf",
        "png": f"{PUBLIC_URL}/demo/demo.png",
        "pmtiles": f"{PUBLIC_URL}/demo/demo.pmtiles",
        "mbtiles": f"{PUBLIC_URL}/demo/demo.mbtiles",
        "tiles": f"{PUBLIC_URL}/demo/tiles/{{z}}/{{x}}/{{y}}.pbf",
    }
    assert set(maps["atlas"]["links"]) == {"viewer", "tilejson", "style", "tiles"}


# --------------------------------------------------------------------------- tiles


def test_tile_from_mbtiles_uses_the_tms_row_flip(client: TestClient) -> None:
    for (z, x, y), name in DEMO_TILES.items():
        response = client.get(f"/demo/tiles/{z}/{x}/{y}.pbf", headers=GZIP)
        assert response.status_code == 200, (z, x, y)
        feature = decode(response.content)["countries"]["features"][0]
        assert feature["properties"] == {"adm0_a3": "UKR", "name": name, "color": "#0057b7"}


def test_tiles_from_folder_when_there_is_no_mbtiles(client: TestClient) -> None:
    response = client.get("/atlas/tiles/1/1/1.pbf", headers=GZIP)
    assert response.status_code == 200
    assert decode(response.content)["countries"]["features"][0]["properties"]["name"] == (
        "Atlas SE"
    )
    assert client.get("/atlas/tiles/1/0/1.pbf").status_code == 204
    assert client.get("/atlas/tiles/0/0/0.pbf").status_code == 404  # below minzoom


# --------------------------------------------------------------------------- JSON documents


def test_tilejson_uses_public_url_whatever_the_host(client: TestClient) -> None:
    response = client.get("/demo/tiles.json", headers={"Host": "evil.example"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"
    tilejson = response.json()
    assert tilejson["tiles"] == [f"{PUBLIC_URL}/demo/tiles/{{z}}/{{x}}/{{y}}.pbf"]
    assert "evil.example" not in response.text
    assert tilejson["tilejson"] == "3.0.0"
    assert tilejson["vector_layers"][0]["id"] == "countries"
    assert tilejson["tilepress"]["legend"] == LEGEND


def test_tilejson_attribution_is_cleaned(client: TestClient) -> None:
    attribution = client.get("/demo/tiles.json").json()["attribution"]
    assert attribution == SAFE_ATTRIBUTION + "<a>more</a>"
    assert clean_attribution(SAFE_ATTRIBUTION) == SAFE_ATTRIBUTION
    assert clean_attribution('<b>x<a href="http://e.org" target="_blank">y') == (
        '<b>x<a href="http://e.org" target="_blank">y</a></b>'
    )


def test_style_points_at_public_url(client: TestClient) -> None:
    response = client.get("/demo/style.json", headers={"Host": "evil.example"})
    assert response.status_code == 200
    style = response.json()
    assert style["sources"] == {
        "countries": {"type": "vector", "url": f"{PUBLIC_URL}/demo/tiles.json"}
    }
    assert [layer["id"] for layer in style["layers"]] == ["background", "fill", "line"]


def test_default_style_for_a_map_without_one(client: TestClient) -> None:
    style = client.get("/atlas/style.json").json()
    assert style["version"] == 8
    assert style["sources"]["countries"]["url"] == f"{PUBLIC_URL}/atlas/tiles.json"
    fill = next(layer for layer in style["layers"] if layer["type"] == "fill")
    assert fill["paint"]["fill-color"][1] == ["get", "color"]


def test_styles_pass_gl_style_validate(client: TestClient, tmp_path: Path) -> None:
    """The style served for a map without style.json is valid MapLibre style spec."""
    validate = require_tool("gl-style-validate")
    for map_id in ("atlas", "demo"):
        path = tmp_path / f"{map_id}.json"
        path.write_bytes(client.get(f"/{map_id}/style.json").content)
        result = subprocess.run(
            [validate, str(path)], capture_output=True, text=True, check=False, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"version": 8, "sources": {}, "layers": [{"id": "x"}]}))
    result = subprocess.run([validate, str(broken)], capture_output=True, text=True, check=False)
    assert result.returncode != 0  # the validator does reject an invalid style


# --------------------------------------------------------------------------- downloads


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("demo.pdf", "application/pdf"),
        ("demo.png", "image/png"),
        ("demo.pmtiles", "application/vnd.pmtiles"),
        ("demo.mbtiles", "application/vnd.sqlite3"),
    ],
)
def test_downloads(client: TestClient, dist: Path, name: str, content_type: str) -> None:
    response = client.get(f"/demo/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["accept-ranges"] == "bytes"
    assert response.content == (dist / "demo" / name).read_bytes()
    assert response.headers["etag"].startswith('"')
