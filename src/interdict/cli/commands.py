"""Platform commands: serve, db, demo, agencies, users, tokens, audit, reference, alerts."""

from __future__ import annotations

import sys
from typing import Any

import click

from interdict.alerts import service as alerts
from interdict.alerts import webhooks
from interdict.alerts.schemas import AlertFilter
from interdict.audit import service as audit
from interdict.auth import service as auth
from interdict.auth.models import User
from interdict.auth.roles import Role
from interdict.auth.schemas import (
    AgencyCreate,
    AgencyKind,
    AgencyRead,
    TokenCreate,
    UserCreate,
    UserRead,
)
from interdict.cli.context import CliContext, err, pass_ctx
from interdict.config import Mode
from interdict.db import migrate
from interdict.demo import scenario
from interdict.errors import IntegrityFailure, NotFound
from interdict.reference.registry import Registry

# --- serve ----------------------------------------------------------------------------------

@click.command()
@click.option("--host", default=None, help="Bind address (default INTERDICT_HOST, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default INTERDICT_PORT, 8000).")
@click.option("--no-demo", is_flag=True, help="Do not load the demo into an empty database.")
@pass_ctx
def serve(obj: CliContext, host: str | None, port: int | None, no_demo: bool) -> None:
    """Migrate, load the demo on first start, and serve the web UI and API."""
    import uvicorn

    from interdict.api.app import create_app

    settings = obj.settings
    migrate.upgrade(obj.db)
    with obj.session() as session:
        first = not scenario.is_loaded(session)
    if first and settings.demo_on_first_start and not no_demo \
            and settings.mode != Mode.production:
        with obj.session() as session:
            result = scenario.load(session, settings=settings)
        _print_logins(result)
    else:
        with obj.session() as session:
            auth.ensure_default_agency(session)
        if first:
            click.echo("No users yet: create one with `interdict users create NAME --full-name "
                       "... --role admin`.")
    host = host or settings.host
    port = port or settings.port
    click.echo(f"Interdict {settings.mode.value} mode, database "
               f"{obj.db.engine.url.render_as_string(hide_password=True)}")
    click.echo(f"Web UI and API on http://{host}:{port}  (API docs: /api/docs)")
    # Live streams (SSE) never end on their own: give them a few seconds, then stop.
    # Behind a TLS reverse proxy, trust its X-Forwarded-For so that login throttling and the
    # audit log see the real client address (INTERDICT_FORWARDED_ALLOW_IPS).
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning",
                proxy_headers=bool(settings.forwarded_allow_ips),
                forwarded_allow_ips=settings.forwarded_allow_ips or None,
                timeout_graceful_shutdown=5)


def _print_logins(result: scenario.DemoResult) -> None:
    click.echo("Demo scenario loaded: " + ", ".join(f"{v} {k}" for k, v in
                                                   result.summary.items()))
    click.echo("Demo logins (password for all: " + scenario.DEMO_PASSWORD + "):")
    for username, _pw, agency, roles in result.logins:
        click.echo(f"  {username:<26} {agency:<16} {roles}")


# --- db -------------------------------------------------------------------------------------

@click.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_ctx
def db_upgrade(obj: CliContext, revision: str) -> None:
    """Apply migrations; a new database also gets its default agency."""
    migrate.upgrade(obj.db, revision)
    with obj.session() as session:
        agency = auth.ensure_default_agency(session)
    obj.emit({"revision": migrate.current_revision(obj.db), "default_agency": agency.code},
             f"database at revision {migrate.current_revision(obj.db)}")


@db.command("downgrade")
@click.argument("revision")
@pass_ctx
def db_downgrade(obj: CliContext, revision: str) -> None:
    """Revert migrations down to REVISION (use 'base' to drop everything)."""
    migrate.downgrade(obj.db, revision)
    obj.emit({"revision": migrate.current_revision(obj.db)},
             f"database at revision {migrate.current_revision(obj.db)}")


@db.command("current")
@pass_ctx
def db_current(obj: CliContext) -> None:
    """Show the applied and the latest revision."""
    data = {"current": migrate.current_revision(obj.db), "head": migrate.head_revision(obj.db)}
    obj.emit(data, f"current {data['current']}, head {data['head']}")


# --- demo -----------------------------------------------------------------------------------

@click.group()
def demo() -> None:
    """The demo scenario."""


@demo.command("load")
@pass_ctx
def demo_load(obj: CliContext) -> None:
    """Load the seeded multi-agency demo into a new (empty) database."""
    migrate.upgrade(obj.db)
    with obj.session() as session:
        result = scenario.load(session, settings=obj.settings)
    if obj.json_output:
        obj.emit({"summary": result.summary, "password": scenario.DEMO_PASSWORD,
                  "logins": [{"username": u, "agency": a, "roles": r}
                             for u, _p, a, r in result.logins]})
    else:
        _print_logins(result)


# --- agencies and users ---------------------------------------------------------------------

@click.group()
def agencies() -> None:
    """Agencies on this platform."""


