"""Exchange pages: composing with errors shown on the form, the recipient's inbox, reading
(audited), acknowledging and replying, attachments with their codes and an entity imported
into the recipient's file, a forward refused under H2 on the page, the permission asked,
granted and the forward then sent; and in a real Chromium two agencies' users send, receive
and answer a message through the forms."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from interdict.audit.models import AuditEvent
from interdict.auth import service as auth
from interdict.auth.roles import Role
from interdict.auth.schemas import AgencyCreate, AgencyKind, UserCreate
from interdict.db.session import unit_of_work
from interdict.exchange.models import Message
from interdict.reference.registry import Registry
from interdict.seizures import service as seizures
from tests.conftest import PASSWORD, login
from tests.seizures.test_service import GOOD

SUBJECT = "Container MSCU 123456-7 via Antwerp"


@pytest.fixture
def three(world):
    """The two agencies and a third, AG-C, with a liaison officer: somewhere to forward to."""
    with unit_of_work(world.db) as session:
        agency = auth.create_agency(session, data=AgencyCreate(
            code="AG-C", name="Agency C port police", country="DE", kind=AgencyKind.police))
        world.users["liaison@c"] = auth.create_user(session, agency=agency, data=UserCreate(
            username="liaison@c", full_name="Liaison C", password=PASSWORD,
            roles=[Role.liaison]))
    return world


def _form(csrf: str, **over: str) -> dict[str, str]:
    data = {"csrf_token": csrf, "to": "AG-B", "subject": SUBJECT,
            "body": "Please check your files for the consignee.", "priority": "high",
            "requested_action": "check your files", "legal_basis": "Art. 39 CISA",
            "case_reference": "NL-2026-77", "handling": "H2", "grading_scheme": "4x4",
            "grading_source": "B", "grading_information": "2",
            "att0_type": "note", "att0_ref": "Boat at pier 9", "att0_handling": "H1",
            "att1_type": "", "att1_ref": "", "att1_handling": "",
            "att2_type": "", "att2_ref": "", "att2_handling": ""}
    data.update(over)
    return data


def _messages(db) -> int:
    with unit_of_work(db, readonly=True) as s:
        return int(s.scalar(select(func.count()).select_from(Message)) or 0)


def _entity(client, world) -> int:
    """An entity in agency A's file, to attach."""
    ha = world.headers("analyst@a")
    data = (b'{"id": "p1", "schema": "Person", "properties": {"name": ["Jan Visser"], '
            b'"phone": ["+31612345678"]}}\n')
    r = client.post("/api/v1/network/import", headers=ha, data={
        "kind": "ftm", "originator": "AG-A", "source_grade": "B", "information_grade": "2",
        "handling": "H1"}, files={"file": ("p.jsonl", data)})
    assert r.status_code == 200, r.text
    return int(client.get("/api/v1/network/entities?q=Visser", headers=ha).json()[0]["id"])


def _seizure(world) -> int:
    """A seizure of agency A's, to attach."""
    with unit_of_work(world.db) as session:
        actor = world.actor("analyst@a")
        seizures.import_file(session, actor=actor, registry=Registry(), data=GOOD,
                             filename="seizures.csv")
        return int(seizures.search(session, actor=actor, q="NL-24-001")[0]["id"])


