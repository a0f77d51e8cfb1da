"""Synthetic seizures from synthetic production batches, for tests, the demo and evaluation.

A *batch* is one production run. Its impurity profile is drawn from a route or origin
template of its drug (the alkaloid pattern of a coca origin and oxidation degree, the opium
alkaloids and acetylation by-products of a heroin region, the by-products of an amphetamine or
MDMA synthesis route) with a log-normal spread between batches. A *seizure* of the batch keeps
that profile up to within-batch variation: multiplicative log-normal noise on every peak
(analytical repeatability and inhomogeneity; larger for hydrolysis products such as
benzoylecgonine and 6-MAM, which grow with storage), minor peaks lost below the limit of
quantification or at random, and its own purity from further cutting. Amounts are in mg per g
of *sample*, so they fall with purity, as in real reports; normalising removes that.

Template amounts are illustrative orders of magnitude from the general profiling literature
(e.g. truxillines and trimethoxycocaine are higher in Colombian coca, permanganate oxidation
removes the cinnamoylcocaines, noscapine and papaverine are high in South-West Asian heroin),
not reference data.

Cutting agents come from a :class:`CuttingDistribution`: which combinations of agents cut a
drug, and how often. :data:`DEFAULT_CUTTING` is written from general public knowledge of
street-drug adulteration; :func:`cutting_agents_from_wedinos` derives one at run time from
WEDINOS drug-checking exports, which must not ship with the package (read, never stored).
"""

from __future__ import annotations

import csv
import difflib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from interdict.errors import FieldError, InvalidData
from interdict.seizures.profiles import Profile, canonical_name

# drug -> route/origin -> compound -> mg per g of the drug itself.
TEMPLATES: dict[str, dict[str, dict[str, float]]] = {
    "cocaine": {
        "colombian, lightly oxidised": {
            "cis-cinnamoylcocaine": 25.0, "trans-cinnamoylcocaine": 12.0, "tropacocaine": 4.0,
            "truxillines": 40.0, "norcocaine": 1.5, "benzoylecgonine": 15.0,
            "ecgonine methyl ester": 6.0, "3',4',5'-trimethoxycocaine": 6.0,
            "n-formylnorcocaine": 0.5},
        "colombian, highly oxidised": {
            "cis-cinnamoylcocaine": 2.0, "trans-cinnamoylcocaine": 0.8, "tropacocaine": 3.5,
            "truxillines": 35.0, "norcocaine": 3.0, "benzoylecgonine": 12.0,
            "ecgonine methyl ester": 5.0, "3',4',5'-trimethoxycocaine": 5.0,
            "n-formylnorcocaine": 4.0},
        "peruvian/bolivian": {
            "cis-cinnamoylcocaine": 15.0, "trans-cinnamoylcocaine": 6.0, "tropacocaine": 8.0,
            "truxillines": 8.0, "norcocaine": 1.0, "benzoylecgonine": 20.0,
            "ecgonine methyl ester": 8.0, "3',4',5'-trimethoxycocaine": 0.8,
            "n-formylnorcocaine": 1.0},
    },
    "heroin": {
        "south-west asian": {
            "acetylcodeine": 60.0, "noscapine": 200.0, "papaverine": 30.0, "6-mam": 40.0,
            "meconin": 8.0, "morphine": 5.0, "acetylthebaol": 3.0},
        "south-east asian": {
            "acetylcodeine": 50.0, "noscapine": 5.0, "papaverine": 2.0, "6-mam": 30.0,
            "meconin": 1.0, "morphine": 4.0, "acetylthebaol": 1.0},
        "latin american": {
            "acetylcodeine": 40.0, "noscapine": 20.0, "papaverine": 8.0, "6-mam": 80.0,
            "meconin": 2.0, "morphine": 15.0, "acetylthebaol": 2.0},
    },
    "amphetamine": {
        "leuckart": {
            "n-formylamphetamine": 30.0, "4-methyl-5-phenylpyrimidine": 8.0, "dpia": 12.0,
            "n-acetylamphetamine": 2.0, "4-benzylpyrimidine": 1.5, "p2p": 3.0,
            "2,4-dimethyl-3,5-diphenylpyridine": 2.0},
        "reductive amination": {
            "p2p": 5.0, "1-phenyl-2-propanol": 6.0, "dpia": 4.0, "n-acetylamphetamine": 0.5,
            "dibenzylketone": 2.0},
        "nitrostyrene": {
            "1-phenyl-2-nitropropene": 4.0, "p2p oxime": 3.0, "1-phenyl-2-propanol": 1.0,
            "benzaldehyde": 2.0, "p2p": 1.0},
    },
    "mdma": {
        "pmk reductive amination": {
            "mdp2p": 4.0, "mdp2p-ol": 6.0, "mda": 3.0, "bis-mdp-isopropylamine": 2.0,
            "piperonal": 0.5},
        "pmk glycidate": {
            "mdp2p": 3.0, "mdp2p-ol": 4.0, "mda": 1.5, "piperonal": 1.0,
            "pmk methyl glycidate": 2.0, "n-formyl-mdma": 0.3},
        "leuckart": {
            "n-formyl-mdma": 15.0, "mdp2p": 2.0, "mda": 1.0,
            "4-methyl-5-(3,4-methylenedioxyphenyl)pyrimidine": 3.0},
    },
}
DRUGS: tuple[str, ...] = tuple(TEMPLATES)

