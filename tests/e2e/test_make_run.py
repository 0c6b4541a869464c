"""A newcomer's first hour, as a test: `make run` on a machine with no DATABASE_URL, REDIS_URL or
broker (an embedded PostgreSQL under a fresh ``var/``), then every command of the docs/api.md
and docs/payments.md walkthroughs, read from the markdown itself, with seed_demo's one key; then
one Ctrl-C stops everything, the embedded server included, and the next `make run` finds its data.
"""

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
WALKTHROUGHS = ["docs/api.md", "docs/payments.md"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MakeRun:
    var_dir: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text() if self.log else ""

    def start(self) -> None:
        self.log = self.var_dir.parent / f"make-run-{time.monotonic_ns()}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                ["make", "run"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, as a terminal's job is
            )
        deadline = time.monotonic() + 240
        status = None
        while time.monotonic() < deadline and status != 200:
            assert self.process.poll() is None, self.output()[-4000:]
            try:
                status = httpx.get(f"{self.url}/admin/login/", timeout=2).status_code
            except httpx.HTTPError:
                time.sleep(0.5)
        assert status == 200, self.output()[-4000:]
        while time.monotonic() < deadline and "ready" not in self.output():
            time.sleep(0.5)  # the worker says "celery@... ready." once it consumes

    def postmaster_pid(self) -> int | None:
        with contextlib.suppress(FileNotFoundError):
            return int((self.var_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        return None

    def interrupt(self) -> None:
        """What one Ctrl-C does: SIGINT to every process of the terminal's foreground group."""
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=90)

    def kill(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        pid = self.postmaster_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)


@pytest.fixture(scope="module")
def make_run():
    # Not under pytest's own temporary folder: every pytest session on the machine resets that to
    # 0700, and as root the server runs as another user, who must reach its data folder.
    checkout = Path(tempfile.mkdtemp(prefix="paysys-make-run-"))
    var_dir = checkout / "var"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    port = _free_port()
    env.update(
        PAYSYS_VAR_DIR=str(var_dir), PAYSYS_PORT=str(port), PAYSYS_ENV="development", LOG_LEVEL="WARNING"
    )
    run = MakeRun(var_dir=var_dir, port=port, env=env)
    try:
        run.start()
        yield run
    finally:
        run.kill()
        shutil.rmtree(checkout, ignore_errors=True)


def _seeded_key(output: str) -> str:
    return re.findall(r"minted this run.*?(sk_test_\w+)", output)[-1]


def test_make_run_serves_admin_health_and_the_api_from_the_embedded_postgresql(make_run):
    output = make_run.output()
    assert "embedded PostgreSQL" in output
    assert (make_run.var_dir / "postgres" / "PG_VERSION").read_text().strip() == "18"
    assert make_run.postmaster_pid() is not None
    assert "beat" in output and "ready" in output, output[-3000:]
    assert httpx.get(f"{make_run.url}/healthz", timeout=5).status_code == 200
    ready = httpx.get(f"{make_run.url}/readyz", timeout=5)
    assert ready.status_code == 200, ready.text
    key = _seeded_key(output)
    balance = httpx.get(f"{make_run.url}/v1/balance", headers={"Authorization": f"Bearer {key}"}, timeout=5)
    assert balance.status_code == 200, balance.text


# --- The walkthroughs, read from the markdown ---------------------------------------------------

FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
# An id in an example or a response: the JSON key it is under (if any), its prefix and the id.
ID = re.compile(r'(?:"(?P<key>\w+)":\s*")?(?P<id>(?P<prefix>[a-z]+(?:_test)?)_[A-Za-z0-9]{16,})\b')
STATUS = re.compile(r"^(?:HTTP/[\d.]+\s+)?(\d{3})\b")


@dataclass
class Command:
    where: str  # file:line
    text: str
    example: str = ""  # the output the docs show for it


def walkthrough_commands(relative: str) -> list[Command]:
    """Every command of the ``sh`` blocks of a markdown file, in order, each with the output the
    docs show for it: ``#`` lines right after it, or the block that directly follows its block."""
    lines = (ROOT / relative).read_text().splitlines()
    blocks: list[tuple[str, int, list[str], int]] = []  # (language, first line, lines, last line)
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, language = len(opening[1]), opening[2]
        body, start = [], index + 1
        index += 1
        while not FENCE.match(lines[index]):
            body.append(lines[index][indent:])
            index += 1
        blocks.append((language, start, body, index))
        index += 1

    commands: list[Command] = []
    for position, (language, start, body, end) in enumerate(blocks):
        if language != "sh":
            continue
        ours: list[Command] = []
        buffer, buffer_start = "", start
        for offset, line in enumerate(body):
            if not buffer and (not line.strip() or line.lstrip().startswith("#")):
                if ours and line.strip():
                    ours[-1].example += line.lstrip()[1:].strip() + "\n"
                continue
            if not buffer:
                buffer_start = start + offset + 1
            buffer += line + "\n"
            if line.rstrip().endswith("\\"):
                continue
            try:
                shlex.split(buffer, comments=True)
            except ValueError:
                continue  # a quoted argument goes on over the next line
            ours.append(Command(f"{relative}:{buffer_start}", buffer.rstrip()))
            buffer = ""
        assert not buffer, f"{relative}:{buffer_start}: unfinished command"
        following = blocks[position + 1] if position + 1 < len(blocks) else None
        if (
            ours
            and following
            and following[0] in ("json", "")
            and not any(text.strip() for text in lines[end + 1 : following[1] - 1])
        ):
            ours[-1].example += "\n".join(following[2])
        commands += ours
    return commands


def _learn_ids(example: str, actual: str, ids: dict[str, str]) -> None:
    """Pair each id the docs show with the one the server gave at the same place (same JSON key,
    same prefix, same rank), so later commands run with the real ids."""
    real: dict[tuple, list[str]] = defaultdict(list)
    for found in ID.finditer(actual):
        real[(found["key"], found["prefix"])].append(found["id"])
    rank: Counter = Counter()
    for shown in ID.finditer(example):
        place = (shown["key"], shown["prefix"])
        if shown["id"] not in ids and rank[place] < len(real[place]):
            ids[shown["id"]] = real[place][rank[place]]
        rank[place] += 1


def _substitute(text: str, ids: dict[str, str]) -> str:
    for shown, real in ids.items():
        text = text.replace(shown, real)
    return text


def _expected_status(example: str) -> int | None:
    first = next((line for line in example.splitlines() if line.strip()), "")
    found = STATUS.match(first.strip())
    return int(found[1]) if found else None


def _run_walkthrough(make_run: MakeRun, key: str) -> list[tuple[str, int]]:
    shell_env = {**make_run.env, "PAYSYS": make_run.url, "KEY": key}
    ids: dict[str, str] = {}
    _learn_ids(next(c.example for c in walkthrough_commands("docs/api.md") if c.text == "make run"),
               make_run.output(), ids)  # fmt: skip
    statuses = []
    for relative in WALKTHROUGHS:
        for command in walkthrough_commands(relative):
            text = _substitute(command.text, ids)
            words = shlex.split(text, comments=True)
            where = f"{command.where}: {command.text}"
            if words == ["make", "run"]:
                continue  # running: the fixture started it exactly so
            if words[0] == "export":
                for assignment in words[1:]:
                    name, _, value = assignment.partition("=")
                    if name not in {"PAYSYS", "KEY"}:  # the server's address and seed_demo's key
                        shell_env[name] = value
                continue
            if words[:2] == [".venv/bin/python", "manage.py"]:
                done = subprocess.run(
                    ["bash", "-c", text], cwd=ROOT, env=shell_env, capture_output=True, text=True, timeout=120
                )
                assert done.returncode == 0, f"{where}\n{done.stdout}\n{done.stderr}"
                _learn_ids(command.example, done.stdout, ids)
                continue
            assert words[0] == "curl", f"{where}: a command this test does not know how to check"
            done = subprocess.run(
                ["bash", "-c", text + " --max-time 30 -w '\n%{http_code}'"],
                cwd=ROOT,
                env=shell_env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, f"{where}\n{done.stderr}"
            body, _, status = done.stdout.rpartition("\n")
            expected = _expected_status(command.example)
            if expected is None:
                assert 200 <= int(status) < 300, f"{where}\n{status} {body}"
            else:
                assert int(status) == expected, f"{where}\nexpected {expected}, got {status} {body}"
            shown_code = re.search(r'"code": "(\w+)"', command.example)
            if int(status) >= 400 and shown_code:
                assert f'"code":"{shown_code[1]}"' in body.replace('": "', '":"'), f"{where}\n{body}"
            _learn_ids(command.example, body, ids)
            statuses.append((command.where, int(status)))
    return statuses


def test_the_docs_walkthroughs_run_call_by_call_with_seed_demos_key(make_run):
    statuses = _run_walkthrough(make_run, _seeded_key(make_run.output()))
    # Every curl of both files ran (the count comes from the markdown, so it cannot drift).
    curls = [c for r in WALKTHROUGHS for c in walkthrough_commands(r) if c.text.startswith("curl")]
    assert len(statuses) == len(curls) >= 20
    assert {where.split(":")[0] for where, _ in statuses} == set(WALKTHROUGHS)
    assert any(status >= 400 for _, status in statuses)  # the documented refusals ran and matched


def test_one_ctrl_c_stops_everything_and_the_next_make_run_finds_its_data(make_run):
    first_key = _seeded_key(make_run.output())
    postgres = make_run.postmaster_pid()
    assert postgres is not None

    make_run.interrupt()
    _assert_all_stopped(make_run, postgres)

    make_run.start()  # the same var/: the data survives the server
    try:
        output = make_run.output()
        assert "No migrations to apply" in output, output[-3000:]
        assert re.search(r"Demo merchant mer_\w+ \(already there\)", output), output[-3000:]
        balance = httpx.get(
            f"{make_run.url}/v1/balance", headers={"Authorization": f"Bearer {first_key}"}, timeout=5
        )
        assert balance.status_code == 200, balance.text  # the first run's key is still there
        postgres = make_run.postmaster_pid()
    finally:
        make_run.interrupt()
    _assert_all_stopped(make_run, postgres)


def _assert_all_stopped(make_run: MakeRun, postgres: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        group_alive = True
        try:
            os.killpg(make_run.process.pid, 0)
        except ProcessLookupError:
            group_alive = False
        try:
            os.kill(postgres, 0)
        except ProcessLookupError:
            if not group_alive:
                break
        time.sleep(0.5)
    else:
        raise AssertionError("processes survived the interrupt:\n" + make_run.output()[-3000:])
    assert not (make_run.var_dir / "postgres" / "postmaster.pid").exists()
