// Draws the dashboard's alerts-per-day chart from the summary the server rendered.
(function () {
  function draw() {
    var el = document.getElementById("alerts-chart");
    if (!el || !window.echarts) return;
    var summary = JSON.parse(el.dataset.summary);
    var series = Object.keys(summary.series).map(function (name) {
      return { name: name, type: "bar", stack: "alerts", emphasis: { focus: "series" },
               data: summary.series[name] };
    });
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 40, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: summary.days.map(function (d) { return d.slice(5); }) },
      yAxis: { type: "value", minInterval: 1, name: "alerts" },
      series: series
    });
    el.dataset.rendered = "true";
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
