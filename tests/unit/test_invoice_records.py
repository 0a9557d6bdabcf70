"""The invoice's two declarations of one table: the record a read returns and the update a change
sets. Python's typing cannot derive a partial TypedDict from a dataclass, so they are written twice;
this keeps them from drifting apart."""

from __future__ import annotations

import dataclasses

from invoice_api.records import Invoice, InvoiceUpdate


def test_every_column_an_invoice_change_sets_is_a_column_the_invoice_is_read_with_of_the_same_type() -> None:
    # Given the columns an invoice is read with, and the ones a change may set, as declared
    read = {field.name: field.type for field in dataclasses.fields(Invoice)}
    settable = {name: annotation.__forward_arg__ for name, annotation in InvoiceUpdate.__annotations__.items()}
    # When each settable column is looked up among the read ones
    as_read = {name: read.get(name) for name in settable}
    # Then it is there, with the same type: a change can never write a value the read would not hold
    assert as_read == settable
