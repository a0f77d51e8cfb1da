"""Countries on the web UI's world map: a representative point and the map's name for each.

The map is the one ECharts draws: ``web/static/vendor/world.geo.json``, made by ``make
assets`` from Natural Earth's 1:50m countries (public domain) via the world-atlas package.
Reading that same file, rather than a second table of coordinates, keeps the points placed on
the map and the countries highlighted on it in agreement with what is drawn.

- **Codes.** Each feature carries its ISO 3166-1 numeric code (``"528"``) and an English
  name (``"Netherlands"``). Records use alpha-2 codes, so the numeric code is translated
  through the Unicode CLDR territory aliases that Babel ships (already installed with
  followthemoney). Natural Earth leaves Kosovo without a code; it gets ``XK``, the code the
  European Commission and most agencies use. Areas without any code (Somaliland, Northern
  Cyprus, Siachen Glacier, the Australian Indian Ocean Territories) are left out, and so is
  Antarctica, which the build leaves off the map.
- **Flat map.** The build makes rings that cross the antimeridian continuous (Russia's
  Chukotka runs to 190 E), so rings are plain planar polygons here; points are given back
  in -180..180.
- **Point.** The area-weighted centroid of the country's largest polygon, holes subtracted:
  the mainland, not the mean of mainland and far islands (the United States' point is in
  Kansas, not pulled towards Alaska and Hawaii). Areas and centroids are taken in Lambert's
  cylindrical equal-area projection (x = longitude, y = sin latitude), so high latitudes do
  not count more than they cover. The point of a strongly concave country can fall just
  outside it; it is meant for placing a marker or a flow line, not for geocoding.
- Computed once per process (a second or less) and cached.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
from babel.core import get_global

from interdict.errors import ConfigurationError

MAP_PACKAGE = "interdict.web"
MAP_FILE = "static/vendor/world.geo.json"

# Map features without an ISO 3166-1 numeric code that still have a code in use.
_CODE_BY_NAME = {"Kosovo": "XK"}

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Country:
    name: str  # the feature's name: what ECharts calls the region
    point: tuple[float, float]  # (lon, lat)
    area: float  # of the largest polygon, in the equal-area projection


def country_centroids() -> dict[str, tuple[float, float]]:
    """ISO alpha-2 code -> (longitude, latitude) of the country's representative point."""
    return {code: c.point for code, c in _countries().items()}


def map_name_of(alpha2: str) -> str:
    """The map's name for a country (``"US"`` -> ``"United States of America"``): the region
    name ECharts uses, to highlight the country or attach a value to it.

    Raises ``KeyError`` for a code that is not on the map (check ``country_centroids()``).
    """
    country = _countries().get(alpha2.strip().upper())
    if country is None:
        raise KeyError(f"{alpha2!r} is not a country on the world map")
    return country.name


@cache
def _countries() -> dict[str, _Country]:
    aliases = get_global("territory_aliases")
    best: dict[str, _Country] = {}
    for feature in _read_map()["features"]:
        name = str(feature["properties"]["name"])
        code = _alpha2(feature.get("id"), name, aliases)
        if code is None:
            continue
        for polygon in _polygons(feature.get("geometry")):
            area, point = _polygon_centroid(polygon)
            if area > 0 and (code not in best or area > best[code].area):
                best[code] = _Country(name, point, area)
    return best


def _read_map() -> dict[str, Any]:
    path = resources.files(MAP_PACKAGE).joinpath(MAP_FILE)
    try:
        data: dict[str, Any] = json.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise ConfigurationError(f"the world map {MAP_FILE} is missing: run `make assets`"
                                 ) from exc
    return data


def _alpha2(numeric: object, name: str, aliases: Any) -> str | None:
    if isinstance(numeric, str):
        codes = aliases.get(numeric.zfill(3))
        if isinstance(codes, list | tuple) and len(codes) == 1 and len(codes[0]) == 2:
            return str(codes[0])
    return _CODE_BY_NAME.get(name)


def _polygons(geometry: Any) -> list[list[Any]]:
    if not isinstance(geometry, dict):
        return []
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"]]
    if geometry.get("type") == "MultiPolygon":
        return list(geometry["coordinates"])
    return []


def _polygon_centroid(rings: list[Any]) -> tuple[float, tuple[float, float]]:
    """(area, (lon, lat)) of a GeoJSON polygon (outer ring, then holes) in the equal-area
    projection; area 0 for a degenerate polygon."""
    total, sx, sy = 0.0, 0.0, 0.0
    for i, ring in enumerate(rings):
        coords = np.asarray(ring, dtype=np.float64)
        if coords.ndim != 2 or len(coords) < 3:
            continue
        area, cx, cy = _ring(coords[:, 0], np.sin(np.radians(coords[:, 1])))
        sign = 1.0 if i == 0 else -1.0  # holes are subtracted whatever their winding
        total += sign * area
        sx += sign * area * cx
        sy += sign * area * cy
    if total <= 0:
        return 0.0, (0.0, 0.0)
    lat = math.degrees(math.asin(max(-1.0, min(1.0, sy / total))))
    lon = (sx / total + 180.0) % 360.0 - 180.0
    return total, (lon, lat)


def _ring(x: FloatArray, y: FloatArray) -> tuple[float, float, float]:
    """Unsigned area and centroid of a closed ring (shoelace formula)."""
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    signed = float(cross.sum()) / 2
    if signed == 0:
        return 0.0, 0.0, 0.0
    cx = float(((x + x1) * cross).sum()) / (6 * signed)
    cy = float(((y + y1) * cross).sum()) / (6 * signed)
    return abs(signed), cx, cy
