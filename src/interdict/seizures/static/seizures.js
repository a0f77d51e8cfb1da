// Seizure pages: the world map (ECharts geo with a GeoJSON from npm, no tile server) and the
// dashboard charts. Data come from JSON blocks rendered into the page.
(function () {
  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function worldMap() {
    var el = document.getElementById("seizure-map"), d = data("map-data");
    if (!el || !d || !window.echarts) return;
    fetch(el.dataset.geojson).then(function (r) {
      if (!r.ok) throw new Error("world map: HTTP " + r.status);
      return r.json();
    }).then(function (geo) {
      echarts.registerMap("world", geo);
      var maxKg = Math.max.apply(null, [1].concat(d.points.map(function (p) { return p.kg; })));
      var maxFlow = Math.max.apply(null, [1].concat(d.flows.map(function (f) { return f.count; })));
      // Open on the seizures and their routes (with a margin), not on the whole world.
      var lons = [], lats = [];
      d.points.forEach(function (p) { lons.push(p.lon); lats.push(p.lat); });
      d.flows.forEach(function (f) { f.coords.forEach(function (c) { lons.push(c[0]); lats.push(c[1]); }); });
      var bounds = lons.length ? [[Math.max(-180, Math.min.apply(null, lons) - 12), Math.min(85, Math.max.apply(null, lats) + 8)],
                                  [Math.min(190, Math.max.apply(null, lons) + 12), Math.max(-60, Math.min.apply(null, lats) - 8)]] : null;
      var chart = echarts.init(el);
      chart.setOption({
        animation: false,
        tooltip: {
          trigger: "item",
          formatter: function (p) {
            if (p.seriesType === "lines") return p.data.name;
            if (p.data && p.data.reference) {
              return p.data.reference + " (" + p.data.country + ", " + p.data.seized_at + ")<br>" +
                p.data.substances.join(", ") + (p.data.kg ? "<br>" + p.data.kg.toLocaleString() + " kg" : "") +
                (p.data.approximate ? "<br><i>placed at the country's centre</i>" : "");
            }
            return p.name || "";
          }
        },
        geo: { map: "world", roam: true, boundingCoords: bounds, itemStyle: { areaColor: "#eef1f5", borderColor: "#98a2b3" },
               emphasis: { itemStyle: { areaColor: "#dde3ea" }, label: { show: false } } },
        series: [
          { name: "routes", type: "lines", coordinateSystem: "geo", zlevel: 1,
            lineStyle: { color: "#b54708", opacity: 0.55, curveness: 0.2 },
            effect: { show: false },
            data: d.flows.map(function (f) {
              return { name: f.from + " → " + f.to + ": " + f.count + " seizure(s)", coords: f.coords,
                       lineStyle: { width: 1 + 5 * f.count / maxFlow } };
            }) },
          { name: "seizures", type: "scatter", coordinateSystem: "geo", zlevel: 2,
            itemStyle: { color: "#b42318", opacity: 0.8 },
            symbolSize: function (v, p) { return 6 + 14 * Math.sqrt((p.data.kg || 0) / maxKg); },
            data: d.points.map(function (p) {
              return { name: p.reference, value: [p.lon, p.lat], id: p.id, reference: p.reference,
                       country: p.country, seized_at: p.seized_at, substances: p.substances, kg: p.kg,
                       approximate: p.approximate };
            }) }
        ]
      });
      chart.on("click", function (p) { if (p.data && p.data.id) window.location = "/seizures/" + p.data.id; });
      el.dataset.rendered = String(d.points.length);
    }).catch(function (e) {
      el.textContent = "The world map could not be drawn: " + e.message;
      el.dataset.error = "1";
    });
  }

  function bars(id, labels, values, name) {
    var el = document.getElementById(id);
    if (!el) return;
    echarts.init(el).setOption({
      animation: false, tooltip: {}, grid: { left: 150, right: 20, top: 10, bottom: 30 },
      xAxis: { type: "value", name: name, minInterval: 1 }, yAxis: { type: "category", data: labels.slice().reverse() },
      series: [{ type: "bar", data: values.slice().reverse(), itemStyle: { color: "#1c64b4" } }]
    });
    el.dataset.rendered = "1";
  }

  function dashboard() {
    var d = data("dashboard-data");
    if (!d || !window.echarts) return;
    bars("chart-substance", d.by_substance.slice(0, 12).map(function (r) { return r.substance; }),
         d.by_substance.slice(0, 12).map(function (r) { return r.seizures; }), "seizures");
    bars("chart-country", d.by_country.slice(0, 12).map(function (r) { return r.country; }),
         d.by_country.slice(0, 12).map(function (r) { return r.seizures; }), "seizures");
    var month = document.getElementById("chart-month");
    if (month) {
      echarts.init(month).setOption({
        animation: false, tooltip: { trigger: "axis" }, grid: { left: 50, right: 20, top: 10, bottom: 30 },
        xAxis: { type: "category", data: d.by_month.map(function (r) { return r.month; }) },
        yAxis: { type: "value", name: "seizures", minInterval: 1 },
        series: [{ type: "bar", data: d.by_month.map(function (r) { return r.seizures; }), itemStyle: { color: "#b42318" } }]
      });
      month.dataset.rendered = "1";
    }
    var agg = document.getElementById("chart-aggregates"), a = d.aggregates;
    if (agg && a.months.length) {
      echarts.init(agg).setOption({
        animation: false, tooltip: { trigger: "axis" }, legend: { type: "scroll", top: 0 },
        grid: { left: 70, right: 20, top: 40, bottom: 60 },
        dataZoom: [{ type: "slider", bottom: 10 }],
        xAxis: { type: "category", data: a.months },
        yAxis: { type: "value", name: "kg" },
        series: a.drugs.map(function (s) { return { name: s.drug_type, type: "bar", stack: "kg", data: s.kg }; })
      });
      agg.dataset.rendered = String(a.drugs.length);
    }
  }

  document.addEventListener("DOMContentLoaded", function () { worldMap(); dashboard(); });
})();