# Products of hydrolysis or deacetylation keep changing after production (moisture, heat).
_HYDROLYSIS = frozenset({"benzoylecgonine", "ecgonine methyl ester", "6-mam", "morphine"})
# Typical purity of a batch at production/import level, % w/w.
_BATCH_PURITY = {"cocaine": (70.0, 92.0), "heroin": (35.0, 70.0),
                 "amphetamine": (20.0, 60.0), "mdma": (60.0, 85.0)}
_FORM = {"cocaine": "powder", "heroin": "powder", "amphetamine": "paste", "mdma": "crystal"}
# Potent drugs used as adulterants are dosed in mg per g, not as bulk diluent.
_TRACE = re.compile(r"nitaz|fentanyl|azolam|azepam|medetomidine|xylazine")

# Names of the main drugs and their production impurities, which are not cutting agents.
_NATIVE: dict[str, frozenset[str]] = {
    drug: frozenset({drug, *(c for route in routes.values() for c in route)})
    for drug, routes in TEMPLATES.items()}
_NATIVE["heroin"] |= {"diamorphine", "6-monoacetylmorphine", "6-acetylcodeine", "codeine",
                      "thebacon", "thebaine"}


# ------------------------------------------------------------------------------- cutting


Combination = tuple[str, ...]


@dataclass(frozen=True)
class CuttingDistribution:
    """Per drug, the combinations of cutting agents/adulterants and their weights.

    The empty combination is an uncut sample. ``samples`` counts the observations behind
    each drug (0 for hand-written entries); ``notes`` counts how the source rows were used.
    A drug without an entry falls back to ``"*"``, then to no cutting.
    """

    combos: Mapping[str, tuple[tuple[Combination, float], ...]]
    source: str = "built-in"
    samples: Mapping[str, int] = field(default_factory=dict)
    notes: Mapping[str, int] = field(default_factory=dict)

    def for_drug(self, drug: str) -> tuple[tuple[Combination, float], ...]:
        key = canonical_name(drug)
        return self.combos.get(key) or self.combos.get("*") or (((), 1.0),)

    def sample(self, drug: str, rng: np.random.Generator) -> Combination:
        options = self.for_drug(drug)
        weights = np.array([w for _, w in options], dtype=np.float64)
        return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]

    def agents(self, drug: str) -> set[str]:
        return {a for combo, _ in self.for_drug(drug) for a in combo}

    @classmethod
    def from_counts(cls, counts: Mapping[str, Mapping[Combination, int]], *,
                    source: str, notes: Mapping[str, int] | None = None,
                    min_samples: int = 1) -> CuttingDistribution:
        combos = {}
        samples = {}
        for drug, counter in counts.items():
            total = sum(counter.values())
            if total < min_samples:
                continue
            combos[drug] = tuple(sorted(((tuple(sorted(c)), n / total)
                                         for c, n in counter.items()),
                                        key=lambda cw: (-cw[1], cw[0])))
            samples[drug] = total
        return cls(combos, source, samples, dict(notes or {}))


