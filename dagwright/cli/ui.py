"""``dagwright ui``: the local web UI over a store (runs, graphs, logs, artifacts, lineage,
schedules). Starlette and uvicorn are imported only when the command runs.

Exit codes: 0 when stopped by Ctrl-C or SIGTERM, 2 for bad input (no run database at
``--root``, a port in use, the ``ui`` extra missing).
"""

from __future__ import annotations

import errno
import signal
from pathlib import Path

import click

from dagwright.cli.common import existing_store, reported
from dagwright.cli.options import ROOT
from dagwright.errors import ValidationError

_EXTRA = "pip install 'dagwright[ui]'"


@click.command()
@ROOT
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8265,
    show_default=True,
    metavar="N",
    help="Port to listen on.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    metavar="ADDR",
    help="Address to listen on; any but loopback requires a token (printed in the URL).",
)
@click.option(
    "--token",
    default=None,
    envvar="DAGWRIGHT_UI_TOKEN",
    metavar="TOKEN",
    help="Token every request must carry (default: a new one when --host is not loopback; "
    "env DAGWRIGHT_UI_TOKEN).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the UI in a web browser.")
def ui(root: Path | None, port: int, host: str, token: str | None, open_browser: bool) -> None:
    """Serve a web UI of the store's runs, graphs, logs, artifacts, lineage and schedules.

    Prints the URL to open and serves until Ctrl-C. It listens on 127.0.0.1 unless --host
    says otherwise; another address requires a token, given as ?token= in the printed URL.
    """
    with reported():
        try:
            from dagwright.ui.server import listening, serve
        except ImportError as exc:
            raise ValidationError(
                f"the web UI needs the package '{exc.name}', which is not installed",
                field="extras",
                fix=_EXTRA,
            ) from None
        store = existing_store(root)
        store.database().close()  # one that is no database is refused here, not per request
        try:
            sock = listening(host, port)
        except OSError as exc:
            in_use = exc.errno == errno.EADDRINUSE
            raise ValidationError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc})",
                field="--port" if in_use else "--host",
                fix="pick a free port with --port N, or stop what uses this one"
                if in_use
                else "give an address of this machine, such as 127.0.0.1 or 0.0.0.0",
            ) from None
    # SIGTERM stops the server as Ctrl-C does
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        serve(store.root, host=host, port=port, open_browser=open_browser, token=token, sock=sock)
    except KeyboardInterrupt:
        pass
    click.echo("dagwright ui: stopped", err=True)
