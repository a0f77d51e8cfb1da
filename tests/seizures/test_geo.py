"""Country points and map names from the vendored world map (``make assets`` builds it)."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from interdict.seizures import geo
from interdict.seizures.geo import country_centroids, map_name_of


def _map() -> dict:
    return json.loads(resources.files(geo.MAP_PACKAGE).joinpath(geo.MAP_FILE).read_bytes())


@pytest.mark.parametrize("code, lon, lat", [
    ("NL", (4.0, 7.0), (51.0, 53.5)),
    ("BR", (-60.0, -45.0), (-15.0, -5.0)),
    ("AU", (128.0, 140.0), (-30.0, -20.0)),
    ("US", (-105.0, -90.0), (35.0, 42.0)),  # the mainland: not pulled towards Alaska
    ("RU", (80.0, 110.0), (55.0, 65.0)),  # Chukotka past 180 E does not tear the mainland
    ("FJ", (177.0, 179.0), (-18.5, -17.0)),  # Viti Levu, next to the antimeridian
    ("FR", (1.0, 4.0), (45.5, 47.5)),  # metropolitan France, not French Guiana
    ("NO", (8.0, 16.0), (59.0, 66.0)),
    ("CO", (-76.0, -71.0), (2.0, 6.0)),
])
def test_points_fall_where_the_country_is(code, lon, lat):
    x, y = country_centroids()[code]
    assert lon[0] < x < lon[1] and lat[0] < y < lat[1]


def test_every_coded_country_on_the_map_has_a_point():
    on_map = {f["properties"]["name"] for f in _map()["features"]}
    points = country_centroids()
    names = {code: map_name_of(code) for code in points}
    uncoded = on_map - set(names.values())
    # Natural Earth has no ISO code for these areas; Ashmore and Cartier shares Australia's.
    assert uncoded == {"Somaliland", "N. Cyprus", "Indian Ocean Ter.", "Siachen Glacier",
                       "Ashmore and Cartier Is."}
    assert len(points) >= 230
    assert all(len(c) == 2 and c.isupper() for c in points)
    assert all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in points.values())


def test_map_names_are_the_feature_names_echarts_uses():
    assert map_name_of("NL") == "Netherlands"
    assert map_name_of("us") == "United States of America"
    assert map_name_of(" AU ") == "Australia"  # the continent, not Ashmore and Cartier (036 too)
    assert map_name_of("XK") == "Kosovo"  # no ISO code in Natural Earth; XK as the EU uses it
    assert map_name_of("SG") == "Singapore" and map_name_of("MT") == "Malta"
    with pytest.raises(KeyError):
        map_name_of("ZZ")


def test_the_vendored_map_draws_flat():
    """ECharts draws on a plane: no ring may jump across the antimeridian, and the polar ring
    of Antarctica is left out (see the Makefile)."""
    names = set()
    for feature in _map()["features"]:
        names.add(feature["properties"]["name"])
        g = feature["geometry"]
        for polygon in [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]:
            for ring in polygon:
                lons = [p[0] for p in ring]
                assert max(abs(b - a) for a, b in zip(lons, lons[1:], strict=False)) < 180
                assert ring[0] == ring[-1]
    assert "Antarctica" not in names and {"Russia", "Fiji", "Netherlands"} <= names


def test_centroid_of_a_polygon_with_a_hole():
    square = [[0, -1], [2, -1], [2, 1], [0, 1], [0, -1]]
    hole = [[0.5, -0.5], [1.0, -0.5], [1.0, 0.5], [0.5, 0.5], [0.5, -0.5]]  # left of centre
    area, (lon, lat) = geo._polygon_centroid([square])
    assert (lon, lat) == pytest.approx((1.0, 0.0), abs=1e-9) and area > 0
    holed, (lon, lat) = geo._polygon_centroid([square, hole])
    assert holed < area and lon > 1.0 and lat == pytest.approx(0.0, abs=1e-9)
    assert geo._polygon_centroid([[[0, 10], [1, 10], [2, 10], [0, 10]]])[0] == 0.0
