// Targeting pages: the live queue (Server-Sent Events), the contribution and drift charts.
(function () {
  function text(s) { var d = document.createElement("div"); d.textContent = s == null ? "" : String(s); return d.innerHTML; }
  function why(c) {
    var parts = [];
    (c.rule_hits || []).slice(0, 2).forEach(function (h) { parts.push(h.title); });
    (c.contributions || []).slice(0, 2).forEach(function (x) {
      parts.push((x.label || x.feature) + " " + (x.contribution >= 0 ? "+" : "") + x.contribution.toFixed(2));
    });
    if (c.exploration) parts.push("exploration");
    return parts.join(" · ");
  }
  function row(c) {
    var tr = document.createElement("tr");
    tr.dataset.id = c.id;
    tr.className = "fresh";
    tr.innerHTML = '<td><span class="badge lane lane-' + text(c.lane) + '">' + text(c.lane) + "</span>" +
      (c.exploration ? ' <span class="badge">explore</span>' : "") + "</td>" +
      "<td>" + c.score.toFixed(2) + "</td>" +
      '<td><a href="/targeting/consignments/' + c.id + '">' + text(c.reference) + "</a></td>" +
      "<td>" + text(c.kind) + "</td><td>" + text(c.office || "") + "</td><td>" + text(c.importer || "") + "</td>" +
      "<td>" + text(c.hs_code || "") + "</td><td>" + text(c.origin_country || c.departure_country || "") + "</td>" +
      '<td class="small why">' + text(why(c)) + "</td>" +
      "<td>" + (c.alert_id ? '<a href="/alerts/' + c.alert_id + '">#' + c.alert_id + "</a>" : "") + "</td>";
    return tr;
  }
  function live() {
    var table = document.getElementById("queue");
    if (!table || !window.EventSource) return;
    var status = document.getElementById("live-status");
    var lane = table.dataset.lane;
    var source = new EventSource("/api/v1/targeting/stream?after=" + (table.dataset.last || 0));
    source.addEventListener("ready", function () { if (status) status.textContent = "live"; });
    source.addEventListener("consignment", function (e) {
      var c = JSON.parse(e.data);
      if (lane && c.lane !== lane) return;
      var body = table.tBodies[0];
      body.insertBefore(row(c), body.firstChild);
      while (body.rows.length > 500) body.deleteRow(-1);
      var empty = document.getElementById("queue-empty");
      if (empty) empty.remove();
    });
    source.onerror = function () { if (status) status.textContent = "reconnecting…"; };
  }
  function contributions() {
    var el = document.getElementById("contrib-chart"), data = document.getElementById("contrib-data");
    if (!el || !data || !window.echarts) return;
    var items = JSON.parse(data.textContent).slice().reverse();
    echarts.init(el).setOption({
      animation: false,
      grid: { left: 280, right: 30, top: 10, bottom: 30 },
      xAxis: { type: "value", name: "log-odds" },
      yAxis: { type: "category", axisLabel: { width: 260, overflow: "truncate" },
               data: items.map(function (x) { return (x.label || x.feature) + " = " + x.value; }) },
      tooltip: {},
      series: [{ type: "bar", data: items.map(function (x) {
        return { value: x.contribution, itemStyle: { color: x.contribution >= 0 ? "#b42318" : "#1a7f37" } };
      }) }]
    });
    el.dataset.rendered = "1";
  }
  function drift() {
    var el = document.getElementById("drift-chart"), data = document.getElementById("drift-data");
    if (!el || !data || !window.echarts) return;
    var d = JSON.parse(data.textContent);
    var labels = ["min", "10%", "20%", "30%", "40%", "50%", "60%", "70%", "80%", "90%", "max"];
    echarts.init(el).setOption({
      animation: false,
      legend: { top: 0 }, tooltip: { trigger: "axis" },
      grid: { left: 50, right: 20, top: 30, bottom: 30 },
      xAxis: { type: "category", data: labels, name: "quantile" },
      yAxis: { type: "value", name: "probability", max: 1 },
      series: [{ name: "validation period", type: "line", data: d.training },
               { name: "recent", type: "line", data: d.recent }]
    });
    el.dataset.rendered = "1";
  }
  function start() { live(); contributions(); drift(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
