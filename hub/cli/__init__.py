"""The ``custhub`` command line. Errors become one line on stderr and a non-zero exit."""

from __future__ import annotations

import logging
import os
import sys

import click
import typer

from hub.cli import (
    connectors_cmd,
    identity_cmd,
    plugins_cmd,
    profiles_cmd,
    quarantine_cmd,
    run_cmd,
    schedule_cmd,
    serve_cmd,
    setup_cmd,
    sync_cmd,
)
from hub.cli.common import ConfigOption, err_console
from hub.errors import CusthubError
from hub.privacy.logfilter import install_log_filter, install_record_scrubber

try:  # typer >= 0.29 vendors click: its usage errors do not derive from click's
    from typer._click.exceptions import ClickException as TyperClickException
except ImportError:  # pragma: no cover - older typer uses click's own
    TyperClickException = click.ClickException

app = typer.Typer(name="custhub", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False,  # tracebacks with locals could print customer data
                  help="custhub: customer records from every channel into one clean store.")


@app.callback()
def _root(ctx: typer.Context, config: ConfigOption = None,
          verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details.")) -> None:
    ctx.obj = {"config": config}
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    install_log_filter()  # the last line of defence: phones, e-mails and ID numbers masked in every log line
    install_record_scrubber()


setup_cmd.register(app)
run_cmd.register(app)
plugins_cmd.register(app)
sync_cmd.register(app)
schedule_cmd.register(app)
serve_cmd.register(app)
app.add_typer(quarantine_cmd.app, name="quarantine")
identity_cmd.register(app)
profiles_cmd.register(app)
app.add_typer(connectors_cmd.app, name="connectors")

from hub.cli import audit_cmd, keys_cmd, privacy_cmd  # noqa: E402  (privacy command groups)

app.add_typer(keys_cmd.app, name="keys")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(privacy_cmd.app, name="privacy")

from hub.cli import quality_cmd, segments_cmd  # noqa: E402  (quality and segments)

quality_cmd.register(app)
app.add_typer(segments_cmd.app, name="segments")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    if any("\x00" in arg for arg in args):  # an exec'd argv cannot hold NUL; PostgreSQL text cannot either
        err_console.print("[red]error:[/red] an argument contains a NUL character (remove it)", highlight=False)
        sys.exit(2)
    try:
        code = app(args=argv, prog_name="custhub", standalone_mode=False)
    except (click.ClickException, TyperClickException) as exc:  # typer >= 0.29 has its own click exceptions
        exc.show()
        sys.exit(exc.exit_code)
    except CusthubError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, markup=True, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:  # a bug: one line, no traceback (it may hold customer data)
        if os.environ.get("CUSTHUB_DEBUG"):
            raise
        err_console.print(f"[red]error:[/red] internal error ({type(exc).__name__}); "
                          "set CUSTHUB_DEBUG=1 to see the traceback", highlight=False)
        sys.exit(70)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main"]
