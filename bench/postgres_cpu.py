"""CPU time used by the local PostgreSQL server, for the benchmarks' per-operation figures.

``postgres_cpu_seconds()`` reads ``/proc``: the user and system time of every live ``postgres``
process plus the time of their children that have exited (a backend that disconnected was
reaped by the postmaster, so its time is in the postmaster's ``cutime``/``cstime``). The
difference across a measurement, divided by the operations it ran, is what one operation cost
the database server itself; the machine's cores divided by that cost is the most operations per
second PostgreSQL could serve if it had the whole machine and nothing else ran. It returns None
where there is no local server to read (a remote ``BENCH_DATABASE_URL``, or no ``/proc``).
"""

import os
from pathlib import Path

PROC = Path("/proc")
# Fields of /proc/<pid>/stat after the command name: utime, stime, cutime, cstime (in clock ticks).
UTIME, STIME, CUTIME, CSTIME = 11, 12, 13, 14


def postgres_cpu_seconds() -> float | None:
    if not PROC.is_dir():
        return None
    ticks = 0
    found = False
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        name_end = stat.rindex(")")
        if stat[stat.index("(") + 1 : name_end] != "postgres":
            continue
        found = True
        fields = stat[name_end + 2 :].split()
        ticks += sum(int(fields[i]) for i in (UTIME, STIME, CUTIME, CSTIME))
    return ticks / os.sysconf("SC_CLK_TCK") if found else None


def per_operation_ms(before: float | None, after: float | None, operations: int) -> float | None:
    """Milliseconds of PostgreSQL CPU per operation between two readings."""
    if before is None or after is None or operations <= 0:
        return None
    return (after - before) * 1000 / operations


def ceiling_per_second(cpu_ms_per_operation: float | None) -> float | None:
    """Operations per second the machine's cores allow at that cost, with nothing else running."""
    if not cpu_ms_per_operation:
        return None
    return (os.cpu_count() or 1) * 1000 / cpu_ms_per_operation
