"""Open the store for the inbox source with the privacy layer active (inbox payloads are sealed)."""

from __future__ import annotations

from pathlib import Path

from hub.config import read_yaml
from hub.privacy.runtime import ensure_active
from hub.privacy.settings import parse_privacy
from hub.store import Store


def open_inbox_store(url: str, config_file: str | None) -> Store:
    """The store at ``url``, keys activated from the ``privacy`` section of ``config_file`` (if given)."""
    store = Store.open(url)
    raw = (read_yaml(Path(config_file)) or {}).get("privacy") if config_file else None
    base_dir = Path(config_file).resolve().parent if config_file else Path.cwd()
    try:
        ensure_active(store.engine, parse_privacy(raw), base_dir)
    except BaseException:
        store.close()
        raise
    return store
