"""``Cleaner``: one canonical candidate record in, the cleaned record and every problem out.

Problems are ``"<path>: <problem>"`` without any customer value; paths name positions in the
cleaned record, which the schema check then validates. A path the cleaner has already explained is
not repeated by the schema check (an invalid phone is not also "an invalid format").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import Any

from hub.canonical import schema_errors
from hub.cleaning.emails import INVALID_EMAIL, normalize_email
from hub.cleaning.fields import birth_date_problem, country_code, language_tag, tag_list
from hub.cleaning.names import clean_name
from hub.cleaning.phones import check_region, invalid_phone, to_e164
from hub.cleaning.text import MISSING, clean_mapping, clean_value, copy_json

Problems = list[tuple[str, str]]


class Cleaner:
    """Normalises canonical candidate records; ``default_region`` is used for phone numbers
    written without a country code."""

    def __init__(self, default_region: str = "CN") -> None:
        self.default_region = check_region(default_region)

    def clean(self, record: Any) -> tuple[Any, list[str]]:
        """The cleaned record (a new dict) and every reason it is not valid (empty when it is)."""
        if type(record) is not dict:
            return record, schema_errors(record)
        problems: Problems = []
        out: dict[Any, Any] = {}
        cleaned: Any  # each key's cleaned value: of any JSON type
        for key, value in record.items():
            if key == "provenance":
                cleaned = copy_json(value)
            elif key == "person" and type(value) is dict:
                cleaned = self._person(value, problems)
            elif key == "organization" and type(value) is dict:
                cleaned = self._organization(value, problems)
            elif key == "interactions" and type(value) is list:
                cleaned = _cleaned_list(value, _interaction)
            else:
                cleaned = clean_value(value)
            if cleaned is not MISSING:
                out[key] = cleaned

        reasons = [f"{path}: {problem}" for path, problem in problems]
        explained = {f"{path}: " for path, _ in problems}
        reasons += [reason for reason in schema_errors(out)
                    if not any(reason.startswith(prefix) for prefix in explained)]
        return out, reasons

    def _person(self, person: dict[Any, Any], problems: Problems) -> Any:
        out: dict[Any, Any] = {}
        gender = None
        cleaned: Any
        for key, value in person.items():
            if key == "name" and type(value) is dict:
                name = clean_name(value)
                problems += [(f"person.name.{path}", problem) for path, problem in name.problems]
                cleaned, gender = name.name or MISSING, name.gender
            elif key == "phones" and type(value) is list:
                cleaned = self._phones(value, problems)
            elif key == "emails" and type(value) is list:
                cleaned = _emails(value, problems)
            elif key == "addresses" and type(value) is list:
                cleaned = _cleaned_list(value, _address)
            elif key == "birth_date":
                cleaned = clean_value(value)
                if (problem := birth_date_problem(cleaned, date.today())) is not None:
                    problems.append(("person.birth_date", problem))
            elif key == "language":
                cleaned = language_tag(clean_value(value))
            elif key == "tags":
                cleaned = tag_list(value)
            else:
                cleaned = clean_value(value)
            if cleaned is not MISSING:
                out[key] = cleaned
        if gender is not None and "gender" not in out:
            out["gender"] = gender
        return out or MISSING

    def _phones(self, phones: list[Any], problems: Problems) -> Any:
        out: list[Any] = []
        seen: set[str] = set()
        cleaned: Any
        for phone in phones:
            if type(phone) is not dict or type(phone.get("number")) is not str:
                cleaned = clean_value(phone)
            else:
                cleaned = clean_mapping(phone)
                if cleaned is not MISSING and "number" in cleaned:
                    number = to_e164(cleaned["number"], self.default_region)
                    if number is None:
                        problems.append((f"person.phones[{len(out)}].number",
                                         invalid_phone(self.default_region)))
                    elif number in seen:
                        continue
                    else:
                        seen.add(number)
                        _keep_raw(cleaned, phone["number"], number)
                        cleaned["number"] = number
            if cleaned is not MISSING:
                out.append(cleaned)
        return out or MISSING

    def _organization(self, organization: dict[Any, Any], problems: Problems) -> Any:
        out: dict[Any, Any] = {}
        cleaned: Any
        for key, value in organization.items():
            if key == "country":
                cleaned = country_code(clean_value(value))
            elif key == "key_contacts" and type(value) is list:
                cleaned = clean_value(value)
                if cleaned is not MISSING:
                    for index, contact in enumerate(cleaned):
                        self._contact(contact, f"organization.key_contacts[{index}]", problems)
            else:
                cleaned = clean_value(value)
            if cleaned is not MISSING:
                out[key] = cleaned
        return out or MISSING

    def _contact(self, contact: Any, path: str, problems: Problems) -> None:
        """A key contact's phone to E.164 and e-mail normalised, in place (it has no ``raw``)."""
        if type(contact) is not dict:
            return
        if type(phone := contact.get("phone")) is str:
            number = to_e164(phone, self.default_region)
            if number is None:
                problems.append((f"{path}.phone", invalid_phone(self.default_region)))
            else:
                contact["phone"] = number
        if type(email := contact.get("email")) is str:
            address, problem = normalize_email(email)
            if address is None:
                problems.append((f"{path}.email", problem or INVALID_EMAIL))
            else:
                contact["email"] = address


