"""``manage.py export_settlement SET_ID [--output FILE]``: a settlement's lines as CSV, the same
bytes ``GET /v1/settlements/{id}/lines`` answers with ``Accept: text/csv``."""

from django.core.management.base import BaseCommand, CommandError

from paysys.errors import PaysysError
from settlements.export import settlement_csv_rows
from settlements.selectors import settlement_by_public_id


class Command(BaseCommand):
    help = "Write a settlement's lines as CSV (to stdout, or --output FILE)."

    def add_arguments(self, parser):
        parser.add_argument("settlement_id", help="The settlement's id (set_...).")
        parser.add_argument("--output", default=None, help="A file to write instead of stdout.")

    def handle(self, *args, **options):
        try:
            settlement = settlement_by_public_id(settlement_id=options["settlement_id"])
        except PaysysError as exc:
            raise CommandError(exc.message, returncode=1) from exc
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                out.writelines(settlement_csv_rows(settlement))
        else:
            for chunk in settlement_csv_rows(settlement):
                self.stdout.write(chunk, ending="")
