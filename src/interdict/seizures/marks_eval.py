"""How well and how fast the mark search finds a mark again, on synthetic seizure photos.

Two measurements, both reproducible from a seed:

* :func:`evaluate_retrieval`: ``n_classes`` logos from :mod:`marks_generate`, one mildly
  distorted photo of each stored in a :class:`~interdict.seizures.marks.MarkIndex` (plus,
  optionally, ``distractors`` photos of further logos that no query shows), then
  ``queries_per_class`` independently distorted photos of every logo searched for. Reports
  top-1 and top-5 (the query's logo is the first / among the first five results), timings and
  sizes.
* :func:`speed_at_scale`: query time against ``n_marks`` stored marks (100,000 by default).
  Fingerprinting 100,000 photos would take two hours on one core, so the stored marks are
  made as follows, and said so in the result: the gallery of ``n_classes`` real
  fingerprints, plus real fingerprints of ``pool`` photos of other logos, plus copies of
  those pool fingerprints, each turned by a random angle, scaled by 0.7-1.4 and moved (its
  keypoints transformed, descriptor bytes jittered by +-2, global vector jittered by 5 % noise
  and renormalised). The copies have the size, shape and statistics of real fingerprints, so
  both stages cost what they would on real marks; they show no query's logo, so top-1 at scale
  is also meaningful, if against easier-than-real distractors.

Run: ``python -m interdict.seizures.marks_eval --classes 1000 --queries 3 --scale 100000``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import cv2
import numpy as np

from interdict.seizures.marks import (
    QUERY_FEATURES,
    MarkFingerprint,
    MarkIndex,
    default_vocabulary,
    fingerprint,
)
from interdict.seizures.marks_generate import Ranges, distort, stamp

#: Distractor logos are numbered from here, far from any gallery class.
DISTRACTOR_BASE = 500_000


def _photo(class_id: int, seed: int, salt: int, strength: float,
           ranges: Ranges | None = None) -> np.ndarray[Any, np.dtype[np.uint8]]:
    rng = np.random.default_rng([seed & 0xFFFFFFFF, class_id, salt])
    pressed = bool(np.random.default_rng([seed & 0xFFFFFFFF, class_id]).random() < 0.5)
    return distort(stamp(class_id, seed), rng, strength=strength, pressed=pressed,
                   ranges=ranges)


def _rank(results: list[int], truth: int) -> int:
    return results.index(truth) if truth in results else 10**9


def evaluate_retrieval(n_classes: int = 1000, queries_per_class: int = 3,
                       distractors: int = 0, seed: int = 0, *, shortlist: int = 200,
                       strength: float = 1.0, ranges: Ranges | None = None) -> dict[str, Any]:
    """Top-1/top-5 of distorted queries against a gallery of one photo per logo.

    Gallery photos are distorted at strength 0.25 (any rotation, mild everything else, no
    occlusion); queries at ``strength`` with ``ranges`` (default: everything on, see
    :func:`~interdict.seizures.marks_generate.distort`). Pressed or printed is fixed per logo.
    """
    default_vocabulary()  # learned before the clock starts
    index = MarkIndex()
    t_fp, n_fp, sizes = 0.0, 0, []
    for k in range(n_classes):
        t0 = time.perf_counter()
        fp = fingerprint(_photo(k, seed, 1, 0.25))
        t_fp += time.perf_counter() - t0
        n_fp += 1
        sizes.append(len(fp.to_bytes()))
        index.add(k, fp)
    for j in range(distractors):
        index.add(DISTRACTOR_BASE + j, fingerprint(_photo(DISTRACTOR_BASE + j, seed, 1, 0.25)))
    ranks, query_ms, global_hits, missed_shortlist = [], [], 0, 0
    for k in range(n_classes):
        for q in range(queries_per_class):
            photo = _photo(k, seed, 100 + q, strength, ranges)
            t0 = time.perf_counter()
            fp = fingerprint(photo, features=QUERY_FEATURES)
            t1 = time.perf_counter()
            found = index.search(fp, top=5, shortlist=shortlist)
            t2 = time.perf_counter()
            t_fp += t1 - t0
            n_fp += 1
            query_ms.append(1000.0 * (t2 - t1))
            ranks.append(_rank([m.id for m in found], k))
            sims = index.similarities(fp)
            missed_shortlist += int((sims > sims[k]).sum() >= shortlist)  # row k = class k
            global_hits += int(any(m.id == k and m.stage == "global" for m in found[:1]))
    r = np.array(ranks)
    return {
        "classes": n_classes, "queries": len(r), "distractors": distractors, "seed": seed,
        "shortlist": shortlist, "strength": strength,
        "top1": round(float(np.mean(r < 1)), 4), "top5": round(float(np.mean(r < 5)), 4),
        "top1_unverified": global_hits, "missed_shortlist": missed_shortlist,
        "mean_query_ms": round(float(np.mean(query_ms)), 2),
        "p95_query_ms": round(float(np.percentile(query_ms, 95)), 2),
        "mean_fingerprint_ms": round(1000.0 * t_fp / max(1, n_fp), 2),
        "index_size": len(index),
        "mean_fingerprint_bytes": round(float(np.mean(sizes)), 1),
        "max_fingerprint_bytes": int(np.max(sizes)),
    }


def _jittered(fp: MarkFingerprint, rng: np.random.Generator) -> MarkFingerprint:
    """A copy of ``fp`` as if the same logo had been photographed turned, scaled and moved."""
    angle = rng.uniform(0, 360)
    scale = rng.uniform(0.7, 1.4)
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], np.float32)
    kp = fp.keypoints.copy()
    centre = np.array([fp.width / 2, fp.height / 2], np.float32)
    kp[:, :2] = ((kp[:, :2] - centre) @ rot.T) * scale + centre + rng.uniform(-30, 30, 2)
    kp[:, :2] = np.clip(kp[:, :2], 0, 2000)
    kp[:, 2] = np.mod(kp[:, 2] + angle, 360.0)
    kp[:, 3] *= scale
    desc = np.clip(fp.descriptors.astype(np.int16)
                   + rng.integers(-2, 3, fp.descriptors.shape), 0, 255).astype(np.uint8)
    vec = fp.vector.astype(np.float32)
    vec += rng.normal(0, 0.05 * float(np.abs(vec).mean()) + 1e-3, vec.shape)
    quantised = np.clip(np.round(vec), -127, 127).astype(np.int8)
    return MarkFingerprint(kp, desc, quantised, fp.vocabulary, fp.width, fp.height)


def speed_at_scale(n_marks: int = 100_000, n_classes: int = 200, pool: int = 500,
                   n_queries: int = 100, seed: int = 0, *,
                   shortlist: int = 200) -> dict[str, Any]:
    """Query time (and top-1/top-5) with ``n_marks`` stored; see the module doc for how."""
    default_vocabulary()
    t0 = time.perf_counter()
    gallery = [fingerprint(_photo(k, seed, 1, 0.25)) for k in range(n_classes)]
    pool_fps = [fingerprint(_photo(DISTRACTOR_BASE + j, seed, 1, 0.25)) for j in range(pool)]
    rng = np.random.default_rng(seed)
    index = MarkIndex(capacity=n_marks)
    for k, fp in enumerate(gallery):
        index.add(k, fp)
    for j, fp in enumerate(pool_fps):
        index.add(DISTRACTOR_BASE + j, fp)
    next_id = 10_000_000
    while len(index) < n_marks:
        index.add(next_id, _jittered(pool_fps[int(rng.integers(pool))], rng))
        next_id += 1
    build_s = time.perf_counter() - t0
    ranks, ms, stage1_ms = [], [], []
    for q in range(n_queries):
        k = q % n_classes
        fp = fingerprint(_photo(k, seed, 100 + q // n_classes, 1.0), features=QUERY_FEATURES)
        t1 = time.perf_counter()
        index.similarities(fp)
        t2 = time.perf_counter()
        found = index.search(fp, top=5, shortlist=shortlist)
        t3 = time.perf_counter()
        stage1_ms.append(1000.0 * (t2 - t1))
        ms.append(1000.0 * (t3 - t2))
        ranks.append(_rank([m.id for m in found], k))
    r = np.array(ranks)
    arrays = index.to_arrays()
    return {
        "stored_marks": len(index), "real_fingerprints": n_classes + pool,
        "jittered_copies": len(index) - n_classes - pool, "queries": n_queries,
        "shortlist": shortlist,
        "mean_query_ms": round(float(np.mean(ms)), 1),
        "median_query_ms": round(float(np.median(ms)), 1),
        "p95_query_ms": round(float(np.percentile(ms, 95)), 1),
        "mean_shortlist_stage_ms": round(float(np.mean(stage1_ms)), 1),
        "top1": round(float(np.mean(r < 1)), 4), "top5": round(float(np.mean(r < 5)), 4),
        "index_memory_mb": round(sum(a.nbytes for a in arrays.values()) / 1e6, 1),
        "build_s": round(build_s, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=3)
    parser.add_argument("--distractors", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shortlist", type=int, default=200)
    parser.add_argument("--scale", type=int, default=0, help="also time search at this size")
    parser.add_argument("--scale-classes", type=int, default=200)
    parser.add_argument("--scale-queries", type=int, default=100)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    report: dict[str, Any] = {}
    if args.classes:
        report["retrieval"] = evaluate_retrieval(args.classes, args.queries, args.distractors,
                                                 args.seed, shortlist=args.shortlist)
        print(json.dumps(report["retrieval"]), flush=True)
    if args.scale:
        report["scale"] = speed_at_scale(args.scale, args.scale_classes,
                                         n_queries=args.scale_queries, seed=args.seed,
                                         shortlist=args.shortlist)
        print(json.dumps(report["scale"]), flush=True)


if __name__ == "__main__":
    main()