def test_compose_read_acknowledge_reply_and_forward_with_permission(client, three, db):
    entity_id, seizure_id = _entity(client, three), _seizure(three)
    csrf = login(client, "analyst@a")
    assert client.get("/exchange/compose").status_code == 200
    # Errors are shown on the form, which keeps what was typed; nothing is sent.
    bad = client.post("/exchange/compose", data=_form(csrf, to="AG-Z", subject=""))
    assert bad.status_code == 422 and 'id="form-errors"' in bad.text
    assert "Subject: required" in bad.text and 'class="field-error">required' in bad.text
    assert 'value="AG-Z"' in bad.text and "Please check your files" in bad.text
    bad = client.post("/exchange/compose", data=_form(csrf, to="AG-Z; ag-b"))
    assert bad.status_code == 422 and "To: no agency &#39;AG-Z&#39;" in bad.text
    assert 'value="AG-Z; ag-b"' in bad.text and f'value="{SUBJECT}"' in bad.text
    bad = client.post("/exchange/compose", data=_form(csrf, att1_type="network.entity",
                                                      att1_ref="lots"))
    assert bad.status_code == 422 and "Attachment 2: must be the record&#39;s number" in bad.text
    assert _messages(db) == 0
    assert 'id="no-messages"' in client.get("/exchange/outbox").text
    # Sent: the message page, with its code in the banner.
    r = client.post("/exchange/compose", data=_form(csrf, att1_type="network.entity",
                                                    att1_ref=str(entity_id),
                                                    att2_type="seizures.seizure",
                                                    att2_ref=str(seizure_id),
                                                    att2_handling="H0"),
                    follow_redirects=True)
    assert r.status_code == 200 and f">{SUBJECT}</h1>" in r.text and "Sent to AG-B" in r.text
    message_url = str(r.url).split("?")[0]
    assert 'id="no-onward"' in r.text and 'id="acknowledge"' not in r.text  # the sender
    assert 'id="case-reference"' in r.text and ">NL-2026-77</a>" in r.text
    outbox = client.get("/exchange/outbox").text
    assert SUBJECT in outbox and "AG-B <small>unacknowledged</small>" in outbox

    # B: the inbox shows it unacknowledged; opening it is audited.
    csrf_b = login(client, "analyst@b")
    inbox = client.get("/exchange")
    assert inbox.status_code == 200 and SUBJECT in inbox.text
    assert 'class="unacknowledged"' in inbox.text and 'class="badge count"' in inbox.text
    page = client.get(message_url)
    assert page.status_code == 200 and "Please check your files for the consignee." in page.text
    banner = page.text.split('id="handling-banner"')[1].split("</div>")[0]
    assert "Handling code H2</span> no onward dissemination" in banner
    assert "No onward dissemination without the originator's permission (AG-A)" in page.text
    assert "Boat at pier 9" in page.text and "Not for use in judicial proceedings" in page.text
    assert "Jan Visser" in page.text and "+31612345678" in page.text and "Person" in page.text
    assert "Seizure NL-24-001" in page.text and "<dt>Substances</dt>" in page.text
    assert "Art. 39 CISA" in page.text and "check your files" in page.text
    with unit_of_work(db, readonly=True) as s:
        reads = list(s.scalars(select(AuditEvent.justification).where(
            AuditEvent.action == "record.viewed",
            AuditEvent.resource_type == "exchange.message")))
    assert reads and set(reads) == {"opened in the web UI"}
    # The attached entity goes into B's file with A's provenance.
    attachment = re.search(r'/exchange/attachments/(\d+)/import', page.text)
    assert attachment
    msg_id = message_url.rsplit("/", 1)[1]
    r = client.post(f"/exchange/attachments/{attachment.group(1)}/import",
                    data={"csrf_token": csrf_b, "message_id": msg_id, "justification": ""})
    assert r.status_code == 422 and 'id="import-errors"' in r.text
    r = client.post(f"/exchange/attachments/{attachment.group(1)}/import",
                    data={"csrf_token": csrf_b, "message_id": msg_id,
                          "justification": "joint case"}, follow_redirects=True)
    assert r.status_code == 200 and "Imported: 1 entit" in r.text
    # Acknowledged: the button goes, the recipient line says who and when.
    r = client.post(f"{message_url}/acknowledge", data={"csrf_token": csrf_b},
                    follow_redirects=True)
    assert r.status_code == 200 and "Receipt acknowledged" in r.text
    assert 'id="acknowledge"' not in r.text and "acknowledged" in r.text
    assert "by analyst@b" in r.text
    r = client.post(f"{message_url}/reply", data={"csrf_token": csrf_b, "to": "AG-A",
                                                  "body": "Nothing on file.",
                                                  "handling": "H2"}, follow_redirects=True)
    assert r.status_code == 200 and f"Re: {SUBJECT}" in r.text and "Reply sent to AG-A" in r.text
    # A forward to a third agency is refused on the page, naming the code and the agency.
    r = client.post(f"{message_url}/forward", data={"csrf_token": csrf_b, "to": "AG-C",
                                                    "note": "for your port"})
    assert r.status_code == 403 and 'id="forward-errors"' in r.text
    assert "forward refused: H2: may not be passed to AG-C" in r.text
    assert 'id="ask-permission"' in r.text and "the message (H2)" in r.text
    assert ">for your port</textarea>" in r.text  # the note typed is kept
    # One request per restricted item: the message (H2) and the entity (H2, as the message).
    asks = r.text.split('id="ask-permission"')[1]
    assert "attachment 2 “Jan Visser” (H2)" in asks and "Boat at pier 9" not in asks
    assert "NL-24-001" not in asks  # H0 and H1 items travel on without asking
    items = re.findall(r'name="attachment_id" value="(\d*)"', asks)
    assert sorted(items) == sorted(["", attachment.group(1)])
    for item in items:
        r = client.post(f"{message_url}/permissions",
                        data={"csrf_token": csrf_b, "to": "AG-C", "attachment_id": item,
                              "reason": "C runs the port"}, follow_redirects=True)
        assert r.status_code == 200 and "asked of AG-A" in r.text
        assert 'id="ask-permission"' in r.text and "pending" in r.text
    made = client.get("/exchange/permissions").text.split('id="made"')[1]
    assert made.count("C runs the port") == 2 and "pending" in made
    r = client.post(f"{message_url}/permissions", data={"csrf_token": csrf_b, "to": "AG-C",
                                                        "reason": ""})
    assert r.status_code == 422 and "Reason: required" in r.text
    again = client.post(f"{message_url}/forward", data={"csrf_token": csrf_b, "to": "AG-C"})
    assert again.status_code == 403
    assert again.text.split('id="ask-permission"')[1].count(">pending<") == 2

    # A: the request is on its permissions page; A grants it.
    csrf = login(client, "analyst@a")
    perms = client.get("/exchange/permissions")
    received = perms.text.split('id="received"')[1].split('id="made"')[0]
    assert "C runs the port" in received and 'value="grant"' in received
    request_ids = re.findall(r'/exchange/permissions/(\d+)/decision', received)
    assert len(request_ids) == 2
    for request_id in request_ids:
        r = client.post(f"/exchange/permissions/{request_id}/decision",
                        data={"csrf_token": csrf, "decision": "grant", "note": "go ahead"},
                        follow_redirects=True)
        assert r.status_code == 200 and "granted: AG-B may pass it to AG-C" in r.text
    r = client.post(f"/exchange/permissions/{request_ids[0]}/decision",
                    data={"csrf_token": csrf, "decision": "refuse"})
    assert r.status_code == 422 and "already decided" in r.text
    # A sees B's reply in its inbox and the thread.
    assert f"Re: {SUBJECT}" in client.get("/exchange").text
    thread_link = re.search(r'href="(/exchange/threads/\d+)"', client.get(message_url).text)
    assert thread_link
    thread = client.get(thread_link.group(1)).text
    assert thread.index(f">{SUBJECT}</a>") < thread.index(f">Re: {SUBJECT}</a>")
    assert 'id="case-reference">NL-2026-77<' in thread  # the reply stays in the case

    # B: the forward goes through now; C receives it from B with A's codes.
    csrf_b = login(client, "analyst@b")
    r = client.post(f"{message_url}/forward", data={"csrf_token": csrf_b, "to": "ag-c",
                                                    "note": "for your port"},
                    follow_redirects=True)
    assert r.status_code == 200 and "Forwarded to AG-C" in r.text and f"Fwd: {SUBJECT}" in r.text
    login(client, "liaison@c")
    inbox = client.get("/exchange").text
    assert f"Fwd: {SUBJECT}" in inbox
    fwd = client.get(inbox.split(f">Fwd: {SUBJECT}<")[0].rsplit('href="', 1)[1].split('"')[0])
    assert fwd.status_code == 200 and "Originator <b>AG-A</b>" in fwd.text
    # C is party to the forward, not to A's original message.
    assert client.get(message_url).status_code == 404


