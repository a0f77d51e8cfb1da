// Disruption chart: one line per removal strategy, largest component after each step.
(function () {
  function draw() {
    var el = document.getElementById("disruption-chart");
    var data = document.getElementById("disruption-data");
    if (!el || !data || !window.echarts) return;
    var curves = JSON.parse(data.textContent);
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 50, right: 20, top: 40, bottom: 40 },
      xAxis: { type: "value", name: "actors removed", nameLocation: "middle", nameGap: 26 },
      yAxis: { type: "value", name: "largest part" },
      series: curves.map(function (c) {
        var perStep = c.block_size || 1;
        return { name: c.strategy, type: "line", showSymbol: false,
                 data: c.lcc.map(function (v, i) { return [i * perStep, v]; }) };
      })
    });
    el.dataset.rendered = "true";
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
