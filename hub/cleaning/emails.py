"""E-mail addresses: junk removed, lower-cased, syntax-checked with ``email-validator`` (no DNS).

email-validator's messages may quote the address or some of its characters, so they are never
passed on: ``problem_of`` turns each into a value-free description.

email-validator spends most of its 20 µs on the domain, and domains repeat (qq.com, 163.com, a
company's own). So the commonest shape, a plain ASCII local part (RFC 5322 dot-atom, which
email-validator accepts as it is) at an ASCII domain, is answered from a per-domain cache of
email-validator's verdict; every other address goes through ``validate_email`` whole.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from email_validator import EmailNotValidError, validate_email

# RFC 5322 dot-atom-text, as email-validator checks an ASCII local part; 254 is its length limit.
_ATEXT: Final = r"[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~]+"
_DOT_ATOM: Final = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_MAX_LENGTH: Final = 254

# (substring of email-validator's message, what we say instead), first match wins.
_PROBLEMS: Final = (
    ('"full-width" at-sign', "it uses a full-width @"),
    ("small commercial at", "it uses a look-alike @"),
    ("must have an @-sign", "there is no @"),
    ("something before the @-sign", "nothing before the @"),
    ("something after the @-sign", "nothing after the @"),
    ("too long", "too long"),
    ("should have a period", "the domain has no dot"),
    ("not within a valid top-level domain", "the domain has no valid top-level domain"),
    ("special-use or reserved name", "the domain is a special-use or reserved name"),
    ("two letters followed by two dashes", "the domain has a misplaced double hyphen"),
    ("two periods in a row", "two dots in a row"),
    ("cannot start with a", "it starts with a dot"),
    ("immediately before the @-sign", "a dot right before the @"),
    ("immediately after the @-sign", "a dot or hyphen right after the @"),
    ("cannot end with a", "the domain ends with a dot or hyphen"),
    ("a period and a hyphen", "the domain has a dot next to a hyphen"),
    ("in brackets", "the domain is an address literal"),
    ("bracketed IP address", "the domain is an address literal"),
    ("angle bracket", "it has a display name or angle brackets"),
    ("display name", "it has a display name or angle brackets"),
    ("after close quote", "text after the address"),
    ("anything after the email address", "text after the address"),
    ("Quoting the part before", "the part before the @ is quoted"),
    ("before the @-sign", "invalid characters before the @"),
    ("IDNA", "the domain is not a valid internationalised name"),
    ("after the @-sign", "invalid characters after the @"),
    ("unsafe characters", "unsafe characters"),
    ("invalid character", "invalid characters"),
)
_MAILTO: Final = "mailto:"
INVALID_EMAIL: Final = "not a valid e-mail address"


def normalize_email(text: str) -> tuple[str | None, str | None]:
    """``(address, None)`` for a valid address, ``(None, problem)`` otherwise.

    ``text`` has been through ``clean_text``. A ``mailto:`` prefix and surrounding ``<...>`` are
    removed and the whole address is lower-cased: we treat local parts as case-insensitive.
    """
    candidate = _strip_junk(text).lower()
    local, at, domain = candidate.partition("@")
    if (at and candidate.isascii() and len(candidate) <= _MAX_LENGTH and _DOT_ATOM.fullmatch(local)
            and _valid_domain(domain) == domain):
        return candidate, None
    try:
        validated = validate_email(candidate, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as error:
        return None, problem_of(error)
    return validated.normalized, None


@lru_cache(maxsize=4096)
def _valid_domain(domain: str) -> str | None:
    """The domain as email-validator writes it when it accepts it, else ``None``."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return None


def _strip_junk(text: str) -> str:
    for _ in range(2):  # "<mailto:a@b.c>" and "mailto:<a@b.c>" both need two rounds
        if text[:7].lower() == _MAILTO:
            text = text[7:].strip()
        if len(text) > 1 and text[0] == "<" and text[-1] == ">":
            text = text[1:-1].strip()
    return text


def problem_of(error: EmailNotValidError) -> str:
    """A description of ``error`` that cannot contain any part of the address."""
    message = str(error)
    for needle, problem in _PROBLEMS:
        if needle in message:
            return f"not a valid e-mail address ({problem})"
    return INVALID_EMAIL
