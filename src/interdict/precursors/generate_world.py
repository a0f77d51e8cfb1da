"""The cast of a synthetic trade year: reference data, operators, their substances and sites.

Part of the trade-year generator (``generate.py``). Everything here is deterministic in the
random generators it is given; string sets are always sorted before they are iterated, so that
the output does not depend on Python's hash seed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from interdict.precursors.specs import CheckSettings
from interdict.reference.registry import Registry

#: Operator countries: code, standard offset (minutes), legal-form suffixes. Ordered so that
#: even a small year spans more than one time zone.
EU_COUNTRIES: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("BE", 60, ("NV", "BV", "SA", "SRL")), ("PT", 0, ("Lda", "SA")),
    ("NL", 60, ("B.V.", "N.V.")), ("FI", 120, ("Oy", "Oyj")), ("DE", 60, ("GmbH", "AG", "KG")),
    ("FR", 60, ("SAS", "SA", "SARL")), ("IE", 0, ("Ltd", "DAC")), ("ES", 60, ("S.L.", "S.A.")),
    ("IT", 60, ("S.r.l.", "S.p.A.")), ("PL", 60, ("Sp. z o.o.", "S.A.")),
    ("AT", 60, ("GmbH", "AG")), ("SE", 60, ("AB",)), ("DK", 60, ("A/S", "ApS")),
    ("CZ", 60, ("s.r.o.", "a.s.")),
)
#: Third countries the operators import from and export to.
FOREIGN: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("US", ("Inc.", "LLC")), ("CH", ("AG", "SA")), ("GB", ("Ltd", "plc")), ("NO", ("AS",)),
    ("TR", ("A.S.",)), ("IN", ("Pvt. Ltd.",)), ("CN", ("Co., Ltd.",)), ("JP", ("K.K.",)),
    ("BR", ("Ltda.",)), ("ZA", ("(Pty) Ltd",)), ("MX", ("S.A. de C.V.",)), ("CA", ("Inc.",)),
    ("AU", ("Pty Ltd",)), ("IL", ("Ltd",)), ("KR", ("Co., Ltd.",)), ("SG", ("Pte. Ltd.",)),
)
SUPPLIER_COUNTRIES = ("CN", "IN", "US", "CH", "JP", "GB", "KR")
TRANSIT = ("DE", "FR", "NL", "AE", "TR", "SG")

#: Substances in legitimate trade: list name, typical order (kg, low and high), sectors that
#: use it and sectors that make it. Names are checked against the lists when loaded.
TRADE: tuple[tuple[str, float, float, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Ephedrine", 5, 150, ("pharmaceutical",), ("pharmaceutical",)),
    ("Pseudoephedrine", 10, 300, ("pharmaceutical",), ("pharmaceutical",)),
    ("Norephedrine", 5, 80, ("pharmaceutical",), ("pharmaceutical",)),
    ("Ergometrine", 0.05, 1, ("pharmaceutical",), ("pharmaceutical",)),
    ("Ergotamine", 0.05, 1, ("pharmaceutical",), ("pharmaceutical",)),
    ("N-Acetylanthranilic acid", 10, 150, ("pharmaceutical",), ("pharmaceutical",)),
    ("1-Phenyl-2-propanone", 1, 20, ("pharmaceutical", "laboratory"), ()),
    ("1-Boc-4-piperidone", 1, 25, ("pharmaceutical", "laboratory"), ("pharmaceutical",)),
    ("Piperonal", 20, 400, ("fragrance",), ("fragrance",)),
    ("Safrole", 10, 100, ("fragrance",), ("fragrance",)),
    ("Isosafrole", 10, 100, ("fragrance",), ("fragrance",)),
    ("Acetic anhydride", 200, 4000, ("pharmaceutical", "plastics", "fragrance"), ()),
    ("Red phosphorus", 50, 800, ("plastics", "electronics"), ()),
    ("Phenylacetic acid", 20, 500, ("pharmaceutical", "fragrance"),
     ("fragrance", "pharmaceutical")),
    ("Anthranilic acid", 20, 400, ("pharmaceutical", "fragrance"), ("pharmaceutical",)),
    ("Piperidine", 10, 200, ("pharmaceutical", "laboratory"), ()),
    ("Potassium permanganate", 25, 1000, ("water_treatment", "laboratory", "pharmaceutical"), ()),
    ("Hydrochloric acid", 100, 5000,
     ("water_treatment", "cleaning", "electronics", "laboratory", "plastics"), ()),
    ("Sulphuric acid", 200, 10000, ("agriculture", "water_treatment", "electronics", "cleaning"),
     ()),
    ("Toluene", 100, 3000, ("paints_coatings", "plastics", "pharmaceutical"), ()),
    ("Ethyl ether", 5, 200, ("laboratory", "pharmaceutical"), ()),
    ("Acetone", 50, 3000, ("paints_coatings", "plastics", "pharmaceutical", "cleaning",
                           "laboratory", "electronics"), ()),
    ("Methylethylketone", 50, 2000, ("paints_coatings", "plastics", "electronics"), ()),
    ("Nitroethane", 5, 100, ("laboratory", "pharmaceutical"), ()),
    ("Methylamine", 50, 1000, ("agriculture", "pharmaceutical"), ()),
    ("Benzyl cyanide", 20, 300, ("pharmaceutical", "fragrance"), ()),
    ("Formamide", 20, 500, ("plastics", "laboratory", "pharmaceutical"), ()),
    ("Benzaldehyde", 20, 500, ("fragrance", "pharmaceutical"), ()),
    ("Iodine", 5, 200, ("pharmaceutical", "water_treatment", "laboratory"), ()),
)
#: End uses per sector: every word is in the sector's list of the checks' settings.
END_USES: dict[str, tuple[str, ...]] = {
    "pharmaceutical": ("api synthesis", "pharmaceutical synthesis", "medicinal formulation",
                       "pharmaceutical formulation", "synthesis research"),
    "fragrance": ("fragrance", "perfume", "flavour", "cosmetic fragrance", "aroma"),
    "chemical_distribution": ("resale", "distribution", "wholesale", "trade", "repackaging"),
    "paints_coatings": ("paint solvent", "coating", "varnish thinner", "ink solvent", "adhesive"),
    "laboratory": ("laboratory analysis", "analytical reagent", "research", "teaching",
                   "reagent"),
    "electronics": ("semiconductor cleaning", "etching", "electronics cleaning", "solvent"),
    "agriculture": ("fertiliser", "pesticide", "agrochemical"),
    "water_treatment": ("water treatment", "disinfection", "oxidation"),
    "plastics": ("polymer", "resin", "acetate fibre", "plastic"),
    "cleaning": ("cleaning", "detergent", "degreasing", "descaling"),
}
USER_SECTORS = (("pharmaceutical", 18), ("fragrance", 8), ("paints_coatings", 18),
                ("laboratory", 14), ("electronics", 8), ("plastics", 12), ("cleaning", 10),
                ("agriculture", 6), ("water_treatment", 6))
SECTOR_WORDS: dict[str, tuple[str, ...]] = {
    "pharmaceutical": ("Pharma", "Pharmaceuticals", "Life Sciences", "Laboratories"),
    "fragrance": ("Aromatics", "Fragrances", "Flavours", "Essences"),
    "chemical_distribution": ("Chemicals", "Chemical Trading", "Chemie", "Distribution"),
    "paints_coatings": ("Coatings", "Paints", "Lacquers", "Inks"),
    "laboratory": ("Analytical", "Labs", "Scientific", "Research"),
    "electronics": ("Electronics", "Semiconductors", "Microsystems", "Circuits"),
    "plastics": ("Polymers", "Plastics", "Resins", "Composites"),
    "cleaning": ("Cleaning Solutions", "Hygiene", "Industrial Cleaning", "Clean"),
    "agriculture": ("Agro", "Crop Care", "Agrochemicals", "Farm Chemicals"),
    "water_treatment": ("Water", "Water Technologies", "Aqua Services", "Hydro"),
}
SMALL_TRADES: dict[str, tuple[str, ...]] = {
    "pharmaceutical": ("Compounding", "Pharmacy Supplies"),
    "fragrance": ("Soap Works", "Candles"),
    "paints_coatings": ("Painting", "Decorators", "Car Body Repairs"),
    "laboratory": ("Test Lab", "School Supplies"),
    "electronics": ("Electronics Repair", "PCB Workshop"),
    "plastics": ("Moulding", "Fibreglass"),
    "cleaning": ("Cleaning Services", "Facility Care"),
    "agriculture": ("Farm Supplies", "Growers"),
    "water_treatment": ("Pool Services", "Water Care"),
}
PREFIXES = ("Al", "Bel", "Cor", "Dav", "El", "Fen", "Gal", "Hel", "Is", "Jor", "Kel", "Lum",
            "Mar", "Nor", "Ol", "Par", "Quin", "Ros", "Sel", "Tor", "Ul", "Val", "Wen", "Xan",
            "Yor", "Zel", "Ar", "Bren", "Cal", "Dor", "Est", "Fal", "Gor", "Hal", "Ir", "Lor")
SUFFIXES = ("ana", "ex", "ion", "ora", "is", "on", "ara", "eon", "ia", "ix", "ova", "um", "ar",
            "en", "ica", "ius", "ea", "or", "yn", "ax", "ent", "ida", "olt", "era")
SURNAMES = ("Peeters", "Janssens", "Maes", "Dubois", "Lambert", "Martin", "Bernard", "Garcia",
            "Silva", "Costa", "Rossi", "Bianchi", "Mueller", "Schmidt", "Novak", "Kowalski",
            "Nielsen", "Virtanen", "Murphy", "Kelly", "Jansen", "de Vries", "Bakker", "Visser",
            "Santos", "Ferreira", "Lopez", "Moreau", "Fischer", "Weber", "Horvat", "Dvorak",
            "Lindqvist", "Korhonen", "Walsh", "Moretti", "Leroy", "Hoffmann", "Wouters", "Smet")


@dataclass(frozen=True)
class Substance:
    name: str
    category: str               # 1, 2A, 2B, 3 or watch
    cas: str
    synonym: str                # "" when the list gives none usable
    density: float | None       # g/mL when liquid (densities file)
    low: float
    high: float
    users: tuple[str, ...]
    makers: tuple[str, ...]


@dataclass(frozen=True)
class Reference:
    substances: tuple[Substance, ...]
    settings: CheckSettings
    names: dict[str, tuple[str, str]]   # lower-case name, synonym or CAS -> (name, category)
    densities: dict[str, float]


def _ensure_registered() -> None:
    """Substance lists are a kind the substances domain registers when loaded."""
    import interdict.substances.service  # noqa: F401


@lru_cache(maxsize=4)
def load_reference(registry: Registry | None = None) -> Reference:
    _ensure_registered()
    reg = registry or Registry()
    settings = reg.get("precursors/checks").content
    if not isinstance(settings, CheckSettings):
        raise TypeError("precursors/checks is not a precursor_checks file")
    dens = {str(e["substance"]): float(e["g_per_ml"])
            for e in reg.get("precursors/densities").content.model_dump()["entries"]}
    entries: dict[str, dict[str, Any]] = {}
    for list_name in ("substances/eu_273_2004", "substances/precursor_watch_list"):
        for e in reg.get(list_name).content.model_dump()["entries"]:
            if e.get("cas") and str(e["schedule"]) in ("1", "2A", "2B", "3", "watch"):
                entries.setdefault(str(e["name"]), e)
    names: dict[str, tuple[str, str]] = {}
    for name, e in entries.items():
        cat = str(e["schedule"])
        for alias in (name, str(e["cas"]), *[str(s) for s in e.get("synonyms") or []]):
            names.setdefault(alias.lower(), (name, cat))
    sectors = set(settings.suspicious.sector_end_uses)
    subs: list[Substance] = []
    for name, low, high, users, makers in TRADE:
        e = entries.get(name)
        if e is None:
            continue
        usable = [str(s) for s in e.get("synonyms") or [] if 3 <= len(str(s)) <= 40
                  and names.get(str(s).lower(), ("", ""))[0] == name]
        subs.append(Substance(
            name=name, category=str(e["schedule"]), cas=str(e["cas"]),
            synonym=usable[0] if usable else "", density=dens.get(name), low=low, high=high,
            users=tuple(s for s in users if s in sectors),
            makers=tuple(s for s in makers if s in sectors)))
    if not any(s.category == "1" for s in subs) or len(subs) < 8:
        raise ValueError("the substance lists lack the substances the generator trades")
    return Reference(substances=tuple(subs), settings=settings, names=names, densities=dens)


@dataclass
class Operator:
    idx: int
    licence: str
    name: str
    country: int                       # index into EU_COUNTRIES
    role: str                          # producer, distributor, user
    sector: str
    substances: list[int] = field(default_factory=list)   # indices into Reference.substances
    sites: list[str] = field(default_factory=lambda: [""])
    categories: list[str] = field(default_factory=list)
    kind: str = "registration"
    valid_from: dt.date = dt.date(2020, 1, 1)
    valid_to: dt.date | None = None
    activities: list[str] = field(default_factory=list)
    first_day: int = 0                 # active days of the year, inclusive
    last_day: int = 364
    monthly: bool = False              # counts stock monthly (else quarterly)
    exporter: bool = False
    dormant: bool = False              # registered, but no trade this year

    def row(self) -> dict[str, str]:
        return {"licence": self.licence, "name": self.name,
                "country": EU_COUNTRIES[self.country][0],
                "categories": ";".join(self.categories), "kind": self.kind,
                "valid_from": self.valid_from.isoformat(),
                "valid_to": self.valid_to.isoformat() if self.valid_to else "",
                "activities": ";".join(self.activities), "sector": self.sector}


class Namer:
    """Made-up company names, unique within one year."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.used: set[str] = set()

    def _unique(self, make: Callable[[], str]) -> str:
        """A fresh name from ``make``; numbered only when the name space runs out."""
        name = make()
        for _ in range(10):
            if name not in self.used:
                break
            name = make()
        base, n = name, 2
        while name in self.used:
            name = f"{base} {n}"
            n += 1
        self.used.add(name)
        return name

    def stem(self) -> str:
        return self.rnd.choice(PREFIXES) + self.rnd.choice(SUFFIXES)

    def company(self, sector: str, suffixes: tuple[str, ...]) -> str:
        words = SECTOR_WORDS.get(sector, ("Chemicals",))
        return self._unique(lambda: f"{self.stem()} {self.rnd.choice(words)} "
                                    f"{self.rnd.choice(suffixes)}")

    def small_business(self, sector: str, suffixes: tuple[str, ...]) -> str:
        trades = SMALL_TRADES.get(sector, ("Services",))
        def make() -> str:
            initial = f"{self.rnd.choice('ABCDEFGHJKLMNPRSTVW')}. " if self.rnd.random() < 0.6 \
                else ""
            return (f"{initial}{self.rnd.choice(SURNAMES)} {self.rnd.choice(trades)} "
                    f"{self.rnd.choice(suffixes)}")
        return self._unique(make)

    def foreign(self, country: str) -> str:
        suffixes = dict(FOREIGN).get(country, ("Ltd",))
        words = ("Chemical", "Chemicals", "Industries", "Trading", "Fine Chemicals", "Pharma",
                 "Materials")
        return self._unique(lambda: f"{self.stem()} {self.rnd.choice(words)} "
                                    f"{self.rnd.choice(suffixes)}")


