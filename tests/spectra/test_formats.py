"""Spectrum parsers against the shared public test files, an independent reader, and bad input.

Real files come from /work/shared/data/spectra (see SOURCES.md there). Values are checked
against the ``jcamp`` package where it reads a file correctly, and against values read by hand
from the file where it does not (each case says why). SPC has no public sample on disk, so a
small writer below builds files from the published ``spc.h`` layout and the reader must give
the values back.
"""

from __future__ import annotations

import contextlib
import io
import random
import struct
import time
from pathlib import Path

import jcamp
import numpy as np
import pytest

from interdict.errors import InvalidData
from interdict.spectra import formats
from interdict.spectra.formats import FORMATS, SpectrumFormatError, detect_format, read_spectra
from interdict.spectra.spectrum import Spectrum, Technique

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SPECTRA = DATA / "spectra"
OFFICIAL = SPECTRA / "jcamp_dx_examples" / "official_testfiles_isas"
OTHER = SPECTRA / "jcamp_dx_examples" / "other"
needs_data = pytest.mark.skipif(not SPECTRA.exists(), reason="shared spectra data not present")


def read(path: Path) -> list[Spectrum]:
    return read_spectra(path.read_bytes(), path.name)


def refused(data: bytes | str, filename: str, *fragments: str) -> SpectrumFormatError:
    """Parsing must fail with SpectrumFormatError whose message holds every fragment."""
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(SpectrumFormatError) as info:
        read_spectra(raw, filename)
    message = str(info.value)
    assert message.startswith(filename), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return info.value


def jcamp_reference(path: Path) -> list[dict[str, object]]:
    """The ``jcamp`` package's reading (``readfile``; ``jcamp_readfile`` is gone in 1.3)."""
    with contextlib.redirect_stdout(io.StringIO()):  # it prints its check failures
        parsed = jcamp.readfile(str(path))
    return list(parsed.get("children") or [parsed])


