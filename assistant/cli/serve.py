"""`yiju serve` (HTTP API + Gradio screens) and `yiju keys create|list|revoke` (API keys)."""

from __future__ import annotations

import faulthandler
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.common import console, fail, home

keys_app = typer.Typer(
    help="API keys for `yiju serve` (stored hashed in <home>/keys.sqlite or the configured database).",
    no_args_is_help=True,
)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Attach `serve` and the `keys` group to the main app."""
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")


def serve(
    host: Annotated[
        str, typer.Option(help="Interface to bind (keep 127.0.0.1 unless behind a proxy)")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="TCP port (0 = any free port; the real one is printed)")
    ] = 7860,
    config: Annotated[
        Path | None, typer.Option("--config", help="yiju.yaml (default: <home>/yiju.yaml)")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "warning",
) -> None:
    """Serve the REST API (/v1, docs at /docs) and the Gradio chat/knowledge/review screens (/)."""
    import uvicorn

    from assistant.api import create_app
    from assistant.config import load_config
    from assistant.errors import YijuError

    data_dir = home()
    try:
        cfg = load_config(config, data_dir)
        _private_upload_folder(data_dir)
        app = create_app(data_dir, cfg)
    except YijuError as exc:
        fail(str(exc))
        return
    except OSError as exc:
        fail(f"cannot open the data directory {data_dir}: {exc}")
        return
    # Bind before printing, so the URL shows the port really in use (port 0 = the OS picks one).
    try:
        sock = _bind(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc}")
        return
    bound = sock.getsockname()[1]
    url = f"http://{host}:{bound}/"
    console.print(f"yiju serving {data_dir}")
    console.print(f"  chat UI   {url}")
    console.print(f"  API docs  {url}docs")
    console.print(f"  URL: {url}", highlight=False)
    # uvicorn believes X-Forwarded-For from 127.0.0.1 by default, so anyone on this host could pick their
    # client address (rate limits, audit). Only the configured proxies are believed; none by default.
    trusted = cfg.server.trusted_proxies
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=bound,
            log_level=log_level,
            access_log=False,
            proxy_headers=bool(trusted),
            forwarded_allow_ips=",".join(trusted) if trusted else "",
        )
    )
    _stack_dump_on_sigusr1()
    server.run(sockets=[sock])


def _stack_dump_on_sigusr1() -> None:
    """`kill -USR1 <pid>` writes every thread's Python stack to stderr: how a stalled server is diagnosed
    without stopping it (the test harness does it when a browser wait times out)."""
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)


def _private_upload_folder(data_dir: Path) -> None:
    """Point Gradio's upload folder into the data directory (owner-only), unless GRADIO_TEMP_DIR is set.

    Gradio's default, <tmp>/gradio, is shared by every Gradio app on the machine; the screens only read
    files from the upload folder (assistant.api.ui_guard.received_file), so it must hold only ours.
    """
    if os.environ.get("GRADIO_TEMP_DIR"):
        return
    folder = data_dir / "ui-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    os.environ["GRADIO_TEMP_DIR"] = str(folder.resolve())


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (IPv6 when `host` is an IPv6 address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As uvicorn does: a restarted server must not wait out TIME_WAIT on its old port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def _key_store():
    """The key store of this data directory's configuration (its yiju.yaml may name a shared database)."""
    from assistant.config import load_config
    from assistant.errors import YijuError
    from assistant.stores import key_store
    from knowledge.database import DatabaseError

    data_dir = home()
    try:
        return key_store(data_dir, load_config(None, data_dir))
    except (YijuError, DatabaseError) as exc:
        fail(str(exc))
        raise typer.Exit(1) from exc


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option("--role", help="clinic | curator | reviewer | admin")],
    name: Annotated[
        str, typer.Option("--name", help="A label for the key (shown in audit review history)")
    ] = "",
) -> None:
    """Create a key; it is printed once and only its salted hash is stored."""
    from assistant.api.keys import KeyStoreError

    try:
        key, info = _key_store().create(role, name)
    except KeyStoreError as exc:
        fail(str(exc))
        return
    console.print(
        f"created {info.role} key '{info.name}' (id {info.key_id}); store it now, it is not shown again:"
    )
    print(key)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (id, name, role, created, revoked) — never the secrets."""
    from rich.table import Table

    table = Table("id", "name", "role", "created", "revoked")
    for info in _key_store().list():
        table.add_row(info.key_id, info.name, info.role, info.created_at, "yes" if info.revoked else "")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key: Annotated[str, typer.Argument(help="Key id or name")]) -> None:
    """Revoke a key by id or name."""
    from assistant.api.keys import KeyStoreError

    try:
        n = _key_store().revoke(key)
    except KeyStoreError as exc:
        fail(str(exc))
        return
    if n == 0:
        fail(f"no active key with id or name {key!r}")
    console.print(f"revoked key {key!r}")
