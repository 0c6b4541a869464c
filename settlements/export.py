"""A settlement's lines as CSV: one row per line in ``LINE_COLUMNS`` order, oldest first, amounts
in the currency's minor unit as the API shows them. ``GET /v1/settlements/{id}/lines`` with
``Accept: text/csv`` and ``manage.py export_settlement`` write the same bytes."""

import csv
import io
from collections.abc import Iterator

from settlements.models import Settlement
from settlements.selectors import settlement_line_list
from settlements.serializers import SettlementLineOutput, settlement_line_object

CSV_MEDIA_TYPE = "text/csv"
# Lines read from the database per round trip: memory stays flat for a large settlement.
CSV_CHUNK_SIZE = 2000
# The line's fields as the API shows them, less ``object`` (every row is a line).
LINE_COLUMNS = tuple(name for name in SettlementLineOutput().fields if name != "object")


def settlement_csv_rows(settlement: Settlement) -> Iterator[str]:
    """The CSV text, header first, a chunk of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(LINE_COLUMNS)
    yield flush()
    lines = settlement_line_list(settlement=settlement).order_by("pk")
    for line in lines.iterator(chunk_size=CSV_CHUNK_SIZE):
        row = settlement_line_object(line)
        writer.writerow([row[column] for column in LINE_COLUMNS])
        if buffer.tell() > CSV_CHUNK_SIZE * 64:
            yield flush()
    yield flush()


def settlement_csv(settlement: Settlement) -> str:
    return "".join(settlement_csv_rows(settlement))
