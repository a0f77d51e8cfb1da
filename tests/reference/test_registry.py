"""Reference files: shipped files validate; overrides replace them; broken files are named."""

from __future__ import annotations

import hashlib

import pytest

from interdict.errors import InvalidData
from interdict.reference.registry import SHIPPED, Registry

META = ("meta:\n  id: handling-codes\n  kind: code_list\n  title: National handling\n"
        "  version: '9'\n  source: national law\n  retrieved: 2026-01-01\n  licence: restricted\n")


def test_every_shipped_file_validates_with_version_and_checksum():
    registry = Registry()
    good, bad = registry.check_all()
    assert not bad and len(good) >= 2
    for ref in good:
        assert ref.meta.version and ref.meta.licence and ref.meta.source
        assert ref.checksum == hashlib.sha256(ref.path.read_bytes()).hexdigest()
    codes = registry.get("platform/handling_codes").content
    assert {e.code for e in codes.entries} >= {"H0", "H1", "H2", "H3", "TLP:RED"}
    h2 = next(e for e in codes.entries if e.code == "H2")
    assert h2.onward_sharing is False


def test_override_directory_replaces_shipped_file(tmp_path):
    (tmp_path / "platform").mkdir()
    (tmp_path / "platform" / "handling_codes.yaml").write_text(
        META + "scheme: national\nentries:\n  - {code: N1, label: n1, description: d}\n")
    registry = Registry(override=tmp_path)
    ref = registry.get("platform/handling_codes")
    assert ref.overridden and ref.meta.version == "9"
    assert [e.code for e in ref.content.entries] == ["N1"]
    # Files not overridden still come from the package.
    assert not registry.get("platform/source_grading").overridden


@pytest.mark.parametrize("body, field", [
    ("meta: [1, 2\n", "(file)"),
    ("entries: []\n", "meta"),
    (META.replace("code_list", "mystery") + "x: 1\n", "meta.kind"),
    (META + "scheme: s\nentries:\n  - {code: N1, label: n1}\n", "entries.0.description"),
    (META.replace("  retrieved: 2026-01-01\n", "  retrieved: yesterday\n")
     + "scheme: s\nentries:\n  - {code: N1, label: n1, description: d}\n", "meta.retrieved"),
    (META + "scheme: s\nentries:\n  - {code: N1, label: n1, description: d, extra: 1}\n",
     "entries.0.extra"),
])
def test_broken_files_name_the_field(tmp_path, body, field):
    (tmp_path / "bad.yaml").write_text(body)
    with pytest.raises(InvalidData) as exc:
        Registry(override=tmp_path, shipped=SHIPPED).get("bad")
    assert exc.value.errors[0].field == field
    assert "bad.yaml" in exc.value.detail


def test_yaml_error_names_the_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("meta:\n  id: x\n  title: [unclosed\n")
    with pytest.raises(InvalidData) as exc:
        Registry(override=tmp_path).get("bad")
    assert "line" in exc.value.detail


def test_missing_override_directory(tmp_path):
    with pytest.raises(InvalidData) as exc:
        Registry(override=tmp_path / "nope").names()
    assert exc.value.errors[0].field == "INTERDICT_REFERENCE_PATH"


def test_every_shipped_file_has_a_sources_entry():
    text = (SHIPPED / "SOURCES.md").read_text()
    missing = [n for n in Registry().names() if f"`{n}.yaml`" not in text]
    assert not missing, f"reference files without a SOURCES.md entry: {missing}"
