"""``interdict network``: analyse graph files (matrices and edge lists) without a database.

``analyze`` prints every metric, the communities and the key players; ``disrupt`` simulates
removing actors; ``paths`` shows how two actors connect, with the records behind each link;
``timeline`` follows each actor's rank across periods; ``export`` writes GraphML, GEXF or CSV.
With the root ``--json`` flag each prints one JSON document; without it, a short table.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from interdict.cli.context import CliContext, pass_ctx
from interdict.network import analysis, disruption, exports, readers, timeslice
from interdict.network.graph import WEIGHT_AS, Graph, check_weight_as

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _graph_options(f: Any) -> Any:
    """The options every command that reads a graph file shares."""
    for option in reversed([
        click.option("--format", "fmt", type=click.Choice(["matrix", "edgelist"]),
                     default=None, help="Input format (default: detected)."),
        click.option("--directed", is_flag=True, help="Ties have a direction (row -> column, "
                                                      "source -> target)."),
        click.option("--weighted", is_flag=True, help="Use the weights (else every tie "
                                                      "counts 1)."),
        click.option("--weight-as", type=click.Choice(WEIGHT_AS), default="strength",
                     show_default=True, help="strength: more = closer (path length "
                                             "1/weight); distance: the weight is a length."),
    ]):
        f = option(f)
    return f


def _load(path: Path, fmt: str | None, directed: bool, weighted: bool) -> Graph:
    return readers.read_graph(path, format=fmt,  # type: ignore[arg-type]
                              directed=directed, weighted=weighted)


def _describe(graph: Graph, weight_as: str) -> str:
    kind = "directed" if graph.directed else "undirected"
    if not graph.weighted:
        return f"{kind}, unweighted"
    length = "1/weight" if weight_as == "strength" else "weight"
    return f"{kind}, weighted as {weight_as} (path length = {length})"


@click.group("network")
def network() -> None:
    """Criminal network analysis: centrality, communities, paths, disruption, time."""


@network.command("analyze")
@click.argument("path", metavar="FILE", type=FILE)
@_graph_options
@click.option("--communities", "method", type=click.Choice(["leiden", "louvain"]),
              default="leiden", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for communities and estimates (same seed, same result).")
@click.option("--top", type=int, default=10, show_default=True, help="Key players listed.")
@click.option("--groups", type=FILE, default=None,
              help="Node attribute table (CSV, first column the node id) for brokerage roles.")
@click.option("--group-by", default=None, help="Column of --groups holding each actor's group.")
@click.option("--exact/--estimate", default=None,
              help="Force exact or estimated betweenness/closeness (default: by size).")
@pass_ctx
def analyze(obj: CliContext, path: Path, fmt: str | None, directed: bool, weighted: bool,
            weight_as: str, method: str, seed: int, top: int, groups: Path | None,
            group_by: str | None, exact: bool | None) -> None:
    """Centralities, communities and key players of a matrix or edge-list FILE."""
    graph = _load(path, fmt, directed, weighted)
    if groups is not None:
        table = readers.read_node_attributes(groups)
        for node in graph.ids:
            graph.node_attrs.setdefault(node, {}).update(table.get(node, {}))
        if group_by is None:
            raise click.UsageError("--groups needs --group-by COLUMN")
    elif group_by is not None:
        raise click.UsageError("--group-by needs --groups FILE")
    result = analysis.analyze(graph, analysis.Options(
        weight_as=check_weight_as(weight_as), communities=method,  # type: ignore[arg-type]
        seed=seed, top=top, groups=group_by, exact=exact))
    obj.emit(result.to_dict(), _analysis_table(graph, result, weight_as))


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    if abs(x) >= 1 and float(x).is_integer():
        return f"{x:.0f}"
    return f"{x:.4f}" if abs(x) < 1000 else f"{x:.4g}"


def _analysis_table(graph: Graph, result: analysis.Analysis, weight_as: str) -> str:
    lines = [f"{graph.name}: {len(result.ids)} nodes, {result.edges} edges, "
             f"{result.components} component(s), {_describe(graph, weight_as)}",
             f"communities ({result.params['community_method']}): "
             f"{int(result.community.max()) + 1 if len(result.community) else 0}, "
             f"modularity {result.modularity:.3f}",
             f"{'rank':>4}  {'node':<20} {'degree':>8} {'strength':>9} {'betweenness':>11} "
             f"{'pagerank':>8} {'core':>4} {'community':>9}"]
    s = result.scores
    for rank, i in enumerate(result.top(len(result.key_players)), start=1):
        lines.append(f"{rank:>4}  {graph.label(graph.ids[i])[:20]:<20} {_fmt(s['degree'][i]):>8} "
                     f"{_fmt(s['strength'][i]):>9} {_fmt(s['betweenness'][i]):>11} "
                     f"{_fmt(s['pagerank'][i]):>8} {int(s['k_core'][i]):>4} "
                     f"{int(result.community[i]):>9}")
    if result.brokerage is not None:
        lines.append(f"brokerage roles (groups: {result.params['groups']}):")
        for i in result.top(len(result.key_players)):
            counts = ", ".join(f"{role} {int(result.brokerage[role][i])}"
                               for role in analysis.ROLES)
            lines.append(f"  {graph.label(graph.ids[i])[:20]:<20} {counts}")
    lines.append(f"key players: {analysis.KEY_PLAYER_RULE}")
    estimated = sorted({m for m in result.methods.values() if m.startswith("estimated")})
    lines += [f"  {m}" for m in estimated]
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)


@network.command("disrupt")
@click.argument("path", metavar="FILE", type=FILE)
@click.option("--strategy", type=click.Choice(disruption.STRATEGIES), required=True)
@click.option("--mode", type=click.Choice(disruption.MODES), default="sequential",
              show_default=True, help="sequential: one actor per step, recomputed; block: "
                                      "K actors per step, recomputed between blocks.")
@click.option("--block-size", type=click.IntRange(min=1), default=None,
              help="Actors per block (default: 5% of the actors, at least 1).")
@_graph_options
@click.option("--seed", type=int, default=0, show_default=True, help="For --strategy random.")
@click.option("--steps", type=click.IntRange(min=0), default=None,
              help="Stop after this many steps (default: when no tie is left).")
@pass_ctx
def disrupt(obj: CliContext, path: Path, strategy: str, mode: str, block_size: int | None,
            fmt: str | None, directed: bool, weighted: bool, weight_as: str, seed: int,
            steps: int | None) -> None:
    """Remove actors of FILE by a strategy; print the largest-component curve."""
    graph = _load(path, fmt, directed, weighted)
    if block_size is None:
        block_size = 1 if mode == "sequential" else max(1, math.ceil(graph.n / 20))
    result = disruption.simulate(graph, strategy=strategy, mode=mode, block_size=block_size,
                                 weight_as=check_weight_as(weight_as), seed=seed,
                                 max_steps=steps)
    data = result.to_dict()
    lines = [f"{graph.name}: {graph.n} actors, {_describe(graph, weight_as)}; "
             f"strategy {strategy}, {mode}"
             + (f" (blocks of {result.block_size})" if mode == "block" else ""),
             f"largest {data['lcc_of']}: {result.lcc[0]} before any removal",
             f"{'step':>4}  {'lcc':>5}  removed"]
    for k, (size, step) in enumerate(zip(result.lcc[1:], result.steps, strict=True), start=1):
        lines.append(f"{k:>4}  {size:>5}  {', '.join(graph.label(x) for x in step)}")
    lines.append(f"robustness R = {result.robustness:.3f} (mean largest-component share)")
    obj.emit(data, "\n".join(lines))


@network.command("paths")
@click.argument("path", metavar="FILE", type=FILE)
@click.argument("source")
@click.argument("target")
@_graph_options
@click.option("--max-hops", type=click.IntRange(min=0), default=0,
              help="Also list every simple path of at most this many links.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@pass_ctx
def paths(obj: CliContext, path: Path, source: str, target: str, fmt: str | None,
          directed: bool, weighted: bool, weight_as: str, max_hops: int, limit: int) -> None:
    """How SOURCE reaches TARGET: shortest paths with the records behind every link."""
    graph = _load(path, fmt, directed, weighted)
    wa = check_weight_as(weight_as)
    shortest = analysis.shortest_paths(graph, source, target, weight_as=wa, limit=limit)
    short = (analysis.short_paths(graph, source, target, max_hops=max_hops, limit=limit,
                                  weight_as=wa) if max_hops else [])
    data = {"source": source, "target": target, "weight_as": wa,
            "shortest": [p.to_dict() for p in shortest], "short": [p.to_dict() for p in short]}
    lines = [f"{source} -> {target}: {len(shortest)} shortest path(s)"
             + ("" if shortest else " (not connected)")]
    for label, found in (("shortest", shortest), (f"up to {max_hops} hops", short)):
        for p in found:
            lines.append(f"  [{label}] {' -> '.join(p.nodes)}  ({p.hops} hops, "
                         f"length {p.length:.4g})")
            for s in p.steps:
                periods = sorted({r.period for r in s.records if r.period})
                lines.append(f"      {s.source} - {s.target}: weight {s.weight:g}, "
                             f"{len(s.records)} record(s)"
                             + (f", periods {', '.join(periods)}" if periods else ""))
    obj.emit(data, "\n".join(lines))


@network.command("timeline")
@click.argument("files", metavar="FILE...", type=FILE, nargs=-1, required=True)
@click.option("--metric", type=click.Choice(analysis.METRICS), default="betweenness",
              show_default=True)
@_graph_options
@click.option("--every", type=click.Choice(timeslice.EVERY), default=None,
              help="Group dated ties by day, week, month, quarter or year.")
@click.option("--top", type=int, default=5, show_default=True,
              help="Show actors ranked this high in some period.")
@pass_ctx
def timeline(obj: CliContext, files: tuple[Path, ...], metric: str, fmt: str | None,
             directed: bool, weighted: bool, weight_as: str, every: str | None,
             top: int) -> None:
    """Rank of each actor by METRIC per period: one FILE per period (named by the file),
    or one FILE whose ties carry a period or date."""
    if len(files) == 1:
        graph = _load(files[0], fmt, directed, weighted)
    else:
        graph = timeslice.combine({f.stem: _load(f, fmt, directed, weighted) for f in files})
    if every is not None:
        graph = timeslice.bin_by_time(graph, every)  # type: ignore[arg-type]
    result = timeslice.rank_changes(graph, metric=metric, weight_as=check_weight_as(weight_as))
    lines = [f"rank by {metric} per period ({_describe(graph, weight_as)}); '.' = absent",
             f"{'actor':<16}" + "".join(f"{p[-8:]:>9}" for p in result.periods) + "   change"]
    for node in result.leaders(top):
        ranks = "".join(f"{'.' if r is None else r:>9}" for r in result.ranks[node])
        change = result.change(node)
        lines.append(f"{graph.label(node)[:16]:<16}{ranks}   "
                     f"{'' if change is None else f'{change:+d}'}")
    obj.emit(result.to_dict(), "\n".join(lines))


@network.command("export")
@click.argument("path", metavar="FILE", type=FILE)
@click.option("--to", "to", type=click.Choice(exports.TARGETS), required=True)
@click.argument("out", metavar="OUT", type=click.Path(dir_okay=False, path_type=Path))
@_graph_options
@click.option("--metrics", is_flag=True, help="Add every metric and the community as node "
                                              "attributes.")
@pass_ctx
def export_graph(obj: CliContext, path: Path, to: str, out: Path, fmt: str | None,
                 directed: bool, weighted: bool, weight_as: str, metrics: bool) -> None:
    """Write FILE as GraphML, GEXF or CSV to OUT (CSV: also OUT's .nodes.csv)."""
    graph = _load(path, fmt, directed, weighted)
    wa = check_weight_as(weight_as)
    result = analysis.analyze(graph, analysis.Options(weight_as=wa)) if metrics else None
    written = exports.export_graph(graph, out, to=to, weight_as=wa, result=result)
    obj.emit({"format": to, "written": [str(p) for p in written], "nodes": graph.n,
              "records": graph.number_of_records},
             "wrote " + ", ".join(str(p) for p in written))
