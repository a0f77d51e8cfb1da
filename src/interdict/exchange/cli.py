"""``interdict exchange``: send messages, hit/no-hit from files, holdings, keys.

Every command acts for the chosen agency (``--agency`` or INTERDICT_AGENCY) and takes
``--json`` on the root command. Refused input exits with 2 and names every problem.
"""

from __future__ import annotations

from pathlib import Path

import click

from interdict.cli.context import CliContext, pass_ctx, refused
from interdict.errors import InvalidData
from interdict.exchange import service
from interdict.reference.registry import Registry

PATH = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("exchange")
def exchange() -> None:
    """Secure exchange: signed messages, incidents, hit/no-hit, keys."""


def _registry(obj: CliContext) -> Registry:
    return Registry(override=obj.settings.reference_path)


@exchange.command("send")
@click.option("--to", "to", required=True, help="Recipient agency codes, comma-separated.")
@click.option("--subject", required=True)
@click.option("--body-file", type=PATH, help="The message body from a text file.")
@click.option("--handling", default="H0", show_default=True,
              help="H0-H3 or TLP:RED / TLP:AMBER+STRICT / TLP:AMBER / TLP:GREEN / TLP:CLEAR.")
@click.option("--legal-basis", default="")
@click.option("--attach", multiple=True, metavar="TYPE:ID",
              help="Attach a record: network.entity:ID, seizures.seizure:ID, "
                   "targeting.consignment:ID (repeatable).")
@pass_ctx
def send(obj: CliContext, to: str, subject: str, body_file: Path | None, handling: str,
         legal_basis: str, attach: tuple[str, ...]) -> None:
    """Send a signed message as the agency."""
    attachments = []
    for spec in attach:
        kind, _, ref = spec.partition(":")
        attachments.append({"resource_type": kind, "resource_id": ref, "handling": handling})
    data = {"to": [c.strip() for c in to.split(",") if c.strip()], "subject": subject,
            "body": body_file.read_text() if body_file else "", "handling": handling,
            "legal_basis": legal_basis, "attachments": attachments}
    try:
        with obj.session() as session:
            sent = service.send(session, actor=obj.system_actor(session),
                                registry=_registry(obj), secret=obj.settings.secret_key,
                                data=data)
    except InvalidData as exc:
        refused(obj, exc)
        return
    obj.emit(sent, f"message {sent['id']} to {', '.join(r['agency'] for r in sent['to'])}, "
                   f"signed with {sent['key_id']}")


@exchange.command("inbox")
@click.option("--outbox", is_flag=True, help="Messages sent instead of received.")
@pass_ctx
def inbox(obj: CliContext, outbox: bool) -> None:
    """List the agency's messages, newest first."""
    with obj.session(readonly=True) as session:
        items = service.mailbox(session, actor=obj.system_actor(session),
                                box="outbox" if outbox else "inbox")
    lines = [f"{m['id']:6d}  {m['sent_at'][:16]}  {m['from']:>12} -> "
             f"{','.join(r['agency'] for r in m['to'])}  [{m['handling']}] {m['subject']}"
             for m in items] or ["(none)"]
    obj.emit(items, "\n".join(lines))


@exchange.command("holdings")
@click.argument("path", type=PATH)
@pass_ctx
def holdings(obj: CliContext, path: Path) -> None:
    """Publish the agency's hit/no-hit holdings (CSV: kind,value,reference,country)."""
    try:
        with obj.session() as session:
            out = service.register_holdings(session, actor=obj.system_actor(session),
                                            secret=obj.settings.secret_key,
                                            data=path.read_bytes(), filename=path.name)
    except InvalidData as exc:
        refused(obj, exc)
        return
    obj.emit(out, f"{out['identifiers']} identifiers published as {out['distinct']} tags")


@exchange.command("hit-query")
@click.argument("path", type=PATH)
@click.option("--justification", required=True, help="Why (recorded in the audit log).")
@pass_ctx
def hit_query(obj: CliContext, path: Path, justification: str) -> None:
    """Ask every partner about the identifiers of a file (CSV: kind,value,country)."""
    try:
        with obj.session() as session:
            out = service.hit_query(session, actor=obj.system_actor(session),
                                    secret=obj.settings.secret_key, data=path.read_bytes(),
                                    filename=path.name, justification=justification)
    except InvalidData as exc:
        refused(obj, exc)
        return
    lines = [f"{out['identifiers']} identifier(s) asked of {out['holders_asked']} "
             f"agenc(y/ies): {len(out['hits'])} hit(s)"]
    lines += [f"  row {h['row']}: hit at {h['holder']}, reference {h['reference']}"
              for h in out["hits"]]
    obj.emit(out, "\n".join(lines))


@exchange.group("keys")
def keys_group() -> None:
    """Signing keys: list with fingerprints, rotate, register a partner's."""


@keys_group.command("list")
@click.option("--of", "agency", default=None, help="A partner agency's code.")
@pass_ctx
def keys_list(obj: CliContext, agency: str | None) -> None:
    with obj.session(readonly=True) as session:
        items = service.agency_keys(session, actor=obj.system_actor(session), agency=agency)
    obj.emit(items, "\n".join(f"{k['key_id']}  {k['fingerprint']}  "
                              f"{'active' if k['active'] else 'retired'}"
                              f"{'' if k['local'] else ' (partner)'}" for k in items)
             or "(no keys yet: one is made when the agency first sends)")


@keys_group.command("rotate")
@pass_ctx
def keys_rotate(obj: CliContext) -> None:
    with obj.session() as session:
        out = service.rotate_key(session, actor=obj.system_actor(session),
                                 secret=obj.settings.secret_key)
    obj.emit(out, f"new key {out['key_id']}")


@keys_group.command("import-partner")
@click.argument("agency")
@click.argument("public_key")
@pass_ctx
def keys_import(obj: CliContext, agency: str, public_key: str) -> None:
    """Register AGENCY's PUBLIC_KEY (base64), after comparing its fingerprint."""
    try:
        with obj.session() as session:
            out = service.import_partner_key(session, actor=obj.system_actor(session),
                                             agency=agency, public_key=public_key)
    except InvalidData as exc:
        refused(obj, exc)
        return
    obj.emit(out, f"registered {out['key_id']}")
