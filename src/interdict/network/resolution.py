"""Entity resolution: which records describe the same person, company or vessel.

The pipeline is pure library code; the caller stores entities, model output and analysts'
decisions. One run (:func:`resolve`) does:

1. **normalise** each record once (:mod:`.resolution_records`): transliteration to ASCII,
   name tokens, metaphone keys, partial dates, normalised identifiers, address words;
2. **block** (:mod:`.resolution_blocking`): records sharing an identifier, a phonetic name
   token and birth year, two name-token prefixes, a date of birth or a postcode and initial
   become candidate pairs; oversized blocks are skipped and reported;
3. **compare** (:mod:`.resolution_compare`): each candidate pair gets a level per feature
   (names, date of birth, identifiers, address, country);
4. **estimate and score** (:mod:`.resolution_model`): a Fellegi-Sunter model, u from random
   pairs and m by EM (or from analysts' accepted pairs), gives each pair a match weight,
   a probability and a sentence per feature explaining it.

The output is *suggestions* (:class:`ScoredPair`). Curated identity lives elsewhere: analysts'
:class:`Judgement` records, from which :func:`canonical_ids` derives canonical ids by
union-find over accepted pairs, never merging across a rejection. Nothing is merged or
overwritten; a source entity keeps its id and gains a canonical id.

Measured on FEBRL4 (5,000 + 5,000 records): see ``docs/entity-resolution.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from interdict.errors import FieldError, InvalidData
from interdict.network.resolution_blocking import (
    DEFAULT_MAX_BLOCK_SIZE,
    BlockingReport,
    SkippedBlock,
    block_keys,
    candidate_pairs,
)
from interdict.network.resolution_compare import (
    FEATURE_NAMES,
    FEATURES,
    Comparisons,
    compare_pairs,
    random_pairs,
)
from interdict.network.resolution_judgements import (
    CanonicalIds,
    Conflict,
    Decision,
    Judgement,
    canonical_ids,
    judge,
    live_judgements,
    pair_key,
    pending_suggestions,
    training_labels,
)
from interdict.network.resolution_model import (
    DEFAULT_THRESHOLD,
    Contribution,
    Model,
    ScoredPair,
    estimate_u,
    explain_pair,
    fit_em,
    fit_labelled,
    match_weights,
    probabilities,
)
from interdict.network.resolution_records import (
    Corpus,
    PartialDate,
    ResolvableRecord,
    from_ftm,
    name_tokens,
    parse_date,
    phonetic,
    prepare,
)

__all__ = [
    "DEFAULT_MAX_BLOCK_SIZE", "DEFAULT_THRESHOLD", "FEATURES", "FEATURE_NAMES",
    "BlockingReport", "CanonicalIds", "Comparisons", "Conflict", "Contribution", "Corpus",
    "Decision", "Judgement", "Model", "PartialDate", "ResolutionRun", "ResolvableRecord",
    "ScoredPair", "SkippedBlock", "block_keys", "canonical_ids", "from_ftm", "judge",
    "live_judgements", "name_tokens", "pair_key", "parse_date", "pending_suggestions",
    "phonetic", "prepare", "resolve", "training_labels",
]

#: Random pairs drawn to estimate u: enough that a level seen once in 10,000 random pairs
#: is estimated within a factor of about two.
DEFAULT_RANDOM_PAIRS = 40_000

#: Accepted judgements needed before they, rather than EM, give the m probabilities.
MIN_ACCEPTED_FOR_LABELS = 50


@dataclass(frozen=True)
class ResolutionRun:
    """The result of :func:`resolve`: every candidate pair scored, plus how it was done.

    Scores are kept as arrays (one entry per candidate pair) and turned into explained
    :class:`ScoredPair` objects on request, so a run over a large file stays cheap until an
    analyst looks at a pair.
    """

    corpus: Corpus
    blocking: BlockingReport
    comparisons: Comparisons
    model: Model
    weights: npt.NDArray[np.float64]
    probabilities: npt.NDArray[np.float64]
    threshold: float

    @cached_property
    def _index(self) -> dict[str, int]:
        return {p.record.id: p.index for p in self.corpus.records}

    def _ids(self, k: int) -> tuple[str, str]:
        records = self.corpus.records
        return pair_key(records[int(self.comparisons.left[k])].record.id,
                        records[int(self.comparisons.right[k])].record.id)

    def __len__(self) -> int:
        return len(self.comparisons)

    def pair(self, k: int) -> ScoredPair:
        """Candidate pair number ``k``, scored and explained."""
        return explain_pair(self.corpus, self.model, int(self.comparisons.left[k]),
                            int(self.comparisons.right[k]), threshold=self.threshold)

    def suggested_pairs(self) -> list[tuple[str, str]]:
        """Id pairs at or above the threshold, without building explanations (fast)."""
        chosen = np.flatnonzero(self.probabilities >= self.threshold)
        return [self._ids(k) for k in chosen.tolist()]

    def suggestions(self, min_probability: float | None = None) -> list[ScoredPair]:
        """Explained pairs at or above ``min_probability`` (default: the threshold), most
        probable first."""
        floor = self.threshold if min_probability is None else min_probability
        chosen = np.flatnonzero(self.probabilities >= floor)
        chosen = chosen[np.argsort(-self.probabilities[chosen], kind="stable")]
        return [self.pair(k) for k in chosen.tolist()]

    def scored_pairs(self) -> Iterator[ScoredPair]:
        """Every candidate pair, explained, in blocking order."""
        for k in range(len(self.comparisons)):
            yield self.pair(k)

    def explain(self, left_id: str, right_id: str) -> ScoredPair:
        """Score and explain any two records of the run, candidate pair or not."""
        try:
            return explain_pair(self.corpus, self.model, self._index[left_id],
                                self._index[right_id],
                                threshold=self.threshold)
        except KeyError as exc:
            raise InvalidData(f"no record {exc.args[0]!r} in this run",
                              errors=[FieldError("id", "unknown")]) from exc


def _labelled_levels(corpus: Corpus, labels: Mapping[tuple[str, str], bool]
                     ) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
    index = {p.record.id: p.index for p in corpus.records}
    known = [(index[a], index[b], v) for (a, b), v in labels.items()
             if a in index and b in index and a != b]
    left = np.array([k[0] for k in known], dtype=np.int64)
    right = np.array([k[1] for k in known], dtype=np.int64)
    levels = compare_pairs(corpus, left, right).levels
    return levels, np.array([k[2] for k in known], dtype=np.bool_)


def resolve(
    records: Iterable[ResolvableRecord], *, model: Model | None = None,
    estimate: bool = True, labels: Mapping[tuple[str, str], bool] | None = None,
    link_only: bool = False, threshold: float = DEFAULT_THRESHOLD,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    random_pair_count: int = DEFAULT_RANDOM_PAIRS, seed: int = 0,
) -> ResolutionRun:
    """Block, compare, estimate and score ``records``; see the module docstring.

    ``model`` is a starting point (default: the priors); with ``estimate=False`` it is used
    as is, which is how a stored model is re-applied to new records. ``labels`` maps id pairs
    to True (same entity) or False, usually :func:`training_labels` of the analysts'
    judgements; with at least :data:`MIN_ACCEPTED_FOR_LABELS` accepted pairs they give m
    instead of EM. ``link_only`` pairs records of different ``source`` only.
    """
    if not 0 < threshold < 1:
        raise InvalidData("threshold must lie strictly between 0 and 1",
                          errors=[FieldError("threshold", "out of range")])
    if max_block_size < 2:
        raise InvalidData("max_block_size must be at least 2",
                          errors=[FieldError("max_block_size", "below 2")])
    corpus = prepare(records)
    left, right, kinds, report = candidate_pairs(corpus, link_only=link_only,
                                                 max_block_size=max_block_size)
    comparisons = compare_pairs(corpus, left, right, kinds)
    fitted = model or Model.default()
    if estimate:
        sample = random_pairs(corpus, random_pair_count, link_only=link_only, seed=seed)
        fitted = estimate_u(compare_pairs(corpus, *sample).levels, fitted)
        judged_levels, judged = _labelled_levels(corpus, labels or {})
        if int(judged.sum()) >= MIN_ACCEPTED_FOR_LABELS:
            fitted = fit_labelled(judged_levels, judged, fitted,
                                  candidate_levels=comparisons.levels)
        else:
            fitted = fit_em(comparisons.levels, comparisons.kinds, fitted)
    weights = match_weights(fitted, comparisons.levels)
    return ResolutionRun(corpus=corpus, blocking=report, comparisons=comparisons,
                         model=fitted, weights=weights, probabilities=probabilities(weights),
                         threshold=threshold)