def _weights(*entries: tuple[str, float]) -> tuple[tuple[Combination, float], ...]:
    return tuple((tuple(sorted(c.split("+"))) if c else (), w) for c, w in entries)


# Written from general public knowledge of adulteration (levamisole, phenacetin and local
# anaesthetics in cocaine; the caffeine-paracetamol mix in European heroin; caffeine in
# amphetamine; sugars as diluents); the weights are rough shares, not measurements.
DEFAULT_CUTTING = CuttingDistribution({
    "cocaine": _weights(("", 0.25), ("levamisole", 0.2), ("levamisole+phenacetin", 0.1),
                        ("levamisole+lidocaine", 0.08), ("caffeine", 0.06),
                        ("lidocaine+mannitol", 0.06), ("benzocaine", 0.05),
                        ("levamisole+diltiazem", 0.04), ("procaine", 0.03),
                        ("hydroxyzine+levamisole", 0.03), ("inositol", 0.05),
                        ("glucose+phenacetin", 0.05)),
    "heroin": _weights(("caffeine+paracetamol", 0.6), ("", 0.15), ("paracetamol", 0.08),
                       ("caffeine", 0.05), ("caffeine+dextromethorphan+paracetamol", 0.04),
                       ("lactose", 0.04), ("mannitol", 0.04)),
    "amphetamine": _weights(("caffeine", 0.45), ("", 0.2), ("caffeine+glucose", 0.15),
                            ("lactose", 0.1), ("caffeine+paracetamol", 0.05),
                            ("creatine", 0.05)),
    "mdma": _weights(("", 0.6), ("caffeine", 0.15), ("lactose", 0.1),
                     ("caffeine+lactose", 0.05), ("mannitol", 0.1)),
}, source="built-in")


# --------------------------------------------------------------------- WEDINOS derivation

# Sold-as names, brands and street names of drugs, from general public knowledge.
_DRUG_NAMES: dict[str, tuple[str, ...]] = {
    "heroin": ("heroin", "diamorphine"), "cocaine": ("cocaine", "coke", "crack"),
    "mdma": ("mdma", "ecstasy", "molly"), "amphetamine": ("amphetamine", "speed"),
    "methamphetamine": ("methamphetamine", "crystal meth"), "ketamine": ("ketamine",),
    "diazepam": ("diazepam", "valium", "bensedin", "msj"),
    "alprazolam": ("alprazolam", "xanax", "ksalol"),
    "clonazepam": ("clonazepam", "klonopin", "rivotril"), "lorazepam": ("lorazepam", "ativan"),
    "temazepam": ("temazepam",), "nitrazepam": ("nitrazepam",), "etizolam": ("etizolam",),
    "bromazolam": ("bromazolam",), "midazolam": ("midazolam",), "zolpidem": ("zolpidem",),
    "zopiclone": ("zopiclone",), "oxycodone": ("oxycodone", "oxycontin", "oxy"),
    "tramadol": ("tramadol",), "fentanyl": ("fentanyl",),
}
_NAME_TO_DRUG = {name: drug for drug, names in _DRUG_NAMES.items() for name in names}
_SPELLINGS = {"6-acetylcodeine": "acetylcodeine", "propanolol": "propranolol",
              "6-monoacetylmorphine": "6-mam", "diamorphine": "heroin"}


def _drug_of(intent: str) -> str | None:
    """The one drug a sold-as text names, allowing for typos; None if none or several."""
    found: set[str] = set()
    for token in re.findall(r"[a-z0-9][a-z0-9-]*", intent.lower()):
        if token in _NAME_TO_DRUG:
            found.add(_NAME_TO_DRUG[token])
        elif len(token) >= 6:
            close = difflib.get_close_matches(token, list(_NAME_TO_DRUG), n=1, cutoff=0.85)
            if close:
                found.add(_NAME_TO_DRUG[close[0]])
    return found.pop() if len(found) == 1 else None


