// Link chart: starts from one entity, expands neighbours on click, filters by type and period.
(function () {
  var cy, loaded = {}, metrics = {}, canonical = {};
  function metricsOf(id) { return metrics[canonical[id] || id]; }
  var PALETTE = ["#4a7bd0", "#d08a4a", "#5aa469", "#b05bc1", "#c9485b", "#3aa6a6", "#8c7a3a",
                 "#6b6bd6", "#d6b23a", "#7a8c99"];
  function filters() {
    var form = document.getElementById("chart-filters");
    var types = Array.prototype.map.call(form.querySelectorAll("input[name=schema]:checked"),
                                         function (i) { return i.value; });
    var period = form.querySelector("select[name=period]");
    var size = form.querySelector("select[name=size]");
    var grade = form.querySelector("select[name=grade]");
    return { types: types, period: period ? period.value : "", size: size ? size.value : "links",
             grade: grade ? grade.value : "" };
  }
  function apply() {
    var f = filters();
    // Source reliability, best first in both schemes: A/1, B/2, C/3, then X.
    var RANK = { A: 1, "1": 1, B: 2, "2": 2, C: 3, "3": 3, X: 4 };
    cy.nodes().forEach(function (n) {
      var graded = !f.grade || (n.data("grades") || []).some(function (g) {
        return (RANK[g] || 9) <= RANK[f.grade];
      });
      var shown = f.types.indexOf(n.data("schema")) >= 0 && graded;
      n.style("display", shown ? "element" : "none");
    });
    cy.edges().forEach(function (e) {
      var ok = !f.period || e.data("periods").indexOf(f.period) >= 0;
      e.style("display", ok ? "element" : "none");
      e.style("width", 1 + Math.log(1 + e.data("weight")));
    });
    var values = cy.nodes().map(function (n) {
      var m = metricsOf(n.id());
      return f.size === "links" || !m ? n.connectedEdges(":visible").length : (m[f.size] || 0);
    });
    var top = Math.max.apply(null, values.concat([1e-12]));
    cy.nodes().forEach(function (n, i) {
      n.data("size", f.size === "links" ? 20 + 6 * values[i] : 16 + 44 * values[i] / top);
      var m = metricsOf(n.id());
      if (m && m.community !== undefined) n.data("colour", PALETTE[m.community % PALETTE.length]);
    });
  }
  function expand(id) {
    if (loaded[id]) return;
    loaded[id] = true;
    fetch("/network/chart/neighbours/" + id, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        data.nodes.forEach(function (n) {
          if (!cy.getElementById(String(n.id)).length)
            cy.add({ group: "nodes", data: { id: String(n.id), label: n.caption, schema: n.schema,
                                             grades: n.grades } });
        });
        // One drawn edge per pair and relationship type: the calls of all periods add up
        // (width), and the periods are kept so that the period filter still applies.
        data.edges.forEach(function (e) {
          var eid = "e" + e.source + "-" + e.target + "-" + e.schema;
          var edge = cy.getElementById(eid);
          if (!edge.length) {
            edge = cy.add({ group: "edges", data: { id: eid, source: String(e.source),
                                                    target: String(e.target), label: e.schema,
                                                    weight: 0, periods: [], links: [] } });
          }
          if (edge.data("links").indexOf(e.id) < 0) {
            edge.data("links").push(e.id);
            edge.data("weight", edge.data("weight") + (e.weight || 1));
            if (e.period) edge.data("periods").push(e.period);
          }
        });
        apply();
        cy.layout({ name: "cose", animate: false }).run();
        document.getElementById("chart").dataset.nodes = String(cy.nodes().length);
      });
  }
  function init() {
    var el = document.getElementById("chart");
    if (!el || !window.cytoscape) return;
    cy = window.cyInstance = cytoscape({
      container: el,
      style: [
        { selector: "node", style: { label: "data(label)", width: "data(size)", height: "data(size)",
                                     "font-size": 10, "background-color": "#4a7bd0" } },
        { selector: "node[colour]", style: { "background-color": "data(colour)" } },
        { selector: "node[schema = 'Company'], node[schema = 'Organization']", style: { shape: "round-rectangle" } },
        { selector: "node[schema = 'LegalEntity']", style: { shape: "diamond" } },
        { selector: "edge", style: { "curve-style": "bezier", "line-color": "#aaa",
                                     "target-arrow-shape": "none", opacity: 0.8 } },
        { selector: "edge:selected, edge.hover", style: { label: "data(label)", "font-size": 9,
                                                          color: "#444", "line-color": "#555" } }
      ]
    });
    cy.on("tap", "node", function (evt) { expand(evt.target.id()); });
    cy.on("mouseover", "edge", function (evt) { evt.target.addClass("hover"); });
    cy.on("mouseout", "edge", function (evt) { evt.target.removeClass("hover"); });
    cy.on("dbltap", "node", function (evt) { window.location = "/network/entities/" + evt.target.id(); });
    document.getElementById("chart-filters").addEventListener("change", apply);
    fetch("/network/chart/metrics", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        metrics = data.metrics || {}; canonical = data.canonical || {};
        apply(); el.dataset.metrics = "true";
      })
      .catch(function () { el.dataset.metrics = "failed"; });
    if (el.dataset.focus) expand(el.dataset.focus);
    el.dataset.ready = "true";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
