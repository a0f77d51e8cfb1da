"""CBP monthly seizure aggregates: the real files against the facts in shared SOURCES.md, the
fiscal calendar, every kind of bad value (named by row and column, nothing returned), and the
shipped copies against the shared originals."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from interdict.errors import InvalidData
from interdict.seizures import cbp
from interdict.seizures.cbp import KG_PER_LB, AggregateRow, parse, shipped, substance_of

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CBP = DATA / "customs" / "cbp_nationwide_drug_seizures"
OLD, NEW = "nationwide-drugs-fy19-fy22.csv", "nationwide-drugs-fy23-fy26-dec.csv"

HEADER = "\ufeff" + ",".join(cbp.COLUMNS) + "\r\n"
GOOD = "2019,OCT,U.S. Border Patrol,Southwest Border,Land Only,YUMA SECTOR,Fentanyl,2,1.5\r\n"


def _csv(*lines: str, header: str = HEADER) -> bytes:
    return (header + "".join(lines)).encode("utf-8")


def _fields(exc: pytest.ExceptionInfo[InvalidData]) -> set[str]:
    return {e.field for e in exc.value.errors}


@pytest.fixture(scope="module")
def real() -> dict[str, list[AggregateRow]]:
    return {name: parse((CBP / name).read_bytes(), name) for name in (OLD, NEW)}


# --------------------------------------------------------------------------- real files


def test_row_counts_match_sources(real):
    assert len(real[OLD]) == 10_092
    assert len(real[NEW]) == 7_895


def test_fiscal_year_totals_match_sources(real):
    rows = real[OLD] + real[NEW]
    events: Counter[int] = Counter()
    pounds: Counter[int] = Counter()
    for r in rows:
        events[r.fiscal_year] += r.events
        pounds[r.fiscal_year] += r.quantity_kg / KG_PER_LB
    published = {2019: (66_158, 901_315), 2020: (70_923, 1_059_249),
                 2021: (82_946, 913_326), 2022: (62_465, 655_780),
                 2023: (53_538, 549_238), 2024: (58_082, 573_469),
                 2025: (54_666, 583_256), 2026: (12_351, 151_596)}
    assert dict(events) == {fy: e for fy, (e, _) in published.items()}
    assert {fy: round(p) for fy, p in pounds.items()} == {fy: p for fy, (_, p) in published.items()}
    # 913,326 lbs, rounded to the pound by SOURCES.md, is 414,277.7 kg +- half a pound.
    kg_2021 = sum(r.quantity_kg for r in rows if r.fiscal_year == 2021)
    assert kg_2021 == pytest.approx(913_326 * 0.45359237, abs=0.5 * 0.45359237)


def test_fiscal_months_are_calendar_months(real):
    rows = real[OLD] + real[NEW]
    first = [r for r in rows if r.fiscal_year == 2019 and r.month.month == 10]
    assert first and {r.month for r in first} == {dt.date(2018, 10, 1)}
    assert {r.month for r in rows if r.fiscal_year == 2019} == \
        {dt.date(2018, m, 1) for m in (10, 11, 12)} | {dt.date(2019, m, 1) for m in range(1, 10)}
    assert min(r.month for r in rows) == dt.date(2018, 10, 1)
    assert max(r.month for r in rows) == dt.date(2025, 12, 1)
    assert len({r.month for r in real[OLD]}) == 48 and len({r.month for r in real[NEW]}) == 39


def test_only_the_current_year_is_year_to_date(real):
    rows = real[OLD] + real[NEW]
    assert {r.fiscal_year for r in rows if r.fytd} == {2026}
    assert all(r.fytd for r in rows if r.fiscal_year == 2026)
    assert {r.month for r in rows if r.fytd} == {dt.date(2025, m, 1) for m in (10, 11, 12)}


def test_every_drug_type_in_the_data_is_decided(real):
    types = {r.drug_type: r.substance for rows in real.values() for r in rows}
    assert types == {
        "Cocaine": "cocaine", "Methamphetamine": "methamphetamine", "Fentanyl": "fentanyl",
        "Heroin": "heroin", "Marijuana": "cannabis", "Ecstasy": "MDMA",
        "Khat (Catha Edulis)": "khat", "Lsd": "LSD", "Ketamine": "ketamine",
        "Other Drugs**": None,
    }


def test_first_row_is_read_exactly(real):
    assert real[OLD][0] == AggregateRow(
        month=dt.date(2019, 4, 1), component="Office of Field Operations",
        region="Coastal/Interior", land_filter="Other", area="ATLANTA FIELD OFFICE",
        drug_type="Ecstasy", substance="MDMA", events=3,
        quantity_kg=8.3799469484296 * 0.45359237, fiscal_year=2019, fytd=False)


def test_shipped_files_equal_the_shared_originals(real):
    files = dict(cbp.shipped_files())
    assert files == {f"cbp-{OLD}": (CBP / OLD).read_bytes(), f"cbp-{NEW}": (CBP / NEW).read_bytes()}
    assert shipped() == real[OLD] + real[NEW]


# ----------------------------------------------------------------------------- small files


def test_calendar_year_of_each_fiscal_month():
    lines = [GOOD.replace("OCT", m) for m in ("OCT", "nov", "DEC", "JAN", "SEP")]
    rows = parse(_csv(*lines), "m.csv")
    assert [r.month for r in rows] == [dt.date(2018, 10, 1), dt.date(2018, 11, 1),
                                       dt.date(2018, 12, 1), dt.date(2019, 1, 1),
                                       dt.date(2019, 9, 1)]
    assert rows[0].quantity_kg == 1.5 * 0.45359237 and rows[0].events == 2


def test_fytd_and_scientific_notation_and_zero():
    rows = parse(_csv(GOOD.replace("2019,", "2026 (FYTD),").replace(",1.5", ",6.6e-05"),
                      GOOD.replace(",2,1.5", ",0,0")), "f.csv")
    assert (rows[0].fiscal_year, rows[0].fytd, rows[0].month) == (2026, True, dt.date(2025, 10, 1))
    assert rows[0].quantity_kg == pytest.approx(6.6e-05 * 0.45359237)
    assert (rows[1].fytd, rows[1].events, rows[1].quantity_kg) == (False, 0, 0.0)


def test_plain_utf8_without_bom_and_lf_endings():
    rows = parse(_csv(GOOD.replace("\r\n", "\n"), header=HEADER[1:].replace("\r\n", "\n")),
                 "lf.csv")
    assert len(rows) == 1


def test_substance_of_is_case_and_space_insensitive():
    assert substance_of(" khat  (catha edulis) ") == "khat"
    assert substance_of("LSD") == "LSD"
    assert substance_of("Xylazine") is None


@pytest.mark.parametrize("column, value", [
    ("FY", "19"), ("FY", "FY2019"), ("FY", "2019 (YTD)"), ("FY", "0001"),
    ("Month (abbv)", "OCTOBER"), ("Month (abbv)", "13"),
    ("Count of Event", "-1"), ("Count of Event", "1.5"), ("Count of Event", "three"),
    ("Sum Qty (lbs)", "-0.5"), ("Sum Qty (lbs)", "\"1,5\""), ("Sum Qty (lbs)", "nan"),
    ("Sum Qty (lbs)", "inf"), ("Sum Qty (lbs)", "1e999"),
    ("Component", ""), ("Region", " "), ("Land Filter", ""),
    ("Area of Responsibility", ""), ("Drug Type", ""), ("FY", ""), ("Month (abbv)", ""),
    ("Count of Event", ""), ("Sum Qty (lbs)", ""),
])
def test_bad_value_names_row_and_column(column, value):
    values = GOOD.rstrip("\r\n").split(",")
    values[cbp.COLUMNS.index(column)] = value
    data = _csv(GOOD, ",".join(values) + "\r\n", GOOD)
    with pytest.raises(InvalidData) as exc:
        parse(data, "bad.csv")
    assert _fields(exc) == {f"row 3: {column}"}
    assert "bad.csv" in exc.value.detail


def test_negative_values_say_negative():
    with pytest.raises(InvalidData) as exc:
        parse(_csv(GOOD.replace(",2,1.5", ",-2,-1.5")), "neg.csv")
    reasons = {e.field: e.reason for e in exc.value.errors}
    assert set(reasons) == {"row 2: Count of Event", "row 2: Sum Qty (lbs)"}
    assert all("negative" in r for r in reasons.values())


def test_every_problem_of_the_file_is_reported_at_once():
    data = _csv(GOOD.replace("2019", "20x9"), GOOD, GOOD.replace("OCT", "OKT"),
                GOOD.replace(",2,1.5", ",x,y"))
    with pytest.raises(InvalidData) as exc:
        parse(data, "many.csv")
    assert _fields(exc) == {"row 2: FY", "row 4: Month (abbv)", "row 5: Count of Event",
                            "row 5: Sum Qty (lbs)"}
    assert "many.csv" in exc.value.detail


def test_missing_and_extra_columns_are_named():
    header = HEADER.replace(",Land Filter", "").replace("\r\n", ",Notes\r\n")
    with pytest.raises(InvalidData) as exc:
        parse(_csv("2019,OCT,x,y,z,w,Cocaine,1,2,n\r\n", header=header), "cols.csv")
    assert _fields(exc) == {"Land Filter", "Notes"}
    assert "cols.csv" in exc.value.detail


def test_ragged_row_is_named():
    with pytest.raises(InvalidData) as exc:
        parse(_csv(GOOD, GOOD.rstrip("\r\n") + ",extra\r\n"), "ragged.csv")
    assert _fields(exc) == {"row 3: (row)"}


@pytest.mark.parametrize("data", [b"", HEADER.encode("utf-8"), b"\xef\xbb\xbf"])
def test_empty_file_is_refused(data):
    with pytest.raises(InvalidData) as exc:
        parse(data, "empty.csv")
    assert "empty.csv" in exc.value.detail


def test_not_utf8_is_refused():
    data = _csv(GOOD.replace("YUMA", "YUMA \u00e9")).replace("\u00e9".encode(), b"\xe9")
    with pytest.raises(InvalidData) as exc:
        parse(data, "latin1.csv")
    assert _fields(exc) == {"file"} and "latin1.csv" in exc.value.detail
