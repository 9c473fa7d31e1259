"""A resolve killed (SIGKILL) at each of its failpoints and run again ends as a clean run does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.identity import storage
from hub.identity.tables import identity_members, identity_profiles
from hub.privacy.runtime import ensure_active
from hub.privacy.settings import PrivacySettings
from tests.test_identity_support import rec, resolve, seeded

REPO = Path(__file__).resolve().parent.parent
RECORDS = [rec("web", "a", name="张伟", email="zw@corp.cn"), rec("crm", "b", name="张伟", email="zw@corp.cn",
                                                                 phone="+8613912345678"),
           rec("expo", "c", name="Li Na", phone="+8613800138001"), rec("web", "d", name="Li Na",
                                                                       phone="+8613800138001")]
CHILD = """
import sys
from hub.identity.resolver import resolve_identities
from hub.identity.settings import IdentitySettings
from hub.store import Store
resolve_identities(Store.open(sys.argv[1]), IdentitySettings())
"""


def _state(store) -> tuple:  # noqa: ANN001
    ensure_active(store.engine, PrivacySettings(), Path.cwd())  # open golden profiles with this store's keys
    with store.reading() as conn:
        members = sorted(conn.execute(select(identity_members.c.record_id, identity_members.c.profile_id)).all())
        profiles = {pid: (status, storage.open_golden(pid, golden)) for pid, status, golden in conn.execute(
            select(identity_profiles.c.id, identity_profiles.c.status, identity_profiles.c.golden))}
    return members, profiles


@pytest.mark.parametrize("point", ["resolve.after_links", "resolve.before_commit", "resolve.after_commit"])
def test_a_kill_at_each_failpoint_then_a_rerun_equals_a_clean_run(tmp_path, point):
    clean = seeded(f"sqlite:///{tmp_path / 'clean.db'}", RECORDS)
    resolve(clean)
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    crashed = seeded(url, RECORDS)
    env = {**os.environ, "CUSTHUB_FAILPOINT": point, "PYTHONPATH": str(REPO)}
    child = subprocess.run([sys.executable, "-c", CHILD, url], env=env, cwd=tmp_path, capture_output=True,
                           timeout=300)
    assert child.returncode == -9, child.stderr.decode()[-2000:]
    with crashed.reading() as conn:
        written = conn.execute(select(identity_members.c.record_id)).first() is not None
    assert written == (point == "resolve.after_commit")  # before the commit nothing of the run is kept
    resolve(crashed)
    assert _state(crashed) == _state(clean)
