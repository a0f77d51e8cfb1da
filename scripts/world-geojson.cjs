// Writes the world map the seizure pages draw (GeoJSON for ECharts) to standard output.
//
// Source: Natural Earth 1:50m countries (public domain) as TopoJSON from the world-atlas npm
// package, converted with topojson-client. world-atlas is made for drawing on the sphere (d3):
// rings that cross the antimeridian (Russia, Fiji) jump from 180 to -180, which a flat map
// draws as a band across the world, so they are made continuous (Chukotka runs to 190 E).
// Antarctica, a ring around the pole, is left out. Coordinates are rounded to 1e-4 degrees,
// finer than the 1:50m grid: about 1.8 MB.
const topojson = require("topojson-client");
const world = require("world-atlas/countries-50m.json");

function unwrap(ring) {
  let k = 0;
  const out = ring.map((p, i) => {
    const d = i ? p[0] - ring[i - 1][0] : 0;
    k += d < -180 ? 360 : d > 180 ? -360 : 0;
    return [p[0] + k, p[1]];
  });
  if (k !== 0) throw new Error("a ring around a pole is left: " + JSON.stringify(ring[0]));
  const shift = Math.min(...out.map((p) => p[0])) < -180 ? 360 : 0;
  return out.map((p) => [p[0] + shift, p[1]]);
}

const fc = topojson.feature(world, world.objects.countries);
fc.features = fc.features.filter((f) => f.properties.name !== "Antarctica");
for (const f of fc.features) {
  const g = f.geometry;
  if (g.type === "Polygon") g.coordinates = g.coordinates.map(unwrap);
  if (g.type === "MultiPolygon") g.coordinates = g.coordinates.map((p) => p.map(unwrap));
}
const round = (_key, v) => (typeof v === "number" ? Math.round(v * 1e4) / 1e4 : v);
process.stdout.write(JSON.stringify(fc, round));
