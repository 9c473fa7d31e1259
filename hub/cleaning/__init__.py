"""The cleaning step: normalise a mapped canonical record, then validate it against the schema.

    from hub.cleaning import Cleaner

    record, reasons = Cleaner(default_region="CN").clean(mapped)
    if reasons:  # every problem found, as "<path>: <problem>", never a customer value
        ...quarantine the record with its reasons...

Modules, one job each: ``text`` (NFKC, zero-width characters, whitespace), ``phones`` (E.164),
``emails`` (syntax, lower case), ``names`` (honorifics, Han family/given split, Latin case),
``scripts`` (han/latin/mixed/other), ``fields`` (birth date, country, language, tags) and
``record`` (the ``Cleaner`` that walks a record and collects the reasons).
"""

from hub.cleaning.record import Cleaner

__all__ = ["Cleaner"]
