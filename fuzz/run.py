"""Coverage-guided fuzzing with atheris: ``python fuzz/run.py TARGET [libFuzzer options]``.

TARGET is one of csv, jsonl, xlsx, signatures, webhooks, mapping. Examples:
    python fuzz/run.py csv -atheris_runs=200000          # a fixed number of inputs
    python fuzz/run.py mapping -max_total_time=600       # ten minutes
A crash (an exception outside the documented ones, see fuzz/targets.py) stops the run and writes
the input to ./crash-<sha1>.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# atheris measures coverage in Python bytecode: fuzz the source build of the compiled modules
# (hub.native). tests/test_fuzz_smoke.py replays the saved inputs on the build in use.
os.environ.setdefault("CUSTHUB_PURE_PYTHON", "1")

with atheris.instrument_imports():
    from fuzz import targets

TARGETS = targets.TARGETS


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: python fuzz/run.py {{{'|'.join(TARGETS)}}} [libFuzzer options]")
    target = TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