def test_keys_thread_scoping_and_roles(client, world):
    csrf = login(client, "analyst@a")
    r = client.get("/exchange/keys")
    assert r.status_code == 200 and "No keys yet" in r.text
    client.post("/exchange/compose", data=_form(csrf, handling="H0", att0_type="",
                                                att0_ref=""))
    keys = client.get("/exchange/keys").text
    assert "AG-A:" in keys and "active" in keys and "signing key sealed" in keys
    assert client.get("/exchange/keys?agency=AG-B").status_code == 200
    r = client.get("/exchange/keys?agency=NOPE")
    assert r.status_code == 404 and "no agency with code" in r.text
    assert client.get("/exchange/threads/999").status_code == 404
    assert client.get("/exchange/messages/999").status_code == 404
    # Navigation: the Exchange entry for users who may read it, none for an operator.
    assert 'href="/exchange"' in client.get("/exchange/outbox").text
    login(client, "operator@a")
    assert client.get("/exchange").status_code == 403
    assert 'href="/exchange"' not in client.get("/profile").text


def _login(page, url, username):
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".topbar .user")).to_have_text(username)


def test_two_agencies_send_receive_and_answer_in_a_browser(live_server, page, world,
                                                           tmp_path):
    url = live_server.url
    _login(page, url, "analyst@a")
    page.click("nav.sidebar >> text=Exchange")
    expect(page.locator("#inbox")).to_contain_text("No messages received yet.")
    page.click("#compose-link")
    page.fill("input[name=to]", "AG-B")
    page.fill("input[name=subject]", SUBJECT)
    page.fill("textarea[name=body]", "Please check your files for the consignee.")
    page.select_option("select[name=priority]", "high")
    page.fill("input[name=requested_action]", "check your files")
    page.fill("input[name=legal_basis]", "Art. 39 CISA")
    page.select_option("select[name=handling]", "H1")
    page.select_option("select[name=grading_source]", "B")
    page.select_option("select[name=grading_information]", "2")
    page.select_option("select[name=att0_type]", "note")
    page.fill("textarea[name=att0_ref]", "Boat at pier 9")
    page.screenshot(path=str(tmp_path / "compose.png"), full_page=True)
    page.click("#send")
    expect(page.locator("#subject")).to_have_text(SUBJECT)
    expect(page.locator(".flash")).to_contain_text("Sent to AG-B")
    expect(page.locator("#court-use")).to_have_text("Not for use in judicial proceedings.")
    page.click("text=Log out")

    _login(page, url, "analyst@b")
    page.click("nav.sidebar >> text=Exchange")
    row = page.locator("#inbox tr.unacknowledged")
    expect(row).to_contain_text(SUBJECT)
    expect(row).to_contain_text("AG-A")
    page.screenshot(path=str(tmp_path / "inbox.png"), full_page=True)
    row.locator("a").click()
    expect(page.locator("#body")).to_have_text("Please check your files for the consignee.")
    expect(page.locator("#handling-banner")).to_contain_text("H1")
    expect(page.locator("[data-attachment]")).to_contain_text("Boat at pier 9")
    page.screenshot(path=str(tmp_path / "message.png"), full_page=True)
    page.click("#acknowledge")
    expect(page.locator(".flash")).to_have_text("Receipt acknowledged")
    expect(page.locator("#recipients")).to_contain_text("acknowledged")
    expect(page.locator("#recipients")).to_contain_text("by analyst@b")
    expect(page.locator("#acknowledge")).to_have_count(0)
    page.fill("#reply-form textarea[name=body]", "Nothing on file; the consignee is new.")
    page.click("#send-reply")
    expect(page.locator("#subject")).to_have_text(f"Re: {SUBJECT}")
    expect(page.locator(".flash")).to_contain_text("Reply sent to AG-A")
    page.click("text=Log out")

    _login(page, url, "analyst@a")
    page.click("nav.sidebar >> text=Exchange")
    expect(page.locator("#inbox")).to_contain_text(f"Re: {SUBJECT}")
    page.click(f"#inbox >> text=Re: {SUBJECT}")
    expect(page.locator("#body")).to_have_text("Nothing on file; the consignee is new.")
    page.click("#thread-link")
    expect(page.locator("#thread tbody tr")).to_have_count(2)
    expect(page.locator("#thread tbody tr").nth(0)).to_contain_text(SUBJECT)
    expect(page.locator("#thread tbody tr").nth(0)).to_contain_text("AG-B ✓ acknowledged")
    expect(page.locator("#thread tbody tr").nth(1)).to_contain_text(f"Re: {SUBJECT}")
    page.screenshot(path=str(tmp_path / "thread.png"), full_page=True)
    page.click("text=Outbox")
    expect(page.locator("#outbox")).to_contain_text(SUBJECT)
    expect(page.locator("#outbox")).to_contain_text("AG-B ✓ acknowledged")
    page.screenshot(path=str(tmp_path / "outbox.png"), full_page=True)

