"""The ``interdict`` command. Errors map to exit codes here, once, for every command."""

from __future__ import annotations

import sys
from typing import Any

import click
from pydantic import ValidationError

import interdict.domains  # noqa: F401  (registers domain reference kinds, pages, steps)
from interdict import __version__
from interdict.cli import commands
from interdict.cli.context import CliContext, err
from interdict.config import get_settings
from interdict.errors import InterdictError


class InterdictGroup(click.Group):
    """Turns platform errors into a clear message on stderr and the error's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InterdictError as exc:
            err(f"error: {exc.detail}")
            for e in exc.errors:
                err(f"  {e.field}: {e.reason}")
            sys.exit(exc.exit_code)
        except ValidationError as exc:
            err("error: invalid input")
            for detail in exc.errors():
                err(f"  {'.'.join(str(p) for p in detail['loc'])}: {detail['msg']}")
            sys.exit(2)


@click.group(cls=InterdictGroup)
@click.version_option(__version__, prog_name="interdict")
@click.option("--agency", envvar="INTERDICT_AGENCY", default=None, metavar="CODE",
              help="Agency to act as (default: INTERDICT_AGENCY, or the only agency).")
@click.option("--json", "json_output", is_flag=True, help="Print machine-readable JSON.")
@click.pass_context
def cli(ctx: click.Context, agency: str | None, json_output: bool) -> None:
    """Interdict: intelligence platform for drug-enforcement agencies."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        err("error: invalid configuration")
        for detail in exc.errors():
            name = "_".join(str(p) for p in detail["loc"]).upper()
            err(f"  INTERDICT_{name}: {detail['msg']}" if name else f"  {detail['msg']}")
        sys.exit(78)
    settings.apply_password_cost()
    obj = CliContext(settings=settings, agency_code=agency or settings.agency,
                     json_output=json_output)
    ctx.obj = obj
    ctx.call_on_close(obj.close)


commands.register(cli)


def main() -> None:
    cli(prog_name="interdict")


if __name__ == "__main__":
    main()
