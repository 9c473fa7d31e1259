"""``custhub keys generate-kek|init|status|rotate|rewrap|retire``: the field-encryption keys."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hub.cli.common import ConfigOption, console, get_config, open_store
from hub.config import Config
from hub.errors import ConfigError
from hub.privacy import audit, keys, rewrap
from hub.privacy.runtime import activate, kek_from_settings
from hub.store import Store

app = typer.Typer(no_args_is_help=True, help="Field-encryption keys: create, rotate, rewrap, retire.")


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:120]
    except (OSError, KeyError):
        return "cli:unknown"


def _open(ctx: typer.Context, config: Path | None) -> tuple[Config, Store]:
    rewrap.import_target_modules()
    cfg = get_config(ctx, config)
    return cfg, open_store(cfg)


@app.command("generate-kek")
def generate_kek(out: Annotated[Path, typer.Option("--out", help="Key file to write (mode 0600).")]) -> None:
    """Write a new random key-encryption key to a file; point privacy.keys.kek at it or export it."""
    if out.exists():
        raise ConfigError("key file already exists", file=str(out), fix="choose another path; never overwrite a KEK")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(keys.generate_kek() + "\n")
    console.print(f"wrote a new KEK to {out} (keep it outside the database and its backups)")


@app.command("init")
def init(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Create the data, blind-index and audit keys of the store (no-op when they exist)."""
    cfg, store = _open(ctx, config)
    kek = kek_from_settings(cfg.privacy, cfg.base_dir)
    with store.transaction() as conn:
        created = keys.init_keys(conn, kek)
    runtime = activate(store.engine, cfg.privacy, cfg.base_dir, kek=kek)
    if created:
        with store.transaction() as conn:
            audit.record(conn, actor=actor(), role="admin", purpose="key_management", action="key_init",
                         subjects=[f"key:{k}" for k in created], key=runtime.audit_key)
    console.print(f"created key ids {', '.join(map(str, created))}" if created else "keys already exist")


@app.command("status")
def status(ctx: typer.Context, config: ConfigOption = None) -> None:
    """List key ids, their purpose and status, and how many values each data key still seals."""
    cfg, store = _open(ctx, config)
    table = Table("kid", "purpose", "status", "kek id", "created", "values sealed", title="keys")
    with store.reading() as conn:
        for info in keys.key_infos(conn):
            refs = str(rewrap.references_anywhere(conn, info.kid)) if info.purpose == "data" else "-"
            table.add_row(str(info.kid), info.purpose, info.status, info.kek_id,
                          f"{info.created_at:%Y-%m-%d %H:%M}", refs)
    console.print(table)


@app.command("rotate")
def rotate(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Make a new data key active; older ones stay for decryption until rewrapped and retired."""
    cfg, store = _open(ctx, config)
    kek = kek_from_settings(cfg.privacy, cfg.base_dir)
    with store.transaction() as conn:
        kid = keys.rotate_data_key(conn, kek)
    runtime = activate(store.engine, cfg.privacy, cfg.base_dir, kek=kek)
    with store.transaction() as conn:
        audit.record(conn, actor=actor(), role="admin", purpose="key_management", action="key_rotate",
                     subjects=[f"key:{kid}"], key=runtime.audit_key)
    console.print(f"data key {kid} is now active; run `custhub keys rewrap` to move existing values onto it")


@app.command("rewrap")
def rewrap_cmd(ctx: typer.Context,
               batch_size: Annotated[int, typer.Option(min=1, help="Rows per transaction.")] = 500,
               config: ConfigOption = None) -> None:
    """Re-seal every registered encrypted column under the active key (resumable after a crash)."""
    cfg, store = _open(ctx, config)
    runtime = activate(store.engine, cfg.privacy, cfg.base_dir)
    targets = rewrap.registered_targets()
    if not targets:
        console.print("no encrypted columns are registered; nothing to rewrap")
        return
    total = 0
    for target in targets:
        result = rewrap.rewrap(store.engine, runtime.cipher, target, batch_size=batch_size)
        total += result.rows_resealed
        resumed = " (resumed)" if result.resumed_from is not None else ""
        console.print(f"{target.name}: {result.rows_resealed:,} row(s) re-sealed "
                      f"in {result.batches} batch(es){resumed}")
    with store.transaction() as conn:
        audit.record(conn, actor=actor(), role="admin", purpose="key_management", action="key_rewrap",
                     subjects=[f"key:{runtime.keyring.active_kid}"], row_count=total, key=runtime.audit_key)


@app.command("retire")
def retire(ctx: typer.Context, kid: Annotated[int, typer.Argument(metavar="KID")],
           destroy: Annotated[bool, typer.Option(help="Also delete the wrapped key material.")] = False,
           config: ConfigOption = None) -> None:
    """Retire an old data key once no registered column references it."""
    cfg, store = _open(ctx, config)
    runtime = activate(store.engine, cfg.privacy, cfg.base_dir)
    with store.transaction() as conn:
        keys.retire_key(conn, kid, still_referenced=rewrap.references_anywhere(conn, kid), destroy=destroy)
        audit.record(conn, actor=actor(), role="admin", purpose="key_management", action="key_retire",
                     subjects=[f"key:{kid}"], key=runtime.audit_key)
    console.print(f"data key {kid} retired" + (" and destroyed" if destroy else ""))


@app.command("encrypt-plaintext")
def encrypt_plaintext(ctx: typer.Context,
                      batch_size: Annotated[int, typer.Option(min=1, help="Rows per transaction.")] = 500,
                      dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count plaintext values.")] = False,
                      config: ConfigOption = None) -> None:
    """Seal the values written before encryption was switched on (one-off; safe to rerun or resume)."""
    cfg, store = _open(ctx, config)
    runtime = activate(store.engine, cfg.privacy, cfg.base_dir)
    targets = rewrap.registered_targets()
    if not targets:
        console.print("no encrypted columns are registered; nothing to seal")
        return
    total = 0
    for target in targets:
        with store.reading() as conn:
            before = rewrap.plaintext_count(conn, target)
        if dry_run or not before:
            console.print(f"{target.name}: {before:,} plaintext value(s)")
            continue
        sealed = rewrap.seal_plaintext(store.engine, runtime.cipher, target, batch_size=batch_size)
        total += sealed
        console.print(f"{target.name}: {sealed:,} value(s) sealed")
    if total:
        with store.transaction() as conn:
            audit.record(conn, actor=actor(), role="admin", purpose="key_management", action="key_rewrap",
                         subjects=[f"key:{runtime.keyring.active_kid}"], row_count=total, key=runtime.audit_key)
