"""Clustering with guards: union-find that refuses a union which would break a rule.

Edges are offered strongest first (manual must-links, then identifiers by priority, then
probabilistic links by weight). A union is refused when the merged cluster would hold more
distinct values of a limited identifier type than allowed (two unionids, two CRM ids of one
system), more records than ``max_size``, or two records a human said are different people.
Each refused union is counted by reason; only the edges that joined two clusters are kept, as the
evidence of the profile.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(slots=True)
class Edge:
    a: int  # node index
    b: int
    kind: str  # manual | key | match
    weight: float
    evidence: dict


class GuardedUnionFind:
    def __init__(self, n: int, limited: dict[int, list[tuple[str, str]]], limits: dict[str, int],
                 cannot_link: Iterable[tuple[int, int]], max_size: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n
        self.limits = limits
        self.max_size = max_size
        # per root: limit group -> distinct values; only nodes that hold limited identifiers appear
        self.ids: dict[int, dict[str, set[str]]] = {}
        for node, values in limited.items():
            groups: dict[str, set[str]] = {}
            for group, digest in values:
                groups.setdefault(group, set()).add(digest)
            self.ids[node] = groups
        self.forbid: dict[int, set[int]] = {}
        for a, b in cannot_link:
            self.forbid.setdefault(a, set()).add(b)
            self.forbid.setdefault(b, set()).add(a)

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int, *, manual: bool = False) -> str | None:
        """Join the clusters of ``a`` and ``b``; returns why not, or ``None`` when joined (or already one)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return "same"
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        if not manual and self.size[ra] + self.size[rb] > self.max_size:
            return "max_cluster_size"
        ids_a, ids_b = self.ids.get(ra), self.ids.get(rb)
        if ids_b and ids_a and not manual:
            for group, values in ids_b.items():
                have = ids_a.get(group)
                if have and len(have | values) > self.limits.get(group.split(":", 1)[0], 5):
                    return f"limit:{group.split(':', 1)[0]}"
        fa, fb = self.forbid.get(ra), self.forbid.get(rb)
        if fb and any(self.find(x) == ra for x in fb) or fa and any(self.find(x) == rb for x in fa):
            return "cannot_link"
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        if ids_b:
            if ids_a is None:
                self.ids[ra] = ids_b
            else:
                for group, values in ids_b.items():
                    ids_a.setdefault(group, set()).update(values)
            del self.ids[rb]
        if fb:
            self.forbid.setdefault(ra, set()).update(fb)
            del self.forbid[rb]
        return None
