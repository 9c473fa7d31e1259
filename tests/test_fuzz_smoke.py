"""A short run of each atheris harness in fuzz/ (coverage-guided), and a hypothesis pass over the
same targets so the suite still fuzzes them where atheris cannot be installed.

``pytest -m slow tests/test_fuzz_smoke.py`` runs 100,000 inputs per target.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import targets
from tests.helpers import REPO

TARGETS = tuple(targets.TARGETS)


CORPUS = REPO / "fuzz" / "corpus"


def atheris_run(target: str, runs: int, seconds: int, tmp_path, *options: str) -> None:
    """Fuzz ``target``, starting from its saved inputs in fuzz/corpus/ (new ones go to tmp_path only)."""
    pytest.importorskip("atheris")
    found = tmp_path / "corpus"
    found.mkdir()
    seeds = [str(CORPUS / target)] if (CORPUS / target).is_dir() else []
    proc = subprocess.run([sys.executable, str(REPO / "fuzz" / "run.py"), target, f"-atheris_runs={runs}",
                           f"-max_total_time={seconds}", f"-artifact_prefix={tmp_path}/", "-timeout=10",
                           *options, str(found), *seeds],
                          cwd=tmp_path, capture_output=True, text=True, timeout=seconds + 120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Done " in proc.stderr


# Starting an instrumented interpreter costs ~30 s on a busy 2-core machine, so CI smokes two harnesses
# and the hypothesis pass below covers every target; `pytest -m slow` smokes the others too.
SMOKED = ("csv", "mapping")


@pytest.mark.parametrize("target", [t if t in SMOKED else pytest.param(t, marks=pytest.mark.slow) for t in TARGETS])
def test_atheris_smoke(target, tmp_path):
    # A fixed seed keeps CI repeatable; the long runs below explore with fresh seeds.
    atheris_run(target, 2000, 8, tmp_path, "-seed=1")


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_atheris_long(target, tmp_path):
    atheris_run(target, 100_000, 600, tmp_path)


SAVED = sorted(CORPUS.glob("*/*"))


@pytest.mark.parametrize("saved", SAVED, ids=[f"{p.parent.name}/{p.name}" for p in SAVED])
def test_saved_inputs_stay_fixed(saved):
    """Every input a fuzzer once crashed on (fuzz/corpus/<target>/) is handled without an exception."""
    targets.TARGETS[saved.parent.name](saved.read_bytes())


SEEDS = st.one_of(st.binary(max_size=300), st.sampled_from([
    b"id,name\n1,a\n", "序号,姓名\n1,王\n".encode("gb18030"), b"\xef\xbb\xbfid\n1\n", b'{"id": 1}\n{"id": ',
    b"PK\x03\x04" + bytes(40), b"name: x\nfields: {person.title: a}\n", b"<xml><Encrypt><![CDATA[x]]></Encrypt></xml>",
    b'{"entry": [{"changes": [{"value": {"leadgen_id": 1}}]}]}']))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=SEEDS)
def test_targets_with_hypothesis(data):
    for fmt in ("csv", "jsonl", "xlsx"):
        targets.file_reader(data, fmt)
    targets.signature_checks(data)
    targets.webhook_bodies(data)
    targets.mapping_loader(data)