def _components(text: str) -> list[str]:
    """A comma-separated finding list; ``N,N-dimethyl...`` names keep their comma."""
    parts: list[str] = []
    for raw in (text or "").split(","):
        token = raw.strip()
        if parts and len(parts[-1]) == 1 and parts[-1].isalpha() and not raw[:1].isspace():
            parts[-1] = f"{parts[-1]},{token}"
        elif token:
            parts.append(token)
    # Reports write "N-desethyl X" and "N-desethylX" for one metabolite-type compound.
    names = [re.sub(r"^(n-des(?:m|)ethyl) ", r"\1", canonical_name(p)) for p in parts]
    names = [_SPELLINGS.get(n, n) for n in names]
    return [n for n in names if "identif" not in n]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        head = handle.readline()
        handle.seek(0)
        reader = csv.DictReader(handle, delimiter="\t" if "\t" in head else ",")
        rows = [dict(r) for r in reader]
        columns = set(reader.fieldnames or ())
    missing = {"intent", "major", "minor"} - columns
    if missing:
        raise InvalidData("not a WEDINOS export", errors=[
            FieldError(str(path), f"missing columns {sorted(missing)}")])
    return rows


def cutting_agents_from_wedinos(path: str | Path | Sequence[str | Path], *,
                                min_samples: int = 5) -> CuttingDistribution:
    """The cutting-agent combinations per drug seen in WEDINOS drug-checking results.

    ``path`` is an export (CSV or tab-separated), a list of them, or a folder whose
    ``wedinos_*.csv`` exports are all read; samples listed twice (same id) count once. Each
    sample is attributed to the one drug its sold-as text names; if that drug was found, the
    other findings except its own production impurities form the sample's combination (an
    empty one when nothing else was found); if not, the sample was a substitution, not a cut,
    and is only counted in ``notes``. Drugs with fewer than ``min_samples`` cut samples are
    left out. The data is read at call time and never stored in the package.
    """
    paths: list[Path] = []
    for item in [path] if isinstance(path, str | Path) else path:
        p = Path(item)
        paths.extend(sorted(p.glob("wedinos_*.csv")) if p.is_dir() else [p])
    if not paths:
        raise InvalidData("no WEDINOS exports found", errors=[FieldError("path", str(path))])
    counts: dict[str, Counter[Combination]] = {}
    notes: Counter[str] = Counter()
    seen: set[str] = set()
    for p in paths:
        for row in _rows(p):
            sample_id = (row.get("") or row.get("id") or "").strip()
            if sample_id and sample_id in seen:
                notes["duplicate samples"] += 1
                continue
            seen.add(sample_id)
            notes["samples read"] += 1
            drug = _drug_of(row.get("intent") or "")
            if drug is None:
                notes["sold-as not attributable"] += 1
                continue
            found = set(_components(row.get("major") or "")) | set(
                _components(row.get("minor") or ""))
            if drug not in found:
                notes["substituted (drug not found)"] += 1
                continue
            native = _NATIVE.get(drug, frozenset({drug}))
            combo = tuple(sorted(found - native))
            counts.setdefault(drug, Counter())[combo] += 1
            notes["cut samples" if combo else "uncut samples"] += 1
    return CuttingDistribution.from_counts(counts, source="wedinos", notes=notes,
                                           min_samples=min_samples)


# ------------------------------------------------------------------------------ generator


@dataclass(frozen=True)
class GeneratedSeizure:
    seizure_id: str
    batch_id: str
    route: str
    profile: Profile


def _batch_profile(drug: str, route: str, between_sd: float,
                   rng: np.random.Generator) -> dict[str, float]:
    base = TEMPLATES[drug][route]
    return {c: float(v * rng.lognormal(0.0, between_sd)) for c, v in base.items()}


def _cut_amounts(combo: Combination, purity: float,
                 rng: np.random.Generator) -> dict[str, float]:
    """Cutting agents in mg/g: potent adulterants at trace level, the rest share the mass
    not taken by the drug (unidentified diluents and moisture keep a part)."""
    if not combo:
        return {}
    amounts = {a: float(rng.uniform(0.5, 5.0)) for a in combo if _TRACE.search(a)}
    bulk = [a for a in combo if a not in amounts]
    if bulk:
        free = max(0.0, (100.0 - purity) * 10.0 * rng.uniform(0.6, 0.95) - sum(amounts.values()))
        shares = rng.dirichlet(np.ones(len(bulk)))
        amounts.update({a: float(free * s) for a, s in zip(bulk, shares, strict=True)})
    return amounts


