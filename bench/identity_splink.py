"""Splink 5 on the same generated data, for comparison (not a custhub dependency).

    python bench/identity_splink.py export DIR        # with custhub's venv: write DIR/{channels,febrl}.jsonl
    /path/to/splink-venv/bin/python bench/identity_splink.py run DIR   # with a venv where splink is installed

Splink gets custhub's normalised columns (pinyin name tokens, E.164 phone, lower-case e-mail,
org and place keys), so the comparison is of the linking method, not of the cleaning.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def export(target: Path, channels: int = 20_000, febrl: int = 5_000) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench import identity_febrl
    from bench.identity_data import Generator
    from hub.identity.features import extract, name_parts
    from hub.identity.settings import IdentitySettings

    settings = IdentitySettings()
    target.mkdir(parents=True, exist_ok=True)
    for kind, items in (("channels", Generator(seed=7).records(channels)),
                        ("febrl", identity_febrl.records(febrl, seed=7))):
        with (target / f"{kind}.jsonl").open("w") as out:
            for i, (pid, record) in enumerate(items):
                f = extract(i, record, settings)
                _, tokens = name_parts((record.get("person") or {}).get("name"))
                out.write(json.dumps({
                    "unique_id": i, "truth": pid, "name": f.name_key, "first": tokens[0] if tokens else None,
                    "last": tokens[-1] if len(tokens) > 1 else None, "dob": f.dob, "employer": f.employer,
                    "city": f.city, "street": f.street, "postcode": f.postcode,
                    "email": sorted(f.emails)[0] if f.emails else None,
                    "phone": sorted(f.phones)[0] if f.phones else None}) + "\n")


def run(source: Path) -> None:
    import duckdb
    import splink.comparison_library as cl
    from pyarrow import json as pyarrow_json
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    for kind in ("channels", "febrl"):
        table = pyarrow_json.read_json(source / (kind + ".jsonl"))
        con = duckdb.connect()
        started = time.perf_counter()
        db_api = DuckDBAPI(connection=con)
        sdf = db_api.register(table, dataset_display_name=kind)
        comparisons = [cl.JaroWinklerAtThresholds("name", [0.93, 0.8]).configure(term_frequency_adjustments=True),
                       cl.LevenshteinAtThresholds("dob", [1, 2]), cl.ExactMatch("employer"), cl.ExactMatch("city"),
                       cl.JaroWinklerAtThresholds("street", [0.95, 0.85]), cl.ExactMatch("postcode"),
                       cl.ExactMatch("email"), cl.ExactMatch("phone")]
        rules = [block_on("name"), block_on("email"), block_on("phone"), block_on("dob", "postcode"),
                 block_on("street"), block_on("postcode", "first"), block_on("dob", "first")]
        settings = SettingsCreator(link_type="dedupe_only", comparisons=comparisons,
                                   blocking_rules_to_generate_predictions=rules)
        linker = Linker(sdf, settings)
        linker.training.estimate_probability_two_random_records_match([block_on("email"), block_on("phone"),
                                                                       block_on("name", "dob")], recall=0.7)
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
        for rule in (block_on("name"), block_on("dob"), block_on("postcode")):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(rule)
            except Exception as exc:  # a rule can leave too few pairs on one data set
                print(f"  EM on {rule} skipped: {type(exc).__name__}")
        pred = linker.inference.predict(threshold_match_probability=0.5)
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold_match_probability=0.95)
        took = time.perf_counter() - started
        # table names and our own file path only, no values
        rows = con.execute(f"SELECT c.cluster_id, t.truth FROM {clusters.physical_name} c "  # noqa: S608
                           f"JOIN read_json_auto('{source / (kind + '.jsonl')}') t USING (unique_id)").fetchall()
        print(kind, _scores(rows), f"{took:.1f} s")


def _scores(rows: list[tuple]) -> str:
    from collections import Counter

    def pairs(counter: Counter) -> int:
        return sum(n * (n - 1) // 2 for n in counter.values())

    true_pairs = pairs(Counter(t for _, t in rows))
    found = pairs(Counter(c for c, _ in rows))
    both = pairs(Counter(rows))
    p, r = both / max(found, 1), both / max(true_pairs, 1)
    return f"precision {p:.4f} recall {r:.4f} F1 {2 * p * r / max(p + r, 1e-9):.4f} ({len(rows):,} records)"


if __name__ == "__main__":
    (export if sys.argv[1] == "export" else run)(Path(sys.argv[2]))