@agencies.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--country", required=True, help="ISO 3166-1 alpha-2.")
@click.option("--kind", required=True, type=click.Choice([k.value for k in AgencyKind]))
@pass_ctx
def agencies_create(obj: CliContext, code: str, name: str, country: str, kind: str) -> None:
    """Create an agency."""
    with obj.session() as session:
        agency = auth.create_agency(session, data=AgencyCreate(
            code=code, name=name, country=country, kind=AgencyKind(kind)))
        data = AgencyRead.model_validate(agency).model_dump()
    obj.emit(data, f"created agency {code}")


@agencies.command("list")
@pass_ctx
def agencies_list(obj: CliContext) -> None:
    """List agencies."""
    with obj.session(readonly=True) as session:
        rows = [AgencyRead.model_validate(a).model_dump() for a in auth.list_agencies(session)]
    obj.emit(rows, "\n".join(f"{r['code']:<16} {r['country']} {r['kind']:<20} {r['name']}"
                             for r in rows))


@click.group()
def users() -> None:
    """Users of the acting agency."""


@users.command("create")
@click.argument("username")
@click.option("--full-name", required=True)
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]), help="Repeat for several roles.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="INTERDICT_NEW_USER_PASSWORD", help="Prompted when not given.")
@pass_ctx
def users_create(obj: CliContext, username: str, full_name: str, roles: tuple[str, ...],
                 password: str) -> None:
    """Create a user in the acting agency."""
    with obj.session() as session:
        actor = obj.system_actor(session)
        agency = auth.get_agency(session, code=actor.agency_code)
        user = auth.create_user(session, agency=agency, actor=actor, data=UserCreate(
            username=username, full_name=full_name, password=password,
            roles=[Role(r) for r in roles]))
        data = UserRead.model_validate(user).model_dump()
    obj.emit(data, f"created user {username} in {data['agency']['code']}")


@users.command("deactivate")
@click.argument("username")
@pass_ctx
def users_deactivate(obj: CliContext, username: str) -> None:
    """Deactivate a user (kept for the audit trail); ends their sessions and tokens' use."""
    _set_active(obj, username, active=False)


@users.command("activate")
@click.argument("username")
@pass_ctx
def users_activate(obj: CliContext, username: str) -> None:
    """Reactivate a deactivated user."""
    _set_active(obj, username, active=True)


def _set_active(obj: CliContext, username: str, *, active: bool) -> None:
    with obj.session() as session:
        auth.set_active(session, actor=obj.system_actor(session), username=username,
                        active=active)
    obj.emit({"username": username, "active": active},
             f"{'activated' if active else 'deactivated'} {username}")


@users.command("set-password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="INTERDICT_NEW_USER_PASSWORD", help="Prompted when not given.")
@pass_ctx
def users_set_password(obj: CliContext, username: str, password: str) -> None:
    """Reset a user's password; their browser sessions end."""
    with obj.session() as session:
        auth.set_password(session, actor=obj.system_actor(session), username=username,
                          password=password)
    obj.emit({"username": username, "password": "reset"}, f"password reset for {username}")


@users.command("list")
@pass_ctx
def users_list(obj: CliContext) -> None:
    """List the acting agency's users."""
    with obj.session(readonly=True) as session:
        actor = obj.system_actor(session)
        rows = [UserRead.model_validate(u).model_dump() for u in
                auth.list_users(session, actor=actor)]
    obj.emit(rows, "\n".join(f"{r['username']:<28} {','.join(r['roles'])}" for r in rows))


# --- tokens ---------------------------------------------------------------------------------

@click.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.option("--user", "username", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="The one role the token grants (the user must hold it).")
@click.option("--name", default="cli", show_default=True)
@click.option("--expires-in-days", type=int, default=None)
@pass_ctx
def tokens_create(obj: CliContext, username: str, role: str, name: str,
                  expires_in_days: int | None) -> None:
    """Issue an API token for a user; the secret is printed once."""
    from sqlalchemy import select

    with obj.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"no user {username!r}")
        actor = auth.system_actor(user.agency)
        secret, token = auth.create_token(session, actor=actor, user=user, data=TokenCreate(
            name=name, role=Role(role), expires_in_days=expires_in_days))
        data = {"id": token.id, "token": secret, "user": username, "role": role}
    obj.emit(data, secret)


@tokens.command("revoke")
@click.argument("token_id", type=int)
@pass_ctx
def tokens_revoke(obj: CliContext, token_id: int) -> None:
    """Revoke a token by id."""
    from interdict.auth.models import ApiToken

    with obj.session() as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise NotFound(f"no token {token_id}")
        auth.revoke_token(session, actor=auth.system_actor(token.user.agency),
                          token_id=token_id)
    obj.emit({"id": token_id, "revoked": True}, f"revoked token {token_id}")


# --- audit ----------------------------------------------------------------------------------

