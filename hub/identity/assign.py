"""Stable profile ids: each new cluster keeps the id of the existing profile it holds most members
of (the older id on a tie); a profile whose members went elsewhere is recorded as merged into the
profile that took most of them; clusters with no earlier profile get fresh ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Assignment:
    cluster_ids: list[int]  # profile id per cluster
    merged: dict[int, int] = field(default_factory=dict)  # old profile id -> the profile it went into
    created: list[int] = field(default_factory=list)
    retired: list[int] = field(default_factory=list)


def assign_profiles(clusters: Sequence[Sequence[int]], old: dict[int, int], next_id: int,
                    known_profiles: Sequence[int] = ()) -> Assignment:
    """``clusters`` of record ids, ``old`` record id -> previous profile id, ``next_id`` the first free id.

    ``known_profiles`` are earlier profiles in scope that may have lost every member (retired).
    """
    overlaps = [Counter(old[r] for r in c if r in old) for c in clusters]
    claims = sorted(((count, -pid, ci, pid) for ci, ov in enumerate(overlaps) for pid, count in ov.items()),
                    reverse=True)
    ids: list[int | None] = [None] * len(clusters)
    used: set[int] = set()
    for _, _, ci, pid in claims:
        if ids[ci] is None and pid not in used:
            ids[ci], _ = pid, used.add(pid)
    result = Assignment(cluster_ids=[])
    for ci, pid in enumerate(ids):
        if pid is None:
            ids[ci] = next_id
            result.created.append(next_id)
            next_id += 1
    result.cluster_ids = [int(i) for i in ids]  # type: ignore[arg-type]
    # where did each unclaimed old profile's members go?
    went: dict[int, Counter] = {}
    for ci, ov in enumerate(overlaps):
        for pid, count in ov.items():
            if pid not in used:
                went.setdefault(pid, Counter())[result.cluster_ids[ci]] += count
    for pid, targets in went.items():
        result.merged[pid] = max(targets.items(), key=lambda t: (t[1], -t[0]))[0]
    result.retired = sorted(set(known_profiles) - used - set(result.merged))
    return result