def generate_seizures(n_batches: int = 30, *, seizures_per_batch: tuple[int, int] = (2, 6),
                      drugs: Sequence[str] = DRUGS,
                      cutting: CuttingDistribution = DEFAULT_CUTTING, seed: int = 0,
                      between_sd: float = 0.6, within_sd: float = 0.12,
                      missing_minor_prob: float = 0.05, loq: float = 0.02,
                      keep_cut_prob: float = 0.7) -> list[GeneratedSeizure]:
    """Seizures of ``n_batches`` batches (drugs taken in turn), reproducible from ``seed``.

    Each batch draws a route template, a production purity and a first cut; each seizure
    keeps that cut with ``keep_cut_prob`` (else is re-cut from ``cutting``), may be diluted
    further (lower purity), and carries the batch impurities times log-normal noise of
    ``within_sd`` (twice that for hydrolysis products). Peaks under ``loq`` mg/g are not
    reported, and each peak under 2 % of the impurity total is lost with
    ``missing_minor_prob``.
    """
    lo, hi = seizures_per_batch
    if n_batches < 1 or lo < 1 or hi < lo:
        raise InvalidData("bad generator size", errors=[
            FieldError("seizures_per_batch" if n_batches >= 1 else "n_batches",
                       "need n_batches >= 1 and 1 <= min <= max")])
    unknown = [d for d in drugs if d not in TEMPLATES]
    if unknown or not drugs:
        raise InvalidData("no template for drug", errors=[
            FieldError("drugs", f"choose from {list(DRUGS)}, got {unknown or 'none'}")])
    rng = np.random.default_rng(seed)
    out: list[GeneratedSeizure] = []
    for b in range(n_batches):
        drug = drugs[b % len(drugs)]
        route = str(rng.choice(sorted(TEMPLATES[drug])))
        batch = _batch_profile(drug, route, between_sd, rng)
        batch_purity = float(rng.uniform(*_BATCH_PURITY[drug]))
        batch_cut = cutting.sample(drug, rng)
        batch_id = f"B{b + 1:03d}"
        total = sum(batch.values())
        for s in range(int(rng.integers(lo, hi + 1))):
            dilution = 1.0 if rng.random() < 0.4 else float(rng.uniform(0.3, 0.95))
            purity = round(max(1.0, batch_purity * dilution), 1)
            combo = batch_cut if rng.random() < keep_cut_prob else cutting.sample(drug, rng)
            impurities: dict[str, float] = {}
            for name, amount in batch.items():
                sd = within_sd * (2.0 if name in _HYDROLYSIS else 1.0)
                value = amount * purity / 100.0 * rng.lognormal(0.0, sd)
                minor = amount < 0.02 * total
                if value < loq or (minor and rng.random() < missing_minor_prob):
                    continue
                impurities[name] = round(value, 4)
            if not impurities:  # a profile needs one peak; keep the largest
                name = max(batch, key=lambda k: batch[k])
                impurities[name] = round(max(loq, batch[name] * purity / 100.0), 4)
            cut = {a: round(v, 3) for a, v in _cut_amounts(combo, purity, rng).items()
                   if a not in impurities}
            profile = Profile(substance=drug, components={**impurities, **cut}, unit="mg/g",
                              purity=purity, form=_FORM[drug], cutting_agents=list(cut))
            out.append(GeneratedSeizure(f"S{b + 1:03d}-{s + 1}", batch_id, route, profile))
    return out


def demo_reports(seed: int = 7) -> list[dict[str, object]]:
    """A small set of lab reports (two dozen seizures of eight batches) for the demo."""
    reports = []
    for seizure in generate_seizures(8, seizures_per_batch=(2, 4), seed=seed):
        report = seizure.profile.as_report()
        report["seizure_id"] = seizure.seizure_id
        reports.append(report)
    return reports
