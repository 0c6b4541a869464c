"""``manage.py verify_audit``: walk every audit chain and recompute every hash.

Exit 0 with a summary when every chain is intact; exit 1 listing each tampered row, gap, broken
link, missing head and missing row count otherwise (see ``paysys.audit.selectors.audit_chain_verify``).
"""

from django.core.management.base import BaseCommand, CommandError

from paysys.audit.context import ACTOR_SYSTEM, actor_scope
from paysys.audit.selectors import audit_chain_verify
from paysys.correlation import correlation_scope


class Command(BaseCommand):
    help = "Verify the audit log's hash chains: report tampered rows and gaps."

    def handle(self, *args, **options):
        with correlation_scope(), actor_scope(actor_type=ACTOR_SYSTEM, actor_id="verify_audit"):
            report = audit_chain_verify()
        if report.ok:
            self.stdout.write(
                f"audit log OK: {report.rows} rows in {report.chains} chains, every hash verified"
            )
            return
        for problem in report.problems:
            self.stdout.write(
                f"{problem.kind}: chain={'-' if problem.chain is None else problem.chain} seq={problem.seq} "
                f"event_id={problem.event_id or '-'} {problem.detail}"
            )
        raise CommandError(
            f"audit log FAILED: {len(report.problems)} problems in {report.rows} rows "
            f"across {report.chains} chains",
            returncode=1,
        )
