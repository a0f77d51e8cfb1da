"""Mark and logo retrieval: accuracy on generated stamps and query time at 100,000 marks.

Accuracy: ``classes`` generated logos (drawn symbols, frames and text), one mildly distorted
photo of each stored, then ``queries`` fully distorted photos of each searched for (any
rotation, scale, perspective, crop, blur, noise, uneven light, partial occlusion, pressed or
printed on textured surfaces; see ``seizures/marks_generate.py``). Top-1 and top-5: the
query's logo is the first / among the first five results. Baseline in the same run: the
shortlist stage alone (cosine of the VLAD global descriptors), without geometric
verification.

Speed: query time with 100,000 stored marks (``marks_eval.speed_at_scale``: real
fingerprints of the gallery and of 500 further logos, plus turned, scaled and jittered copies
of those up to 100,000, so both stages cost what they would on real marks). Baseline: the
shortlist stage alone on the same index.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from benchmarks.figures import Baseline, Figure
from interdict.seizures import marks, marks_eval

NAME = "seizures_marks"


def _accuracy(n_classes: int, n_queries: int, seed: int = 0) -> dict[str, float]:
    marks.default_vocabulary()
    index = marks.MarkIndex()
    for k in range(n_classes):
        index.add(k, marks.fingerprint(marks_eval._photo(k, seed, 1, 0.25)))
    engine, base = [], []
    started = time.perf_counter()
    for k in range(n_classes):
        for q in range(n_queries):
            fp = marks.fingerprint(marks_eval._photo(k, seed, 100 + q, 1.0),
                                  features=marks.QUERY_FEATURES)
            found = [m.id for m in index.search(fp, top=5)]
            engine.append(found.index(k) if k in found else 99)
            sims = index.similarities(fp)
            base.append(int((sims > sims[k]).sum()))
        if k % 25 == 24:
            print(f"{NAME}: {k + 1}/{n_classes} logos queried", file=sys.stderr)
    e, b = np.array(engine), np.array(base)
    return {"top1": float(np.mean(e < 1)), "top5": float(np.mean(e < 5)),
            "base_top1": float(np.mean(b < 1)), "base_top5": float(np.mean(b < 5)),
            "queries": float(len(e)), "seconds": time.perf_counter() - started}


def run(*, quick: bool) -> list[Figure]:
    classes, per_class = (60, 2) if quick else (150, 2)
    n_marks, pool, n_queries = (5_000, 100, 20) if quick else (100_000, 500, 50)
    acc = _accuracy(classes, per_class)
    params = {"classes": classes, "queries_per_class": per_class,
              "queries": int(acc["queries"]), "strength": 1.0,
              "accuracy_seconds": round(acc["seconds"], 1)}
    print(f"{NAME}: timing queries against {n_marks:,} marks", file=sys.stderr)
    speed = marks_eval.speed_at_scale(n_marks=n_marks, n_classes=min(classes, 200),
                                      pool=pool, n_queries=n_queries)
    sp = {k: v for k, v in speed.items() if not isinstance(v, list)}
    out = [
        Figure(NAME, "top1", round(acc["top1"], 4), "share", "higher",
               Baseline("global descriptor only (no verification)",
                        round(acc["base_top1"], 4)), target=0.95, params=params),
        Figure(NAME, "top5", round(acc["top5"], 4), "share", "higher",
               Baseline("global descriptor only (no verification)",
                        round(acc["base_top5"], 4)), target=0.99, params=params),
    ]
    stage1 = float(sp["mean_shortlist_stage_ms"])
    for key, label in (("median_query_ms", "query_ms_p50"), ("p95_query_ms", "query_ms_p95"),
                       ("mean_query_ms", "query_ms_mean")):
        out.append(Figure(NAME, f"{label}_at_{n_marks}", float(sp[key]), "ms", "lower",
                          Baseline("shortlist stage alone (mean)", stage1), params=sp))
    out.append(Figure(NAME, f"top1_at_{n_marks}", float(sp["top1"]), "share", "higher",
                      params=sp))
    return out