@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit log."""


@audit_group.command("verify")
@pass_ctx
def audit_verify(obj: CliContext) -> None:
    """Check every row of the chain; exit 10 on the first altered, deleted or moved row."""
    with obj.session(readonly=True) as session:
        total = audit.count(session)
        show = not obj.json_output and total > 20000
        with click.progressbar(length=total, label="verifying", file=sys.stderr,
                               hidden=not show) as bar:
            result = audit.verify(session, progress=bar.update)
    if obj.json_output:
        obj.emit(result.as_dict())
    elif result.ok:
        click.echo(f"audit chain intact: {result.checked} events")
    else:
        err(f"audit chain BROKEN at seq {result.first_bad_seq}: {result.problem}")
    if not result.ok:
        sys.exit(IntegrityFailure.exit_code)


@audit_group.command("list")
@click.option("--limit", default=20, show_default=True)
@pass_ctx
def audit_list(obj: CliContext, limit: int) -> None:
    """Show the acting agency's latest audit events."""
    with obj.session(readonly=True) as session:
        actor = obj.system_actor(session)
        rows, _ = audit.list_events(session, agency=actor.agency_code, limit=limit)
        data: list[dict[str, Any]] = [
            {"seq": r.seq, "at": r.occurred_at.isoformat(), "actor": r.actor,
             "action": r.action, "resource": f"{r.resource_type} {r.resource_id}".strip()}
            for r in rows]
    obj.emit(data, "\n".join(f"{d['seq']:>6} {d['at'][:19]} {d['actor']:<24} "
                             f"{d['action']:<18} {d['resource']}" for d in data))


# --- reference ------------------------------------------------------------------------------

@click.group()
def reference() -> None:
    """Reference data files."""


@reference.command("check")
@pass_ctx
def reference_check(obj: CliContext) -> None:
    """Validate every reference file (shipped and INTERDICT_REFERENCE_PATH)."""
    good, bad = Registry(override=obj.settings.reference_path).check_all()
    data = {"ok": not bad, "files": [g.summary() for g in good],
            "errors": [{"name": n, "detail": e.detail,
                        "errors": [x.as_dict() for x in e.errors]} for n, e in bad]}
    if obj.json_output:
        obj.emit(data)
    else:
        for g in good:
            mark = " (override)" if g.overridden else ""
            click.echo(f"ok   {g.name:<36} v{g.meta.version:<10} {g.checksum[:12]}{mark}")
        for name, exc in bad:
            err(f"FAIL {name}: {exc.detail}")
    if bad:
        sys.exit(2)


# --- alerts and webhooks --------------------------------------------------------------------

@click.group("alerts")
def alerts_group() -> None:
    """The alert queue."""


@alerts_group.command("list")
@click.option("--status", default=None)
@click.option("--limit", default=20, show_default=True)
@pass_ctx
def alerts_list(obj: CliContext, status: str | None, limit: int) -> None:
    """List the acting agency's alerts, newest first."""
    with obj.session(readonly=True) as session:
        actor = obj.system_actor(session)
        items, total = alerts.list_alerts(session, actor=actor,
                                          filters=AlertFilter.model_validate({"status": status}),
                                          limit=limit)
    data = {"total": total, "items": [a.model_dump(mode="json") for a in items]}
    obj.emit(data, "\n".join(f"#{a.id:<5} {a.severity:<8} {a.status:<9} {a.source:<11} {a.title}"
                             for a in items))


@click.group("webhooks")
def webhooks_group() -> None:
    """Webhook deliveries."""


@webhooks_group.command("deliver")
@pass_ctx
def webhooks_deliver(obj: CliContext) -> None:
    """Send every due webhook delivery once (the server does this continuously)."""
    import httpx

    s = obj.settings
    with httpx.Client(timeout=s.webhook_timeout_seconds) as client:
        report = webhooks.deliver_due(obj.db, client=client, max_attempts=s.webhook_max_attempts,
                                      backoff_seconds=s.webhook_backoff_seconds, batch=1000)
    obj.emit(report.__dict__, f"delivered {report.delivered}, retrying {report.failed}, "
                              f"dead {report.dead}")


@webhooks_group.command("retry-dead")
@pass_ctx
def webhooks_retry_dead(obj: CliContext) -> None:
    """Queue the acting agency's dead deliveries again (after a subscriber's long outage)."""
    with obj.session() as session:
        actor = obj.system_actor(session)
        n = webhooks.retry_dead(session, agency_id=actor.agency_id)
    obj.emit({"requeued": n}, f"requeued {n} dead deliveries")


def register(cli: click.Group) -> None:
    from interdict.exchange.cli import exchange
    from interdict.network.cli import network
    from interdict.network.cli_records import add_commands
    from interdict.precursors.cli import precursors
    from interdict.seizures.cli import seizures
    from interdict.spectra.cli import spectra
    from interdict.substances.cli import substances
    from interdict.targeting.cli import targeting

    add_commands(network)
    cli.add_command(substances)
    cli.add_command(spectra)
    cli.add_command(network)
    cli.add_command(precursors)
    cli.add_command(targeting)
    cli.add_command(seizures)
    cli.add_command(exchange)
    for command in (serve, db, demo, agencies, users, tokens, audit_group, reference,
                    alerts_group, webhooks_group):
        cli.add_command(command)