def _emails(emails: list[Any], problems: Problems) -> Any:
    out: list[Any] = []
    seen: set[str] = set()
    cleaned: Any
    for email in emails:
        if type(email) is not dict or type(email.get("address")) is not str:
            cleaned = clean_value(email)
        else:
            cleaned = clean_mapping(email)
            if cleaned is not MISSING and "address" in cleaned:
                address, problem = normalize_email(cleaned["address"])
                if address is None:
                    problems.append((f"person.emails[{len(out)}].address", problem or INVALID_EMAIL))
                elif address in seen:
                    continue
                else:
                    seen.add(address)
                    _keep_raw(cleaned, email["address"], address)
                    cleaned["address"] = address
        if cleaned is not MISSING:
            out.append(cleaned)
    return out or MISSING


def _keep_raw(cleaned: dict[Any, Any], original: str, normalized: str) -> None:
    """Remember the value as the source wrote it, unless an earlier step already did."""
    if original != normalized and "raw" not in cleaned:
        cleaned["raw"] = original


def _cleaned_list(items: list[Any], clean_item: Callable[[Any], Any]) -> Any:
    out = [cleaned for cleaned in map(clean_item, items) if cleaned is not MISSING]
    return out or MISSING


def _memoised_for_text(clean_item: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``clean_item`` once per distinct mapping of text values (addresses and interactions repeat:
    the same city, the same event at the same time); each caller gets its own copy."""
    cached = lru_cache(maxsize=1 << 14)(lambda items: clean_item(dict(items)))

    def clean(item: Any) -> Any:
        if item.__class__ is not dict:
            return clean_item(item)
        for value in item.values():  # a loop: about twice as fast as all() over a generator here
            if value.__class__ is not str:
                return clean_item(item)
        result = cached(tuple(item.items()))
        return result.copy() if result.__class__ is dict else result
    return clean


@_memoised_for_text
def _address(address: Any) -> Any:
    cleaned = clean_value(address)
    if type(cleaned) is dict and "country" in cleaned:
        cleaned["country"] = country_code(cleaned["country"])
    return cleaned


@_memoised_for_text
def _interaction(interaction: Any) -> Any:
    """Interactions are cleaned like text, except ``details``: source data, kept as it came."""
    if type(interaction) is not dict:
        return clean_value(interaction)
    out: dict[Any, Any] = {}
    for key, value in interaction.items():
        cleaned = copy_json(value) if key == "details" else clean_value(value)
        if cleaned is not MISSING:
            out[key] = cleaned
    return out or MISSING

