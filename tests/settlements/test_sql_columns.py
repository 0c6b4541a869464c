"""The lines a run writes in SQL (settlements/sql/lines_claim.sql) fill every column of the model:
a new field fails here until the statement writes it."""

import re

from settlements.models import SettlementLine
from settlements.persistence import _sql


def test_lines_claim_writes_every_column_of_a_settlement_line():
    statement = _sql("lines_claim")
    columns = re.search(r"INSERT INTO settlements_settlementline\s*\(([^)]*)\)", statement).group(1)
    written = {column.strip() for column in columns.split(",")}
    model = {field.column for field in SettlementLine._meta.concrete_fields if not field.primary_key}
    assert written == model
