"""Crash suite, webhook inbox flow: the real server (Starlette app under uvicorn, forked from the test
process onto one listening socket the test keeps open, so a restart costs a fork and no port race) is
SIGKILLed at random delays while a sender process posts signed Typeform, Facebook and generic events
and retries every non-2xx, reset and timeout, and redelivers some acknowledged events as providers do.

Oracle: every event that got a 2xx is in the inbox exactly once, and nothing else is.
``pytest -m slow tests/test_reliability_crash_inbox.py`` runs 1,000 kills.
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
from collections import Counter

import httpx
import pytest
import uvicorn

from hub.cli.common import open_store
from hub.config import load_config
from hub.server import build_app, server_settings
from tests.helpers import table_rows
from tests.reliability_support import CI_KILLS, KILLED, KillTally, backend_of, kill, report, spawn
from tests.test_server_crash import Event
from tests.webhook_support import SECRETS, write_config


def serve(config, sock: socket.socket):
    def run() -> None:
        cfg = load_config(config)
        store = open_store(cfg)
        app = build_app(server_settings(cfg), store)
        server = uvicorn.Server(uvicorn.Config(app, log_level="error", access_log=False, lifespan="off"))
        server.run(sockets=[sock])
    return run


def event(n: int) -> Event:
    kind = n % 3
    if kind == 0:
        return Event("typeform", f"tf-{n:06d}")
    if kind == 1:
        return Event("facebook", str(9_000_000_000 + n))
    return Event("generic", f"contact:g-{n:06d}")


def sender(url: str, stop_file, result_file, seed: int):
    """Post events until ``stop_file`` exists, then finish what is in flight and write what was acknowledged."""
    def run() -> None:
        acked: Counter = Counter()
        lock = threading.Lock()
        counter = iter(range(10**9))

        def worker(wseed: int) -> None:
            rng = random.Random(wseed)
            with httpx.Client(base_url=url, timeout=2.0) as client:
                while not os.path.exists(stop_file):
                    with lock:
                        n = next(counter)
                        again = list(acked) and rng.random() < 0.15
                        ev = Event(*rng.choice(list(acked))) if again else event(n)
                    failed = 0
                    while True:
                        path, body, headers = ev.request()
                        try:
                            if 200 <= client.post(path, content=body, headers=headers).status_code < 300:
                                with lock:
                                    acked[(ev.provider, ev.event_id)] += 1
                                break
                        except httpx.HTTPError:
                            pass
                        failed += 1
                        time.sleep(min(0.2, 0.01 * 2 ** min(failed, 5)) * rng.uniform(0.5, 1.5))

        threads = [threading.Thread(target=worker, args=(seed * 100 + i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with open(result_file, "w", encoding="utf-8") as fh:
            json.dump([list(k) for k in acked], fh)
    return run


def crash_inbox(tmp_path, url: str, *, target: int, seed: int) -> tuple[KillTally, set]:
    rng = random.Random(seed)
    log = tmp_path / "children.log"
    config = write_config(tmp_path, url)
    open_store(load_config(config)).close()  # create the store; no connection crosses a fork
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop, result = tmp_path / "stop", tmp_path / "acked.json"
    tally = KillTally("inbox", backend_of(url))
    sending = spawn(sender(base, str(stop), str(result), seed), log=log)
    try:
        while tally.kills < target:
            server = spawn(serve(config, sock), log=log)
            time.sleep(rng.uniform(0.05, 0.5))
            tally.record("timer", KILLED if kill(server) else "exited")
        stop.touch()
        server = spawn(serve(config, sock), log=log)  # the last server lets in-flight deliveries finish
        _, status = os.waitpid(sending, 0)
        kill(server)
    finally:
        sock.close()
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, log.read_text()[-3000:]
    acked = {tuple(k) for k in json.loads(result.read_text())}
    stored = Counter(table_rows(url, "SELECT provider, event_id FROM webhook_inbox"))
    assert acked and acked <= set(stored)  # every acknowledged event is in the inbox ...
    assert all(count == 1 for count in stored.values())  # ... exactly once
    # an event stored but never acknowledged (the server died between commit and answer) is allowed,
    # and it is still one of the events sent: no phantom rows
    assert len(set(stored) - acked) <= tally.kills
    if url.startswith("sqlite"):
        assert table_rows(url, "PRAGMA integrity_check") == [("ok",)]
    return tally, acked


@pytest.mark.crash
@pytest.mark.parametrize("target", [pytest.param(CI_KILLS, id="ci"),
                                    pytest.param(1000, id="long", marks=pytest.mark.slow)])
def test_sigkill_server_keeps_every_acknowledged_event_once(tmp_path, store_url, capsys, monkeypatch, target):
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    tally, acked = crash_inbox(tmp_path, store_url, target=target, seed=target)
    report(capsys, tally)
    with capsys.disabled():
        print(f"inbox {backend_of(store_url)}: {len(acked)} events acknowledged across {tally.kills} kills")
    assert tally.kills >= target
