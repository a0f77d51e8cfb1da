"""The intelligence file (entities, values with provenance, links, resolution) and the graph
analysis engine over it.

Analysis works on an in-memory :class:`~interdict.network.graph.Graph` read from a file
(``readers``) or built from stored links: centralities, communities, paths (``analysis``),
rank changes across periods (``timeslice``), disruption simulation (``disruption``) and
exports for Gephi, yEd or spreadsheets (``exports``). ``service`` is the entry point other
domains may use.
"""
