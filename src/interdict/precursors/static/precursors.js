// Operator page: book stock against counted stock for the chosen substance.
(function () {
  function draw() {
    var el = document.getElementById("stock-chart");
    var data = document.getElementById("stock-data");
    var pick = document.getElementById("stock-substance");
    if (!el || !data || !pick || !window.echarts) return;
    var stock = JSON.parse(data.textContent);
    var chart = echarts.init(el);
    function show(name) {
      var s = stock[name] || { book: [], counted: [] };
      chart.setOption({
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 60, right: 20, top: 40, bottom: 50 },
        dataZoom: [{ type: "inside" }, { type: "slider", height: 18 }],
        xAxis: { type: "time" },
        yAxis: { type: "value", name: "kg" },
        series: [
          { name: "book balance", type: "line", step: "end", showSymbol: false, data: s.book },
          { name: "counted", type: "scatter", symbolSize: 9, data: s.counted }
        ]
      }, true);
      el.dataset.rendered = name;
    }
    pick.addEventListener("change", function () { show(pick.value); });
    show(pick.value);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
