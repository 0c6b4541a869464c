"""``manage.py run_settlement [--date YYYY-MM-DD] [--merchant mer_...]``: settle a run date (a thin
wrapper over ``settlements.services.settlement_run``), with a progress bar and a summary. Exit 1
when a merchant failed (recorded on the batch) or another run holds the lock."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from paysys.audit.context import actor_scope
from paysys.errors import PaysysError
from settlements.services import settlement_run


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date must be YYYY-MM-DD, not {value!r}") from None


class Command(BaseCommand):
    help = "Settle every merchant (or one) for a run date; idempotent, resumable."

    def add_arguments(self, parser):
        parser.add_argument("--date", type=_date, default=None, help="Run date (UTC); today by default.")
        parser.add_argument("--merchant", default=None, help="Settle this merchant only (mer_...).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        progress = Progress(
            TextColumn("settling"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=options["no_progress"],
        )
        task = progress.add_task("settle", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            with progress, actor_scope(actor_type="system", actor_id="run_settlement"):
                result = settlement_run(
                    date=options["date"], merchant=options["merchant"], on_progress=on_progress
                )
        except PaysysError as exc:
            raise CommandError(exc.message, returncode=1) from exc
        batch = result.batch
        self.stdout.write(
            f"batch {batch.date}: {result.settled} settled ({result.lines} lines), "
            f"{result.carried_forward} carried forward, {result.failed} failed; "
            f"{batch.settlements_count} settlements in the batch, status {batch.status}; "
            f"{result.breaks} open reconciliation breaks"
        )
        for failure in result.failures:
            self.stdout.write(
                f"FAILED {failure['merchant']} {failure['currency']} livemode={failure['livemode']}: "
                f"{failure['error']}: {failure['message']}"
            )
        if result.failures:
            raise CommandError(f"{len(result.failures)} merchant settlements failed", returncode=1)
