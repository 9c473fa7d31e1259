"""``custhub console hash-password|add-user``: password hashes and user entries for the ``console:`` section."""

from __future__ import annotations

from typing import Annotated

import typer
import yaml

from hub.cli.common import ConfigOption, console, get_config
from hub.errors import ConfigError

app = typer.Typer(no_args_is_help=True, help="The admin console of `custhub serve`: users and passwords.")


def _ask_password() -> str:
    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 10:
        raise ConfigError("the password is too short", fix="use at least 10 characters")
    return password


def hash_password(password: str) -> str:
    # Imported here: the console package loads the web app, which other commands do not need.
    from hub.console.passwords import hash_password as scrypt_hash

    return scrypt_hash(password)


@app.command("hash-password")
def hash_password_cmd() -> None:
    """Ask for a password and print its scrypt hash, for console.users.<name>.password_hash."""
    console.print(hash_password(_ask_password()), highlight=False, soft_wrap=True)


@app.command("add-user")
def add_user(ctx: typer.Context, name: Annotated[str, typer.Argument(help="User name (lower case).")],
             role: Annotated[str, typer.Option(help="A role of the privacy layer (see `custhub privacy roles`).")],
             config: ConfigOption = None) -> None:
    """Ask for a password and print the YAML entry to add under console.users (the file is not edited)."""
    cfg = get_config(ctx, config)
    if role not in cfg.privacy.roles:
        raise ConfigError(f"unknown role '{role}'", fix="one of: " + ", ".join(sorted(cfg.privacy.roles)))
    if not name or not name[0].isalpha() or name != name.lower():
        raise ConfigError("a user name is lower-case letters, digits, '_', '.' or '-', starting with a letter")
    entry = {"console": {"users": {name: {"password_hash": hash_password(_ask_password()), "role": role}}}}
    console.print(f"# add to {cfg.file}:", highlight=False)
    console.print(yaml.safe_dump(entry, sort_keys=False).rstrip(), highlight=False, soft_wrap=True)
