// Draws the identification page's overlay: the query and its best matches as processed.
(function () {
  function draw() {
    var el = document.getElementById("spectrum-chart");
    var data = document.getElementById("plot-data");
    if (!el || !data || !window.echarts) return;
    var plot = JSON.parse(data.textContent);
    if (!plot.x) return;
    var mass = plot.kind === "mass";
    var series = plot.series.map(function (s, i) {
      var points = plot.x.map(function (x, k) { return [x, s.y[k]]; });
      if (mass) points = points.filter(function (p) { return p[1] > 0; });
      return { name: s.name, type: mass ? "bar" : "line", showSymbol: false, barWidth: 2,
               lineStyle: { width: i === 0 ? 2 : 1 }, data: points };
    });
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 50, right: 20, top: 40, bottom: 50 },
      dataZoom: [{ type: "inside" }, { type: "slider", height: 18 }],
      xAxis: { type: "value", name: mass ? "m/z" : "cm⁻¹", nameLocation: "middle", nameGap: 28,
               min: "dataMin", max: "dataMax", inverse: false },
      yAxis: { type: "value", name: "processed intensity" },
      series: series
    });
    el.dataset.rendered = "true";
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
