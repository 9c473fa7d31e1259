"""FEBRL-like person records: originals and duplicates that differ by typos in name, address and
birth date (the classic person-linkage test, generated here; nothing is downloaded)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

GIVEN = ("james john robert michael william david richard joseph thomas charles christopher daniel matthew "
         "anthony mark donald steven paul andrew joshua kenneth kevin brian george timothy ronald jason edward "
         "jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin scott brandon benjamin samuel "
         "gregory alexander patrick frank raymond jack dennis jerry tyler aaron jose adam nathan henry zachary "
         "mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty sandra "
         "margaret ashley kimberly emily donna michelle carol amanda melissa deborah stephanie dorothy rebecca "
         "sharon laura cynthia amy kathleen angela shirley brenda emma anna pamela nicole samantha katherine "
         "christine helen debra rachel carolyn janet maria catherine heather diane olivia julie joyce victoria "
         "ruby kelly christina lauren joan evelyn judith andrea hannah megan cheryl jacqueline martha madison").split()
SURNAMES = ("smith jones williams brown taylor davies wilson evans thomas johnson roberts walker wright robinson "
            "thompson white hughes edwards green hall wood harris lewis martin jackson clarke clark turner hill "
            "scott cooper morris ward moore king watson baker harrison morgan patel young allen mitchell james "
            "anderson phillips lee bell parker davis campbell kelly miller carter shaw cook richardson bailey "
            "collins marshall chapman murphy ellis graham murray hunt adams price mason griffiths hamilton palmer "
            "ryan fisher berry gray stewart reid lloyd webb simpson russell stevens marsh owen gibson kennedy "
            "grant burns dixon lawrence holmes rogers butler barnes pearce knight reynolds fox henderson").split()
STREETS = ("main high church park station victoria green manor kingsway queens grange north south west east "
           "mill school new london york chester oxford cambridge albert alexandra").split()
SUFFIX = ("street road avenue lane close drive way place crescent").split()
SUBURBS = ("ashfield bankstown blacktown burwood campsie chatswood epping hornsby hurstville kogarah liverpool "
           "manly marrickville mosman parramatta penrith randwick ryde strathfield sutherland waverley "
           "willoughby woollahra auburn botany").split()
STATES = ("nsw", "vic", "qld", "wa", "sa", "tas", "act")


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(len(word) - 1)
    op = rng.randrange(4)
    if op == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == 1:
        return word[:i] + word[i + 1:]
    if op == 2:
        return word[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def _dob_typo(rng: random.Random, dob: date) -> date:
    op = rng.randrange(3)
    if op == 0 and dob.day <= 12 and dob.month != dob.day:
        return date(dob.year, dob.day, dob.month)
    if op == 1:
        return dob + timedelta(days=rng.choice((-1, 1, 10, -10)))
    return date(dob.year + rng.choice((-1, 1, -10, 10)), dob.month, min(dob.day, 28))


def _original(rng: random.Random) -> dict[str, Any]:
    dob = date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 75))
    return {"given": rng.choice(GIVEN), "family": rng.choice(SURNAMES), "dob": dob,
            "street": f"{rng.randrange(1, 300)} {rng.choice(STREETS)} {rng.choice(SUFFIX)}",
            "suburb": rng.choice(SUBURBS), "postcode": f"{rng.randrange(2000, 2999)}", "state": rng.choice(STATES)}


def _duplicate(rng: random.Random, o: dict[str, Any]) -> dict[str, Any]:
    d = dict(o)
    for _ in range(rng.choice((1, 2, 2, 3))):
        what = rng.choice(("given", "family", "street", "dob", "postcode", "missing", "suburb"))
        if what in ("given", "family", "street", "suburb") and d[what]:
            d[what] = _typo(rng, d[what])
        elif what == "dob" and d["dob"]:
            d["dob"] = _dob_typo(rng, d["dob"])
        elif what == "postcode":
            d["postcode"] = d["postcode"][:3] + str(rng.randrange(10))
        else:
            d[rng.choice(("street", "dob", "suburb", "given"))] = None
    return d


def _canonical(n: int, r: dict[str, Any]) -> dict[str, Any]:
    name = {k: v.title() for k, v in (("given", r["given"]), ("family", r["family"])) if v}
    person: dict[str, Any] = {"name": name}
    if r["dob"]:
        person["birth_date"] = r["dob"].isoformat()
    address = {"country": "AU", "postal_code": r["postcode"], "province": r["state"]}
    if r["street"]:
        address["street"] = r["street"]
    if r["suburb"]:
        address["city"] = r["suburb"]
    person["addresses"] = [address]
    return {"schema_version": "1.0", "person": person,
            "provenance": {"connection": "febrl", "stream": "people", "source_pk": f"rec-{n}",
                           "read_at": "2026-01-01T00:00:00+00:00"}}


def records(originals: int, seed: int = 3, max_duplicates: int = 4) -> Iterator[tuple[int, dict[str, Any]]]:
    """(true person id, canonical record): ``originals`` people, half of them with 1..max duplicates."""
    rng = random.Random(seed)
    n = 0
    for pid in range(originals):
        o = _original(rng)
        yield pid, _canonical(n, o)
        n += 1
        if rng.random() < 0.5:
            for _ in range(rng.randint(1, max_duplicates)):
                yield pid, _canonical(n, _duplicate(rng, o))
                n += 1
