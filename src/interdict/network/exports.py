"""Exports for the tools analysts already use: GraphML (yEd, Cytoscape, Gephi), GEXF
(Gephi) and CSV (spreadsheets, and back into ``analyze``).

GraphML and GEXF are written by networkx from the simple graph: nodes keep their label and
attributes, and with an :class:`~interdict.network.analysis.Analysis` every metric and the
community become node attributes, so Gephi can size and colour by them without recomputing.
Edges carry the aggregated ``weight``, its ``strength`` and ``distance`` readings, the number
of records behind them and their periods.

CSV is the record-level edge list (one line per recorded tie, with period and attributes),
which :func:`~interdict.network.readers.read_edgelist` reads back unchanged; the node table
(ids, labels, attributes, metrics) goes to a second file next to it.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Literal

from interdict.errors import FieldError, InvalidData
from interdict.network.analysis import Analysis
from interdict.network.graph import Graph, WeightAs, check_weight_as

Target = Literal["graphml", "gexf", "csv"]
TARGETS: tuple[Target, ...] = ("graphml", "gexf", "csv")


def _node_data(graph: Graph, result: Analysis | None) -> dict[str, list[Any]]:
    if result is None:
        return {}
    if result.ids != graph.ids:
        raise ValueError("the analysis is of another graph")
    data: dict[str, list[Any]] = {name: [float(x) for x in values]
                                  for name, values in result.scores.items()}
    data["k_core"] = [int(x) for x in result.scores["k_core"]]
    data["community"] = [int(x) for x in result.community]
    return data


def nodes_path(out: Path) -> Path:
    """Where the CSV export writes its node table: ``edges.csv`` -> ``edges.nodes.csv``."""
    return out.with_name(f"{out.stem}.nodes.csv")


def export_graph(graph: Graph, out: str | Path, *, to: str,
                 weight_as: WeightAs = "strength", result: Analysis | None = None) -> list[Path]:
    """Write ``graph`` (and the metrics of ``result``, if given); returns the files written."""
    import networkx as nx

    if to not in TARGETS:
        raise InvalidData("unknown export format", errors=[
            FieldError("to", f"{to!r} is not one of {', '.join(TARGETS)}")])
    out = Path(out)
    weight_as = check_weight_as(weight_as)
    data = _node_data(graph, result)
    if to == "csv":
        return _write_csv(graph, out, data)
    g = graph.to_networkx(weight_as, node_data=data)
    g.graph = {k: v for k, v in g.graph.items() if v is not None}
    if to == "graphml":
        nx.write_graphml(g, out)
    else:
        # GEXF has no graph-level attributes beyond its mode; the node ``label`` is its label.
        g.graph = {}
        nx.write_gexf(g, out)
    return [out]


def _write_csv(graph: Graph, out: Path, data: dict[str, list[Any]]) -> list[Path]:
    keys = sorted({k for i in range(graph.number_of_records)
                   for k in (graph.link_attrs[i] if graph.link_attrs else {})})
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["source", "target", "weight", "period", *keys])
        for record in graph.records():
            writer.writerow([record.source, record.target, repr(record.weight),
                             record.period or "", *(record.attrs.get(k, "") for k in keys)])
    node_keys = sorted({k for attrs in graph.node_attrs.values() for k in attrs})
    nodes = nodes_path(out)
    with nodes.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "label", *node_keys, *data])
        for i, node in enumerate(graph.ids):
            attrs = graph.node_attrs.get(node, {})
            writer.writerow([node, graph.label(node), *(attrs.get(k, "") for k in node_keys),
                             *(values[i] for values in data.values())])
    return [out, nodes]
