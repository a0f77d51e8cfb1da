"""Libraries and identifications through the service, the API, the web pages and Chromium.

Runs on both databases (the ``world`` fixture). The Raman library is the demo's diluent set
(shipped with the package); the mass spectra are small MSP records written here, named with
real InChIKeys so that control status comes from the shipped substance lists.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from interdict.alerts.models import Alert
from interdict.audit.models import AuditEvent
from interdict.auth import service as auth
from interdict.db.session import unit_of_work
from interdict.errors import Forbidden, InvalidData, NotFound
from interdict.reference.registry import Registry
from interdict.spectra import service
from interdict.spectra.models import LibrarySpectrum, SpectralLibrary
from interdict.spectra.spectrum import Technique
from tests.conftest import PASSWORD, login

DEMO = Path(service.__file__).parent / "demo_data"
REGISTRY = Registry()


def _msp(name: str, inchikey: str, peaks: list[tuple[int, int]]) -> str:
    body = "\n".join(f"{mz} {i};" for mz, i in peaks)
    return (f"Name: {name}\nInChIKey: {inchikey}\nNum Peaks: {len(peaks)}\n{body}\n\n")


FENTANYL = _msp("Fentanyl", "PJMPHNIQZUBGLI-UHFFFAOYSA-N",
                [(42, 80), (105, 120), (146, 210), (189, 120), (245, 999), (336, 20)])
CAFFEINE = _msp("Caffeine", "RYYVLZVUVIJVGH-UHFFFAOYSA-N",
                [(55, 150), (67, 120), (82, 90), (109, 350), (165, 60), (194, 999)])
LIDOCAINE = _msp("Lidocaine", "NNJVILVZKWQKPM-UHFFFAOYSA-N",
                 [(58, 40), (72, 60), (86, 999), (120, 30), (234, 50)])


def _raman_files() -> tuple[list[tuple[str, bytes]], dict[str, service.Identifiers]]:
    files, ids = service.read_folder(DEMO)
    return [(n, d) for n, d in files if n in ids], ids


def _import_raman(world, username: str = "lab@a") -> None:
    files, ids = _raman_files()
    with unit_of_work(world.db) as session:
        service.import_library(session, actor=world.actor(username), name="Diluents",
                               files=files, technique=Technique.RAMAN, identifiers=ids)


def _import_ms(world) -> None:
    with unit_of_work(world.db) as session:
        service.import_library(session, actor=world.actor("lab@a"), name="Drugs (EI)",
                               files=[("drugs.msp", (FENTANYL + CAFFEINE + LIDOCAINE).encode())])


def test_import_is_idempotent_and_versioned(world):
    _import_raman(world)
    _import_raman(world)  # the same files again: nothing added, version unchanged
    with unit_of_work(world.db, readonly=True) as session:
        lib = session.scalar(select(SpectralLibrary))
        assert lib is not None and lib.version == 1 and lib.entry_count == 3
        names = set(session.scalars(select(LibrarySpectrum.name)))
        assert names == {"D-Fructose", "Lactose", "D-Ribose"}
        cas = set(session.scalars(select(LibrarySpectrum.cas)))
        assert "63-42-3" in cas
    with unit_of_work(world.db) as session:
        report = service.import_library(
            session, actor=world.actor("lab@a"), name="Diluents", technique=Technique.RAMAN,
            files=[("extra.csv", b"x,y\n200,1\n300,2\n400,1\n500,3\n")])
    assert report.added == 1 and report.library.version == 2


def test_import_is_all_or_nothing_and_names_the_bad_file(world):
    files, ids = _raman_files()
    bad = files + [("broken.jdx", b"##TITLE=broken\n##JCAMP-DX=4.24\n##XYDATA=(X++(Y..Y))\n"
                                  b"100 1 2 oops\n")]
    with unit_of_work(world.db) as session, pytest.raises(InvalidData) as caught:
        service.import_library(session, actor=world.actor("lab@a"), name="Diluents",
                               files=bad, technique=Technique.RAMAN, identifiers=ids)
    assert any(e.field == "broken.jdx" for e in caught.value.errors)
    assert "nothing was imported" in caught.value.detail
    with unit_of_work(world.db, readonly=True) as session:
        assert session.scalar(select(SpectralLibrary)) is None


def test_one_technique_per_library(world):
    _import_raman(world)
    with unit_of_work(world.db) as session, pytest.raises(InvalidData) as caught:
        service.import_library(session, actor=world.actor("lab@a"), name="Diluents",
                               files=[("drugs.msp", FENTANYL.encode())])
    assert caught.value.errors[0].field == "technique" and "ms" in caught.value.errors[0].reason


def test_identify_pure_and_mixture_with_control_status(world):
    _import_raman(world)
    lactose = (DEMO / "lactose_raman.csv").read_bytes()
    with unit_of_work(world.db) as session:
        out = service.identify(session, actor=world.actor("lab@a"), registry=REGISTRY,
                               data=lactose, filename="q.csv", technique=Technique.RAMAN)
    assert out.candidates[0].name == "Lactose" and out.candidates[0].score > 0.999
    assert out.confidence.value == "high" and not out.controlled
    assert out.candidates[0].control is not None and not out.candidates[0].control.controlled
    with unit_of_work(world.db) as session:
        mix = service.identify(session, actor=world.actor("lab@a"), registry=REGISTRY,
                               data=(DEMO / "exhibit_mixture_raman.csv").read_bytes(),
                               filename="m.csv", technique=Technique.RAMAN)
    assert mix.mixture is not None
    fractions = {c.name: c.fraction for c in mix.mixture.components}
    assert set(fractions) == {"D-Fructose", "Lactose", "D-Ribose"}
    assert max(fractions, key=lambda k: fractions[k]) == "D-Fructose"  # 60/20/20 by mass
    assert abs(sum(fractions.values()) - 1) < 1e-3  # rounded to 4 decimals


def test_controlled_identification_is_stored_audited_and_alerted(world):
    _import_ms(world)
    query = _msp("unknown powder", "", [(42, 70), (105, 110), (146, 200), (189, 130),
                                        (245, 999), (336, 25)]).replace("InChIKey: \n", "")
    with unit_of_work(world.db) as session:
        out = service.identify(session, actor=world.actor("lab@a"), registry=REGISTRY,
                               data=query.encode(), filename="exhibit.msp",
                               case_reference="A-24-001")
    best = out.candidates[0]
    assert best.name == "Fentanyl" and out.controlled and out.mixture is None
    assert best.control is not None and best.control.controlled
    assert "Schedule I" in best.control.summary
    with unit_of_work(world.db, readonly=True) as session:
        alert = session.scalar(select(Alert).where(Alert.source == "spectra"))
        assert alert is not None and "Fentanyl" in alert.title
        event = session.scalar(select(AuditEvent).where(
            AuditEvent.resource_type == "spectra.identification"))
        assert event is not None and event.details["library"] == "Drugs (EI)"
        stored = service.get_identification(session, actor=world.actor("lab@a"),
                                            identification_id=out.id)
        assert stored["candidates"][0]["name"] == "Fentanyl" and stored["library_version"] == 1


def test_wrong_technique_and_no_library_are_clear_errors(world):
    with unit_of_work(world.db) as session, pytest.raises(InvalidData) as caught:
        service.identify(session, actor=world.actor("lab@a"), registry=REGISTRY,
                         data=FENTANYL.encode(), filename="q.msp")
    assert "no ms library" in caught.value.detail
    _import_raman(world)
    with unit_of_work(world.db) as session, pytest.raises(InvalidData) as caught:
        service.identify(session, actor=world.actor("lab@a"), registry=REGISTRY,
                         data=FENTANYL.encode(), filename="q.msp", library="Diluents")
    assert "is a ms spectrum but library 'Diluents' holds raman" in caught.value.detail


def test_libraries_are_agency_records_and_roles_apply(world):
    _import_raman(world)
    with unit_of_work(world.db) as session:
        with pytest.raises(NotFound):
            service.get_library(session, actor=world.actor("analyst@b"), name="Diluents")
        assert service.list_libraries(session, actor=world.actor("analyst@b")) == []
        with pytest.raises(Forbidden):
            service.list_libraries(session, actor=world.actor("operator@a"))
        with pytest.raises(Forbidden):  # analysts search libraries but do not build them
            service.import_library(session, actor=world.actor("analyst@a"), name="x",
                                   files=[("a.msp", FENTANYL.encode())])
        lib = service.get_library(session, actor=world.actor("lab@a"), name="Diluents")
        auth.share_record(session, actor=world.actor("admin@a"), resource_type=service.RESOURCE,
                          resource_id=lib.id, owner_agency_id=lib.agency_id,
                          recipient=world.agencies["B"], handling_code="H0",
                          justification="joint lab work")
    with unit_of_work(world.db) as session:
        shared = service.list_libraries(session, actor=world.actor("analyst@b"))
        assert [s.name for s in shared] == ["Diluents"]


def test_api_identify_import_and_errors(client, world):
    headers = world.headers("lab@a")
    r = client.post("/api/v1/spectra/libraries/Drugs%20(EI)/import", headers=headers,
                    files=[("files", ("drugs.msp", (FENTANYL + CAFFEINE).encode()))])
    assert r.status_code == 200 and r.json()["added"] == 2
    r = client.post("/api/v1/spectra/identify", headers=headers,
                    files={"file": ("c.msp", CAFFEINE.encode())}, data={"top": "2"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["candidates"][0]["name"] == "Caffeine" and len(body["candidates"]) == 2
    # Caffeine's InChIKey is on no list and the MSP gives no structure: not "not listed",
    # but "not found, not screened" (a class member could hide behind an unknown key).
    control = body["candidates"][0]["control"]
    assert control["controlled"] is False and control["screened"] is False
    assert body["metric"] == "cosine" and "square-root" in body["metric_definition"]
    got = client.get(f"/api/v1/spectra/identifications/{body['id']}", headers=headers)
    assert got.status_code == 200 and got.json()["id"] == body["id"]
    r = client.post("/api/v1/spectra/identify", headers=headers,
                    files={"file": ("bad.msp", b"Name: x\nNum Peaks: 3\n10 1;\n")})
    assert r.status_code == 422 and "bad.msp" in r.json()["error"]["detail"]
    libs = client.get("/api/v1/spectra/libraries", headers=headers).json()
    assert libs[0]["name"] == "Drugs (EI)" and libs[0]["technique"] == "ms"
    other = client.get(f"/api/v1/spectra/identifications/{body['id']}",
                       headers=world.headers("analyst@b"))
    assert other.status_code == 404


def test_web_upload_redirects_to_result(client, world):
    _import_ms(world)
    csrf = login(client, "lab@a")
    page = client.get("/spectra")
    assert page.status_code == 200 and "Drugs (EI)" in page.text
    r = client.post("/spectra/identify", data={"csrf_token": csrf, "case_reference": "A-1"},
                    files={"file": ("q.msp", LIDOCAINE.encode())}, follow_redirects=False)
    assert r.status_code == 303, r.text
    result = client.get(r.headers["location"])
    assert "Lidocaine" in result.text and 'id="plot-data"' in result.text
    bad = client.post("/spectra/identify", data={"csrf_token": csrf},
                      files={"file": ("q.jdx", b"##TITLE=x\n##XYDATA=(X++(Y..Y))\n1 a\n")})
    assert bad.status_code == 422 and 'id="identify-error"' in bad.text
    assert "q.jdx" in bad.text


@pytest.mark.browser
def test_browser_upload_spectrum_and_see_ranked_matches(live_server, page, world, tmp_path):
    _import_raman(world)
    upload = tmp_path / "exhibit.csv"
    upload.write_bytes((DEMO / "exhibit_mixture_raman.csv").read_bytes())
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=username]", "lab@a")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click("nav.sidebar >> text=Spectra")
    page.set_input_files("#spectrum-file", str(upload))
    page.select_option("select[name=technique]", "raman")
    page.fill("input[name=case_reference]", "A-24-0140")
    page.click("#btn-identify")
    expect(page.locator("#candidates")).to_contain_text("D-Fructose")
    expect(page.locator("#mixture")).to_contain_text("Lactose")
    expect(page.locator("#spectrum-chart")).to_have_attribute("data-rendered", "true")
    expect(page.locator("#spectrum-chart canvas")).to_have_count(1)
    assert re.search(r"/spectra/identifications/\d+$", page.url)
    page.screenshot(path=str(tmp_path / "result.png"), full_page=True)


def test_unsearchable_spectra_and_messy_identifiers_at_import(world):
    files, ids = _raman_files()
    outside = ("nir.csv", b"x,y\n4000,1\n4001,2\n4002,1\n")  # beyond the Raman axis
    with unit_of_work(world.db) as session, pytest.raises(InvalidData) as caught:
        service.import_library(session, actor=world.actor("lab@a"), name="Diluents",
                               files=files + [outside], technique=Technique.RAMAN,
                               identifiers=ids)
    assert any(e.field == "nir.csv" and "cannot be searched" in e.reason
               for e in caught.value.errors)
    messy = _msp("Cocaine HCl", "InChIKey=ZPUCINDJVBIVPJ-LJISPDSOSA-N", [(82, 999), (182, 600),
                                                                       (303, 200)])
    messy = messy.replace("Num Peaks", "CAS#: 50-36-2; 53-21-4 (hydrochloride)\nNum Peaks")
    with unit_of_work(world.db) as session:
        service.import_library(session, actor=world.actor("lab@a"), name="Drugs (EI)",
                               files=[("coke.msp", messy.encode())])
        entry = session.scalar(select(LibrarySpectrum))
        assert entry is not None and entry.inchikey == "ZPUCINDJVBIVPJ-LJISPDSOSA-N"
        assert entry.cas is None and "CAS 50-36-2; 53-21-4" in entry.file_metadata[
            "ignored identifiers"]
        # The same spectrum under another name is the same entry.
        again = service.import_library(session, actor=world.actor("lab@a"), name="Drugs (EI)",
                                       files=[("copy.msp", messy.replace(
                                           "Cocaine HCl", "Coke").encode())])
        assert again.added == 0 and again.already_present == 1
    with unit_of_work(world.db) as session:
        out = service.identify(session, actor=world.actor("lab@a"), registry=REGISTRY,
                               data=messy.encode(), filename="q.msp")
    assert out.controlled and out.candidates[0].control.controlled  # type: ignore[union-attr]


def test_salt_names_and_ties_between_substances(world):
    peaks = [(42, 80), (105, 120), (146, 210), (189, 120), (245, 999), (336, 21)]
    salt = _msp("Cocaine hydrochloride", "", [(82, 999), (182, 600), (303, 200)]).replace(
        "InChIKey: \n", "")
    twin = _msp("Sugar standard", "", peaks).replace("InChIKey: \n", "")
    with unit_of_work(world.db) as session:
        service.import_library(session, actor=world.actor("lab@a"), name="Drugs (EI)",
                               files=[("a.msp", (FENTANYL + salt).encode())])
    with unit_of_work(world.db) as session:
        out = service.identify(session, actor=world.actor("lab@a"), registry=REGISTRY,
                               data=salt.encode(), filename="s.msp", top=1)
    assert out.candidates[0].control is not None and out.candidates[0].control.controlled
    # A non-controlled spectrum identical to fentanyl's: with only one hit shown, the
    # confidence still sees the tie, and the finding is controlled whichever ranks first.
    with unit_of_work(world.db) as session:
        service.import_library(session, actor=world.actor("lab@a"), name="Drugs (EI)",
                               files=[("t.msp", twin.encode())])
    with unit_of_work(world.db) as session:
        out = service.identify(session, actor=world.actor("lab@a"), registry=REGISTRY,
                               data=twin.encode(), filename="q.msp", top=1)
    assert out.candidates[0].name == "Sugar standard" and len(out.candidates) == 1
    assert out.confidence.value == "medium" and "Fentanyl" in out.confidence_reason
    assert out.controlled
    files, ids = _raman_files()
    with unit_of_work(world.db) as session, pytest.raises(InvalidData) as caught:
        service.import_library(session, actor=world.actor("lab@a"), name="Multi",
                               files=[("two.msp", (FENTANYL + CAFFEINE).encode())],
                               identifiers={"two.msp": service.Identifiers(name="Fentanyl")})
    assert "holds 2 spectra" in caught.value.errors[0].reason
