"""CPU time used by the local PostgreSQL server (and by a process tree), for per-operation figures.

``postgres_cpu_seconds()`` reads ``/proc``: the user and system time of every live ``postgres``
process plus the time of their children that have exited (a backend that disconnected was
reaped by the postmaster, so its time is in the postmaster's ``cutime``/``cstime``). The
difference across a measurement, divided by the operations it ran, is what one operation cost
the database server itself; the machine's cores divided by that cost is the most operations per
second PostgreSQL could serve if it had the whole machine and nothing else ran. It returns None
where there is no local server to read (a remote ``BENCH_DATABASE_URL``, or no ``/proc``).
``tree_cpu_seconds(pid)`` is the same reading for a process and its children (a gunicorn
master and its workers).
"""

import os
from pathlib import Path

PROC = Path("/proc")
# Fields of /proc/<pid>/stat after the command name: the parent's pid; utime, stime, cutime,
# cstime (in clock ticks).
PPID = 1
UTIME, STIME, CUTIME, CSTIME = 11, 12, 13, 14


def _stats() -> list[tuple[int, str, list[str]]]:
    """(pid, command name, the fields after it) of every live process."""
    stats = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        name_end = stat.rindex(")")
        stats.append((int(entry.name), stat[stat.index("(") + 1 : name_end], stat[name_end + 2 :].split()))
    return stats


def _seconds(rows: list[list[str]]) -> float:
    return sum(int(fields[i]) for fields in rows for i in (UTIME, STIME, CUTIME, CSTIME)) / os.sysconf(
        "SC_CLK_TCK"
    )


def postgres_cpu_seconds() -> float | None:
    if not PROC.is_dir():
        return None
    rows = [fields for _, name, fields in _stats() if name == "postgres"]
    return _seconds(rows) if rows else None


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU of process ``pid`` and its descendants, exited children included; None if it is gone."""
    if not PROC.is_dir():
        return None
    stats = _stats()
    children: dict[int, list[int]] = {}
    fields_of: dict[int, list[str]] = {}
    for child, _, fields in stats:
        fields_of[child] = fields
        children.setdefault(int(fields[PPID]), []).append(child)
    if pid not in fields_of:
        return None
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(fields_of[current])
        todo.extend(children.get(current, []))
    return _seconds(tree)


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