CAT_ORDER = {"1": 0, "2A": 1, "2B": 2, "3": 3, "4": 4, "national": 5}


def _pick(rnd: random.Random, items: list[int], k: int) -> list[int]:
    return sorted(rnd.sample(items, min(k, len(items))))


def build_operators(n: int, rnd: random.Random, ref: Reference, start: dt.date,
                    namer: Namer) -> list[Operator]:
    """Operators in country blocks, each block with producers, distributors and users."""
    if n < 4:
        raise ValueError("a trade year needs at least 4 operators")
    n_countries = max(1, min(len(EU_COUNTRIES), round(n / 20)))
    subs = ref.substances
    ops: list[Operator] = []
    per = [n // n_countries + (1 if c < n % n_countries else 0) for c in range(n_countries)]
    user_weights = [w for _, w in USER_SECTORS]
    for c, size in enumerate(per):
        cc = EU_COUNTRIES[c][0]
        n_prod = max(1, round(0.1 * size))
        n_dist = max(1, round(0.15 * size))
        roles = ["producer"] * n_prod + ["distributor"] * n_dist
        roles += ["user"] * max(1, size - len(roles))
        number = rnd.randrange(100, 3000)
        for i, role in enumerate(roles):
            number += rnd.randrange(1, 40)
            if role == "producer":
                sector = "pharmaceutical" if i == 0 or rnd.random() < 0.6 else "fragrance"
            elif role == "distributor":
                sector = "chemical_distribution"
            else:
                sector = rnd.choices([s for s, _ in USER_SECTORS], user_weights)[0]
            op = Operator(idx=len(ops), licence=f"{cc}-P-{number:06d}",
                          name=namer.company(sector, EU_COUNTRIES[c][2]), country=c, role=role,
                          sector=sector)
            op.monthly = rnd.random() < (0.6 if role != "user" else 0.3)
            ops.append(op)
    for op in ops:
        if op.role == "producer":
            made = [i for i, s in enumerate(subs) if op.sector in s.makers]
            op.substances = _pick(rnd, made, rnd.randint(2, 4))
            op.exporter = rnd.random() < 0.7
            sites = 2 if rnd.random() < 0.5 else 1
            op.sites = [f"P{k + 1}" for k in range(sites)] if sites > 1 else [""]
        elif op.role == "user":
            usable = [i for i, s in enumerate(subs) if op.sector in s.users]
            k = rnd.choices([1, 2, 3, 4], [30, 35, 25, 10])[0]
            chosen = _pick(rnd, usable, k)
            if all(subs[i].category == "watch" for i in chosen):
                scheduled = [i for i in usable if subs[i].category != "watch"]
                chosen = sorted({*chosen[1:], rnd.choice(scheduled)})
            op.substances = chosen
            op.sites = ["S1", "S2"] if rnd.random() < 0.1 and len(chosen) > 1 else [""]
            roll = rnd.random()
            if roll < 0.04:
                op.first_day = rnd.randint(60, 250)
            elif roll < 0.07:
                op.last_day = rnd.randint(120, 300)
        else:
            op.exporter = rnd.random() < 0.75
            op.sites = ["W1", "W2"] if rnd.random() < 0.3 else [""]
    _stock_distributors(ops, rnd, ref)
    for op in ops:
        _licence_terms(op, rnd, ref, start)
    return ops


def _stock_distributors(ops: list[Operator], rnd: random.Random, ref: Reference) -> None:
    """Every substance a country's users need is carried by one to three of its distributors;
    distributors also carry solvents, acids and watch-list chemicals for small customers."""
    subs = ref.substances
    for c in sorted({op.country for op in ops}):
        dists = [op for op in ops if op.country == c and op.role == "distributor"]
        wanted = sorted({s for op in ops if op.country == c and op.role == "user"
                         for s in op.substances})
        carried: dict[int, set[int]] = {d.idx: set() for d in dists}
        for s in wanted:
            for d in rnd.sample(dists, min(len(dists), rnd.randint(1, 3))):
                carried[d.idx].add(s)
        common = [i for i, s in enumerate(subs) if s.category in ("3", "watch")]
        for d in dists:
            carried[d.idx].update(rnd.sample(common, min(len(common), rnd.randint(2, 5))))
            d.substances = sorted(carried[d.idx])


def _licence_terms(op: Operator, rnd: random.Random, ref: Reference, start: dt.date) -> None:
    cats = {ref.substances[i].category for i in op.substances} - {"watch"}
    if rnd.random() < 0.08:
        cats.add("national")
    op.categories = sorted(cats, key=CAT_ORDER.__getitem__)
    op.kind = "licence" if "1" in cats else "registration"
    if op.first_day > 0:
        op.valid_from = start + dt.timedelta(days=op.first_day)
    else:
        op.valid_from = start - dt.timedelta(days=rnd.randint(200, 3000))
    if op.last_day < 364:
        op.valid_to = start + dt.timedelta(days=op.last_day)
    elif rnd.random() < 0.35:
        op.valid_to = start + dt.timedelta(days=rnd.randint(400, 1500))
    acts = {"producer": ["manufacture", "trade"], "distributor": ["trade", "import"],
            "user": ["use"]}[op.role]
    if op.role == "user" and op.sector in ("pharmaceutical", "fragrance", "paints_coatings",
                                           "plastics"):
        acts = ["manufacture", "use"]
    if op.exporter:
        acts.append("export")
    if op.role == "producer" and rnd.random() < 0.3:
        acts.append("import")
    op.activities = sorted(acts, key=["manufacture", "trade", "import", "export",
                                      "use"].index)


def dst(date: dt.date) -> bool:
    """EU summer time, by local date (all movements happen between 06:00 and 20:00)."""
    def last_sunday(month: int) -> dt.date:
        d = dt.date(date.year, month, 31)
        return d - dt.timedelta(days=(d.weekday() + 1) % 7)
    return last_sunday(3) <= date < last_sunday(10)


def offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def iso_local(start: dt.date, op: Operator, day: int, minute: int) -> str:
    """ISO 8601 with the operator's offset, for a day of the year (may be before day 0)."""
    date = start + dt.timedelta(days=day)
    off = EU_COUNTRIES[op.country][1] + (60 if dst(date) else 0)
    return f"{date.isoformat()}T{minute // 60:02d}:{minute % 60:02d}:00{offset_text(off)}"