def ascending(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (x[::-1], y[::-1]) if x.size > 1 and x[0] > x[-1] else (x, y)


# --------------------------------------------------------------------------------------------
# The official JCAMP-DX test set and other JCAMP files

OFFICIAL_TECHNIQUES = {
    "BRUKAFFN.DX": [Technique.OTHER], "BRUKDIF.DX": [Technique.OTHER],
    "BRUKER1.JCM": [Technique.IR], "BRUKER2.JCM": [Technique.IR],
    "BRUKNTUP.DX": [Technique.OTHER] * 2, "BRUKPAC.DX": [Technique.OTHER],
    "BRUKSQZ.DX": [Technique.OTHER], "IMSDEMO.DX": [Technique.OTHER],
    "IMS_TEST1.DX": [Technique.OTHER], "ISAS_CDX.DX": [Technique.OTHER],
    "ISAS_MS1.DX": [Technique.MS], "ISAS_MS2.DX": [Technique.MS],
    "ISAS_MS3.DX": [Technique.MS] * 3, "LABCALC.DX": [Technique.IR],
    "PE1800.DX": [Technique.IR], "SPECFILE.DX": [Technique.IR],
    "TEST32.DX": [Technique.OTHER], "TESTFID.DX": [Technique.OTHER] * 2,
    "TESTNTUP.DX": [Technique.OTHER] * 2, "TESTSPEC.DX": [Technique.OTHER],
}


@needs_data
def test_the_official_set_is_the_expected_21_files():
    names = sorted(p.name for p in OFFICIAL.iterdir())
    assert names == sorted([*OFFICIAL_TECHNIQUES, "DX-DIR.TXT"])


@needs_data
@pytest.mark.parametrize("name", sorted(OFFICIAL_TECHNIQUES))
def test_every_official_test_file_parses(name):
    spectra = read(OFFICIAL / name)
    assert [s.technique for s in spectra] == OFFICIAL_TECHNIQUES[name]
    for s in spectra:
        assert s.x.size == s.y.size > 0
        assert s.x[0] <= s.x[-1]


@needs_data
def test_the_index_file_is_refused_as_not_a_spectrum():
    # DX-DIR.TXT lists the other files; it is plain text, so it goes to the two-column reader,
    # which must refuse it (line 2 is not a pair of numbers) rather than invent a spectrum.
    refused((OFFICIAL / "DX-DIR.TXT").read_bytes(), "DX-DIR.TXT", "line 2", "2 columns")


# Files the jcamp package reads correctly: ours must give the same arrays.
AGREES_WITH_JCAMP = [
    OFFICIAL / "BRUKER1.JCM", OFFICIAL / "LABCALC.DX", OFFICIAL / "PE1800.DX",
    # jcamp prints an X-check failure for SPECFILE (its check ignores the Y-check value) but
    # its values are right.
    OFFICIAL / "SPECFILE.DX", OFFICIAL / "BRUKAFFN.DX", OFFICIAL / "BRUKPAC.DX",
    OFFICIAL / "BRUKSQZ.DX", OFFICIAL / "IMSDEMO.DX", OFFICIAL / "ISAS_MS1.DX",
    OTHER / "example_compound_file.jdx", OTHER / "example_multiline_datasets.jdx",
    OTHER / "scientific_notation_example.jdx", OTHER / "tannic_acid.jdx",
]


@needs_data
@pytest.mark.parametrize("path", AGREES_WITH_JCAMP, ids=lambda p: p.name)
def test_values_match_the_jcamp_package(path):
    ours = read(path)
    theirs = jcamp_reference(path)
    assert len(ours) == len(theirs)
    for spectrum, reference in zip(ours, theirs, strict=True):
        x, y = ascending(np.asarray(reference["x"], float), np.asarray(reference["y"], float))
        assert spectrum.x.shape == x.shape
        assert np.allclose(spectrum.x, x)
        assert np.allclose(spectrum.y, y)


# Where jcamp fails or is wrong, values read by hand from the file: number of points, and the
# first and last (x, y) in file order. Y values are the encoded integer times YFACTOR.
BY_HAND = {
    # jcamp does not know multi-digit DUP counts ("S6" = 16 repeats): it reads a DUP of 1
    # and glues the 6 onto the next number, so its values go wrong from line 58 and it returns
    # 3,710 ordinates where the file has NPOINTS=3735 (every Y and X check passes on ours).
    "BRUKER2.JCM": (3735, (4000.655017, 166 * 2.44140625e-4), (400.1619262, 979 * 2.44140625e-4)),
    # jcamp stops at "$$ checkpoint" comments on data lines.
    "BRUKDIF.DX": (16384, (24038.5, 2254931), (0.0, 1513177)),
    "ISAS_MS2.DX": (346, (13.998, 474 * 20998.87), (6.999, 471 * 20998.87)),
    # jcamp ignores labels indented by a space (" ##TITLE="), so it finds no data.
    "TEST32.DX": (16384, (24038.5, 2259260), (0.0, 1505988)),
    "TESTSPEC.DX": (16384, (24038.5, 76 * 29670.15003), (0.0, 51 * 29670.15003)),
    # jcamp raises IndexError; the file's FIRSTY ("0. 4491087E+01") has a stray space.
    "IMS_TEST1.DX": (2400, (0.0, 433 * 0.01037643), (59.975, 513 * 0.01037643)),
    # jcamp finds no data: the ##XYDATA= form lacks its closing parenthesis.
    "difdup_example.jdx": (53, (4.0, 0.0), (56.0, 128 * 0.1)),
}


@needs_data
@pytest.mark.parametrize("name", sorted(BY_HAND))
def test_values_read_by_hand(name):
    path = OFFICIAL / name if (OFFICIAL / name).exists() else OTHER / name
    [spectrum] = read(path)
    count, first, last = BY_HAND[name]
    x, y = ascending(spectrum.x, spectrum.y)
    if first[0] > last[0]:  # file order was descending; Spectrum stores it ascending
        x, y = x[::-1], y[::-1]
    assert spectrum.x.size == count
    assert np.allclose([x[0], y[0], x[-1], y[-1]], [*first, *last])


@needs_data
def test_difdup_example_decodes_dup_after_sqz_and_dif():
    # "4@VKT%TLkj": @V = 0 four times, K = +2, T = that difference twice more in total, ...
    [spectrum] = read(OTHER / "difdup_example.jdx")
    assert np.allclose(spectrum.y[:10], np.array([0, 0, 0, 0, 2, 4, 4, 4, 7, 5]) * 0.1)
    assert "unbalanced parentheses" in spectrum.metadata["parser warnings"]


@needs_data
def test_ntuples_pages_become_separate_spectra():
    # jcamp does not read NTUPLES. FIRST/LAST/FACTOR per column, read by hand.
    real, imaginary = read(OFFICIAL / "TESTFID.DX")
    assert real.x.size == imaginary.x.size == 16384
    assert np.allclose([real.x[0], real.x[-1]], [0.0, 0.6815317])
    assert np.allclose([real.y[0], real.y[-1]], np.array([573, -11584]) * 5.200415052)
    assert np.allclose([imaginary.y[0], imaginary.y[-1]], np.array([1232, -1202]) * 5.044282357)
    assert real.name.endswith("[N=1]") and imaginary.name.endswith("[N=2]")
    brukntup = read(OFFICIAL / "BRUKNTUP.DX")
    assert [s.y[-1] for s in brukntup] == [2254931, -6966283]  # x ascending: file's first Y
    assert [s.y[0] for s in brukntup] == [1513177, -7303022]


@needs_data
def test_ms_ntuples_and_peak_tables():
    pages = read(OFFICIAL / "ISAS_MS3.DX")
    assert [s.x.size for s in pages] == [18, 26, 26]
    assert (pages[0].x[0], pages[0].y[0], pages[0].x[-1], pages[0].y[-1]) == (50, 2.52, 95, 8.09)
    assert (pages[2].x[-1], pages[2].y[-1]) == (109, 8.55)
    assert "T= 301" in pages[1].name and pages[1].x_units == "M/Z"
    [single] = read(OFFICIAL / "ISAS_MS1.DX")
    assert single.is_mass_spectrum and single.x.size == 26 and single.y.max() == 100.0


@needs_data
def test_compound_file_with_a_structure_block_gives_the_peak_assignments():
    # Block 1 is a JCAMP-CS structure (no spectrum); block 2 holds 16 NMR peak assignments.
    [peaks] = read(OFFICIAL / "ISAS_CDX.DX")
    assert peaks.x.size == 16 and np.all(peaks.y == 1.0)
    assert (peaks.x[0], peaks.x[-1]) == (27.0, 218.4)
    assert peaks.metadata["DATA TYPE"] == "NMR PEAK ASSIGNMENTS"


@needs_data
def test_specfile_trailing_bad_check_line_is_a_warning():
    # SPECFILE.DX ends with "31999@" after its 1,801 points: a check value of 0 where the
    # previous line ended with 26506. This violates the standard but carries no data.
    [spectrum] = read(OFFICIAL / "SPECFILE.DX")
    assert spectrum.x.size == 1801
    assert "line 107: Y value check failed" in spectrum.metadata["parser warnings"]


@needs_data
def test_jcamp2001_example_is_refused_because_lines_were_cut():
    # The file is an excerpt (NPOINTS=2400, but only 4 of the data lines are present); the
    # DIF Y check on the line after the gap is what catches it.
    refused((OTHER / "jcamp2001_example.txt").read_bytes(), "jcamp2001_example.txt",
            "line 51", "Y value check failed: DIF line starts with 353 but previous line "
            "ended with 541")


@needs_data
def test_jcamp_metadata_units_and_name():
    [spectrum] = read(OFFICIAL / "BRUKER1.JCM")
    assert spectrum.name == "CCH-4"
    assert (spectrum.x_units, spectrum.y_units) == ("1/CM", "TRANSMITTANCE")
    assert spectrum.metadata["DATA TYPE"] == "INFRARED SPECTRUM"
    assert spectrum.metadata["XYDATA"] == "(X++(Y..Y))"
    [raman] = read(OTHER / "tannic_acid.jdx")
    assert raman.technique is Technique.RAMAN


# --------------------------------------------------------------------------------------------
# JCAMP-DX compression forms and checks on small hand-made files


def jdx(data_lines: str, *, npoints: int = 7, firstx: float = 1, lastx: float = 7,
        extra: str = "", end: bool = True) -> str:
    head = (f"##TITLE=test\n##JCAMP-DX=4.24\n##DATA TYPE=INFRARED SPECTRUM\n##XUNITS=1/CM\n"
            f"##YUNITS=ABSORBANCE\n##FIRSTX={firstx}\n##LASTX={lastx}\n##XFACTOR=1\n"
            f"##YFACTOR=1\n##NPOINTS={npoints}\n{extra}##XYDATA=(X++(Y..Y))\n")
    return head + data_lines + ("##END=\n" if end else "")


@pytest.mark.parametrize("line", [
    "1 10 12 12 12 15 15 20\n",  # AFFN
    "1+10+12+12+12+15+15+20\n",  # PAC
    "1A0A2A2A2A5A5B0\n",  # SQZ
    "1A0K%%L%N\n",  # DIF
    "1A0K%TL%N\n",  # DIFDUP: T repeats the +0 difference
    "1A0A2UA5TB0\n",  # DUP of absolute (SQZ) values
    "1A0K%%\n4A2L%N\n",  # two lines: A2 repeats the last ordinate and is dropped
    "1 1.0E1 1.2e+01 12 12 15 15 2.0E1\n",  # AFFN with exponents
], ids=["affn", "pac", "sqz", "dif", "difdup", "dup-sqz", "y-check", "exponent"])
def test_every_compression_form_decodes_to_the_same_values(line):
    [spectrum] = read_spectra(jdx(line).encode(), "forms.jdx")
    assert spectrum.y.tolist() == [10, 12, 12, 12, 15, 15, 20]
    assert spectrum.x.tolist() == [1, 2, 3, 4, 5, 6, 7]


def test_jdx_dif_check_failure_names_line_and_values():
    refused(jdx("1A0K%%\n4A3L%N\n"), "bad.jdx", "bad.jdx line 13:",
            "Y value check failed: DIF line starts with 13 but previous line ended with 12")


def test_jdx_npoints_mismatch():
    refused(jdx("1A0K%%L%N\n", npoints=8), "n.jdx", "line 11", "NPOINTS=8 but 7 Y values")


def test_jdx_x_check_finds_the_missing_line():
    refused(jdx("1 10 12 12\n9 12 15 15 20\n"), "x.jdx", "line 13", "X value check failed")


def test_jdx_deltax_must_agree():
    refused(jdx("1A0K%%L%N\n", extra="##DELTAX=2\n"), "d.jdx", "line 12", "DELTAX=2.0")


def test_jdx_firsty_must_agree():
    refused(jdx("1A0K%%L%N\n", extra="##FIRSTY=99\n"), "f.jdx", "FIRSTY=99.0")


def test_jdx_non_numeric_value():
    refused(jdx("1 10 12 ? 12\n"), "q.jdx", "line 12", "'?' (missing value)")
    refused(jdx("1 10 12 x 12\n"), "q.jdx", "line 12", "unexpected character 'x' in column 9")


def test_jdx_missing_end():
    refused(jdx("1A0K%%L%N\n", end=False), "e.jdx", "line 12", "missing ##END=")


def test_jdx_truncated_real_file():
    text = jdx("1A0K%%\n4A2L%N\n")
    refused(text[: text.index("4A2")], "t.jdx", "missing ##END=")


def test_jdx_header_only_and_title_only():
    refused("##TITLE=nothing\n##JCAMP-DX=5.01\n##END=\n", "h.jdx", "line 3", "no spectral data")
    refused("##TITLE=x\n", "h.jdx", "line 1", "missing ##END=")


def test_jdx_unclosed_block_before_the_next_title():
    refused(jdx("1A0K%%L%N\n", end=False) + jdx("1A0K%%L%N\n"), "two.jdx", "line 13",
            "inside the block that starts at line 1")


def test_jdx_link_block_count_is_checked():
    text = "##TITLE=link\n##DATA TYPE=LINK\n##BLOCKS=2\n" + jdx("1A0K%%L%N\n") + "##END=\n"
    refused(text, "link.jdx", "##BLOCKS=2 but 1 blocks follow")


def test_jdx_huge_dup_count_is_refused_before_allocation():
    refused(jdx("1A0s99999999\n"), "dup.jdx", "line 12", "more than 10,000,000 data points")


def test_jdx_xyw_peak_table_keeps_x_and_y():
    text = "##TITLE=w\n##NPOINTS=2\n##PEAK TABLE=(XYW..XYW)\n10,5,1; 20,7,2\n##END=\n"
    [peaks] = read_spectra(text.encode(), "w.jdx")
    assert peaks.x.tolist() == [10, 20] and peaks.y.tolist() == [5, 7]


def test_jdx_long_malformed_lines_fail_fast():
    # Guards the AFFN line pattern against catastrophic backtracking (an upload could hang a
    # worker): a 200,000-character line must be refused in well under a second.
    for line in ("1" * 200_000 + "+", "1 " * 100_000 + "x"):
        start = time.perf_counter()
        with pytest.raises(SpectrumFormatError):
            read_spectra(jdx(line + "\n").encode(), "slow.jdx")
        assert time.perf_counter() - start < 1.0


def test_jdx_xy_pairs_odd_count_and_npoints():
    head = "##TITLE=p\n##DATA TYPE=MASS SPECTRUM\n##NPOINTS=2\n##PEAK TABLE=(XY..XY)\n"
    [ms] = read_spectra((head + "50,1.5; 51,2\n##END=\n").encode(), "p.jdx")
    assert ms.technique is Technique.MS and ms.y.tolist() == [1.5, 2.0]
    refused(head + "50,1.5; 51\n##END=\n", "p.jdx", "line 5", "odd number of values")
    refused(head + "50,1.5\n##END=\n", "p.jdx", "line 4", "NPOINTS=2 but 1 (X,Y) pairs")


# --------------------------------------------------------------------------------------------
# RRUFF


@needs_data
def test_all_rruff_files_parse_as_infrared():
    paths = sorted((SPECTRA / "ir_rruff").glob("*.txt"))
    assert len(paths) == 9
    for path in paths:
        [spectrum] = read(path)
        assert spectrum.technique is Technique.IR and spectrum.x_units == "1/CM"
        assert spectrum.metadata["RRUFFID"] in path.name


@needs_data
def test_rruff_values_by_hand():
    [calcite] = read(next((SPECTRA / "ir_rruff").glob("Calcite__*.txt")))
    assert calcite.name == "Calcite" and calcite.metadata["IDEAL CHEMISTRY"] == "CaCO_3_"
    assert calcite.x.size == 1868
    assert (calcite.x[0], calcite.y[0]) == (399.1926, 0.0)
    assert (calcite.x[-1], calcite.y[-1]) == (3999.64, 0.01961795)


RRUFF = "##NAMES=Test\n##RRUFFID=R000001\n##IDEAL CHEMISTRY=X\n"


def test_rruff_technique_from_header_and_malformed_files():
    raman = read_spectra((RRUFF + "##DESCRIPTION=Raman data\n1, 2\n2, 3\n##END=\n").encode(),
                         "r.txt")
    assert raman[0].technique is Technique.RAMAN
    refused(RRUFF + "1, 2\n2, 3\n", "r.txt", "line 5", "missing ##END=")
    refused(RRUFF + "1, 2\n2, x\n##END=\n", "r.txt", "line 5", "not a number")
    refused(RRUFF + "1, 2, 3\n##END=\n", "r.txt", "line 4", "found 3 values")
    refused(RRUFF + "##END=\n", "r.txt", "line 4", "no data points")
    refused(RRUFF + "1, 2\n##END=\n3, 4\n", "r.txt", "line 6", "text after ##END=")


# --------------------------------------------------------------------------------------------
# NIST MSP


@needs_data
def test_all_msp_files_parse():
    paths = sorted((SPECTRA / "gcms_ei" / "fentanyl_classifier_nist").rglob("*.MSP"))
    assert len(paths) == 84
    for path in paths:
        [spectrum] = read(path)
        assert spectrum.is_mass_spectrum and spectrum.x.size == int(
            spectrum.metadata["num peaks"])


@needs_data
def test_msp_record_values_by_hand():
    path = SPECTRA / "gcms_ei/fentanyl_classifier_nist/Type2Fentanyl/AB/s4599.MSP"
    [spectrum] = read(path)
    assert spectrum.name == ".alpha.-Methyl Thiofentanyl"
    meta = spectrum.metadata
    assert meta["inchikey"] == "YPOXDUYRRSUFFG-UHFFFAOYSA-N"
    assert (meta["formula"], meta["mw"], meta["cas#"], meta["db#"]) == (
        "C21H28N2OS", "356", "103963-66-2", "4599")
    assert meta["synon"].splitlines() == [
        "NIH 10538", "N-[1-[1-methyl-2-(2-thienyl)ethyl]-4-piperidinyl]-N-phenyl-propanamide"]
    assert spectrum.x.size == 133
    assert spectrum.x[:5].tolist() == [41, 42, 43, 44, 45]
    assert spectrum.y[:5].tolist() == [29, 34, 6, 5, 16]
    assert spectrum.x[-3:].tolist() == [261, 262, 281] and spectrum.y[-3:].tolist() == [17, 1, 1]


MSP = ('Name: First\nFormula: C2H6O\nNum Peaks: 3\n31 100; 45 50\n46 20\n\n'
       'NAME: Second\nCAS#: 64-17-5\nNum peaks: 2\n29\t999\t"CHO+"\n31\t10\t"p"\n')


def test_msp_many_records_layouts_and_annotations():
    first, second = read_spectra(MSP.encode(), "lib.msp")
    assert first.name == "First" and first.x.tolist() == [31, 45, 46]
    assert second.metadata["cas#"] == "64-17-5" and second.y.tolist() == [999, 10]


def test_msp_malformed_records():
    refused(MSP.replace("Num Peaks: 3", "Num Peaks: 4"), "l.msp", "line 3",
            "record 'First' declares Num Peaks: 4 but 3 peaks follow")
    refused(MSP.replace("Num Peaks: 3", "Num Peaks: 2"), "l.msp", "line 5",
            "declares Num Peaks: 2 (line 3) but has more peaks")
    refused(MSP.replace("45 50", "45 fifty"), "l.msp", "line 4", "'fifty'")
    refused(MSP.replace("45 50", "45"), "l.msp", "line 4", "odd number of values")
    refused(MSP.replace("Num Peaks: 3\n", ""), "l.msp", "line 3", "expected 'Key: value'")
    refused("Name: Only header\nNum Peaks: 0\n", "l.msp", "line 2", "has no peaks")
    refused("Name: cut\nFormula: C\n", "l.msp", "line 3", "no 'Num Peaks:' line")


# --------------------------------------------------------------------------------------------
# Two-column text


@needs_data
def test_raman_tsv_keeps_every_point():
    # The file is already sorted (3200 -> 96.8 cm-1). Where the step-scan windows overlap,
    # the points of both windows are interleaved and 7 x values occur twice. Every point is
    # kept: Spectrum stores x ascending (non-decreasing), no averaging.
    path = SPECTRA / "raman" / "paracetamol_tablet_renishaw_hyperSpec.txt"
    [spectrum] = read_spectra(path.read_bytes(), path.name, technique=Technique.RAMAN)
    assert spectrum.technique is Technique.RAMAN
    assert spectrum.x.size == 4064 and np.unique(spectrum.x).size == 4057
    assert np.all(np.diff(spectrum.x) >= 0)
    assert (spectrum.x[0], spectrum.y[0]) == (96.7865, 2056.5)
    assert (spectrum.x[-1], spectrum.y[-1]) == (3200.07, 299.229)
    assert "x order" not in spectrum.metadata


@pytest.mark.parametrize("text", [
    "# exported\nwavenumber,intensity\n100,1.5\n200,2.5\n300,3.5\n",
    "100\t1.5\n200\t2.5\n# comment\n300\t3.5\n",
    "x;y\n100;1,5\n200;2,5\n300;3,5\n",
    "  100   1.5\n200 2.5\n300 3.5  \n",
    "300,3.5\n100,1.5\n200,2.5,\n",
], ids=["csv-header", "tsv", "semicolon-decimal-comma", "whitespace", "unsorted"])
def test_text_layouts(text):
    [spectrum] = read_spectra(text.encode(), "s.csv")
    assert spectrum.technique is Technique.OTHER
    assert spectrum.x.tolist() == [100, 200, 300] and spectrum.y.tolist() == [1.5, 2.5, 3.5]


def test_text_unsorted_is_sorted_and_noted():
    [spectrum] = read_spectra(b"300,3\n100,1\n200,2\n", "u.csv")
    assert "not monotonic" in spectrum.metadata["x order"]


def test_text_quoted_fields_and_utf16():
    [quoted] = read_spectra(b'"x","y"\n"1.0","2.0"\n"3.0","4.0"\n', "q.csv")
    assert quoted.y.tolist() == [2.0, 4.0]
    [wide] = read_spectra("x\ty\n1\t2\n3\t4\n".encode("utf-16"), "w.txt")
    assert wide.x.tolist() == [1.0, 3.0]


def test_text_malformed():
    refused("x,y\n", "h.csv", "line 1", "only a header line")
    refused("x,y\n1,2\n3,abc\n", "n.csv", "line 3", "not a number")
    refused("1,2\n3,4,5\n", "c.csv", "line 2", "expected 2 columns but found 3")
    refused("a,b\nc,d\n1,2\n", "h2.csv", "line 2")
    refused("1,nan\n", "nan.csv", "line 1", "not a number")
    refused("# only a comment\n", "c.txt", "no data lines")


# --------------------------------------------------------------------------------------------
# Thermo Galactic SPC: a writer built from spc.h, independent of the reader

SPC_HEADER = struct.Struct("<BBBbIddIBBBBI9s9sH32s130s30sIIBBHf48sfIfB187s")  # SPCHDR, 512 B
SPC_SUBHEADER = struct.Struct("<BbHfffIIf4s")  # SUBHDR, 32 B
TSPREC, TMULTI, TXYXYS, TXVALS = 0x01, 0x04, 0x40, 0x80


def spc_y(y: np.ndarray, kind: str) -> tuple[int, bytes]:
    """Exponent and bytes for Y: float32 (exponent 0x80) or fixed point 2**(exp-bits)."""
    if kind == "float":
        return -128, y.astype("<f4").tobytes()
    bits = 16 if kind == "int16" else 32
    exponent = int(np.floor(np.log2(np.abs(y).max()))) + 2
    raw = np.round(y * 2.0 ** (bits - exponent))
    return exponent, raw.astype("<i2" if bits == 16 else "<i4").tobytes()


def spc_file(ys: list[np.ndarray], *, kind: str = "int32", first: float = 0.0,
             last: float = 0.0, x: np.ndarray | None = None,
             own_x: list[np.ndarray] | None = None, experiment: int = 0, xtype: int = 0,
             comment: bytes = b"") -> bytes:
    multi = len(ys) > 1
    flags = (TSPREC if kind == "int16" else 0) | (TMULTI if multi else 0)
    flags |= TXVALS if x is not None else 0
    flags |= TXVALS | TXYXYS if own_x is not None else 0
    encoded = [spc_y(y, kind) for y in ys]
    npts = 0 if own_x is not None else ys[0].size
    parts = [SPC_HEADER.pack(flags, 0x4B, experiment, 0 if multi else encoded[0][0], npts,
                             first, last, len(ys), xtype, 0, 0, 0, 0, b"", b"", 0, b"",
                             comment, b"", 0, 0, 0, 0, 0, 0.0, b"", 0.0, 0, 0.0, 0, b"")]
    if x is not None:
        parts.append(x.astype("<f4").tobytes())
    for index, (exponent, data) in enumerate(encoded):
        points = own_x[index].size if own_x is not None else 0
        parts.append(SPC_SUBHEADER.pack(0, exponent if multi else 0, index, float(index), 0.0,
                                        0.0, points, 0, 0.0, b""))
        if own_x is not None:
            parts.append(own_x[index].astype("<f4").tobytes())
        parts.append(data)
    return b"".join(parts)


Y = np.array([0.5, -1.25, 3.0, 100.0, 42.125])


def test_spc_writer_matches_the_published_sizes():
    assert SPC_HEADER.size == 512 and SPC_SUBHEADER.size == 32


@pytest.mark.parametrize("kind, atol", [("int32", 1e-6), ("int16", 0.01), ("float", 0)])
def test_spc_single_even_x(kind, atol):
    data = spc_file([Y], kind=kind, first=400.0, last=4000.0, experiment=4, xtype=1,
                    comment=b"sample one")
    [spectrum] = read_spectra(data, "one.spc")
    assert np.allclose(spectrum.x, np.linspace(400, 4000, 5))
    assert np.allclose(spectrum.y, Y, atol=atol, rtol=0)
    assert spectrum.technique is Technique.IR and spectrum.x_units == "1/CM"
    assert spectrum.name == "sample one"


def test_spc_xy_file_and_raman_units():
    x = np.array([100.0, 150.0, 175.0, 180.0, 300.0])
    [spectrum] = read_spectra(spc_file([Y], kind="float", x=x, xtype=13), "xy.spc")
    assert spectrum.x.tolist() == x.tolist() and spectrum.technique is Technique.RAMAN


def test_spc_multifile_common_x_uses_each_subfile_exponent():
    ys = [Y, Y * 1000, Y / 1000]
    spectra = read_spectra(spc_file(ys, first=1.0, last=5.0, experiment=11), "multi.spc")
    assert len(spectra) == 3
    for spectrum, y in zip(spectra, ys, strict=True):
        assert np.allclose(spectrum.y, y, rtol=1e-6)
        assert spectrum.x.tolist() == [1, 2, 3, 4, 5]
    assert spectra[1].name == "multi.spc [2/3]" and spectra[1].metadata["subtime"] == "1.0"


def test_spc_multifile_separate_x():
    own_x = [np.array([50.0, 51.0, 77.0]), np.array([43.0, 58.0, 91.0, 105.0, 120.0])]
    ys = [np.array([10.0, 999.0, 5.0]), np.array([1.0, 2.0, 3.0, 4.0, 5.0])]
    first, second = read_spectra(spc_file(ys, kind="float", own_x=own_x, experiment=9), "ms.spc")
    assert first.x.tolist() == [50, 51, 77] and first.y.tolist() == [10, 999, 5]
    assert second.x.size == 5 and second.is_mass_spectrum


def test_spc_truncated_and_invalid_files_name_the_offset():
    data = spc_file([Y], first=1.0, last=5.0)
    refused(data[:300], "t.spc", "byte offset 0", "main header takes 512 bytes")
    refused(data[:-3], "t.spc", "byte offset 544", "32-bit Y values of subfile 1 of 1",
            "takes 20 bytes but only 17 remain")
    multi = spc_file([Y, Y], first=1.0, last=5.0)
    refused(multi[:-30], "m.spc", "subfile 2 of 2")
    refused(bytes([0, 0x4D]) + bytes(300), "old.spc", "byte offset 1", "old-format")
    refused(b"\x00\x07garbage" * 100, "g.spc", "byte offset 1", "not an SPC file")
    flags_without_x = bytearray(data)
    flags_without_x[0] = TXYXYS
    refused(bytes(flags_without_x), "f.spc", "byte offset 0", "TXYXYS flag set without TXVALS")


# --------------------------------------------------------------------------------------------
# Dispatch, limits and the error contract


def test_detection_by_content_before_extension():
    assert detect_format(b"##TITLE=x\n", "a.txt") == "jcamp"
    assert detect_format(b"##NAMES=Calcite\n", "a.txt") == "rruff"
    assert detect_format(b"Name: x\nNum Peaks: 0\n", "a.txt") == "msp"
    assert detect_format(b"1,2\n", "a.jdx") == "jcamp"
    assert detect_format(b"1,2\n", "a.dat") == "text"
    assert {f.key for f in FORMATS} == {"jcamp", "rruff", "msp", "spc", "text"}


def test_binary_garbage_empty_and_too_large(monkeypatch):
    garbage = bytes(range(256)) * 4
    refused(garbage, "garbage.jdx", "line 1", "binary data")
    refused(b"1,2\n3,4\n\x00\x01", "nul.csv", "line 3", "binary data")
    refused(b"", "empty.jdx", "line 1", "file is empty")
    refused(b"  \n\n", "blank.csv", "file is empty")
    monkeypatch.setattr(formats, "MAX_FILE_BYTES", 10)
    refused(b"1,2\n3,4\n5,6\n", "big.csv", "the limit is 10 bytes")


def test_point_limit(monkeypatch):
    monkeypatch.setattr(formats, "MAX_POINTS", 2)
    refused(b"1,2\n3,4\n5,6\n", "many.csv", "line 3", "more than 2 data points")


def test_technique_override_and_error_type():
    [spectrum] = read_spectra(b"1,2\n3,4\n", "ir.csv", technique=Technique.IR)
    assert spectrum.technique is Technique.IR
    error = refused(b"1,2\n3,x\n", "bad.csv", "bad.csv line 2:")
    assert isinstance(error, InvalidData) and error.status == 422 and error.line == 2
    assert error.as_dict()["errors"] == [{"field": "file", "reason": str(error)}]


@needs_data
def test_damaged_copies_of_real_files_fail_only_with_spectrum_format_error():
    # Truncations and byte edits of real files in every format: each must either parse or be
    # refused with SpectrumFormatError, never another exception (seeded, so repeatable).
    rng = random.Random(20240611)
    paths = [OFFICIAL / "BRUKER1.JCM", OFFICIAL / "PE1800.DX", OFFICIAL / "ISAS_MS3.DX",
             OTHER / "difdup_example.jdx", OTHER / "tannic_acid.jdx",
             SPECTRA / "gcms_ei/fentanyl_classifier_nist/Type2Fentanyl/AB/s4599.MSP",
             next((SPECTRA / "ir_rruff").glob("Talc__*.txt"))]
    samples = [(p.read_bytes(), p.name) for p in paths]
    samples.append((spc_file([Y, Y * 2], first=1.0, last=5.0), "multi.spc"))
    alphabet = b"0123456789+-.,;eE@AJjSs%?#$=( \n\x00\xff"
    for _ in range(300):
        data, name = rng.choice(samples)
        damaged = bytearray(data[: rng.randrange(len(data) + 1)] if rng.random() < 0.3 else data)
        for _ in range(rng.randint(0, 4)):
            if damaged:
                damaged[rng.randrange(len(damaged))] = rng.choice(alphabet)
        try:
            read_spectra(bytes(damaged), name)
        except SpectrumFormatError:
            pass
