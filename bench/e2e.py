"""End-to-end benchmark: the real app as `python -m bot run` serves it, driven like Slack,
against baselines.

    python -m bench.e2e [--quick] [--people 50] [--conversations 10000] [--pg-url URL]
                        [--rate-limit]

Starts the fake Slack Web API (``python -m bot.testing.slack_api``, a subprocess) and,
one after the other, five servers:

* ours: ``python -m bot run --mode http`` (the Procfile's web process: waitress,
  ``HTTP_THREADS`` request threads, kept on one CPU by ``SERVER_CPU=auto``);
* (a) ``bench.e2e_baselines:bare_pbr``: Bolt, ack-only listeners,
  ``process_before_response=True``;
* (b) ``bench.e2e_baselines:bare_default``: the same in Bolt's default mode;
* (c) ``bench.e2e_baselines:naive``: the same flow, state in a SQLite table,
  Slack called synchronously in the listener after ``ack()``;
* (c1) the naive bot again, its processes kept on one CPU as ours keeps itself
  (skipped where the machine has one CPU): ours' code against its on equal footing.

The baselines run under gunicorn (``bench/e2e_gunicorn_conf.py``: one gthread
worker with as many threads as ours has), as they always have, so that ratios to
them also show what the app's own HTTP front costs.

N simulated people (threads, one channel and one keep-alive connection each)
run whole conversations by signed button clicks; one poller thread reads what
the fake received and hands each posted question to its person. A separate
thread sends unrelated channel messages (no thread_ts) at a steady rate, and a
short dedicated phase measures their handling rate and checks that the app
writes nothing to its database for them. ``--rate-limit`` runs only the
rate-limit drain phase (200 conversations started at once in one channel
against a fake limiting chat.postMessage to 1/s per channel); the full run
includes it and ``--quick`` skips it.

A "step" is one request a person sends: the slash command or a button click.
Nothing here asserts; the last table says which targets were met.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import os
import queue
import random
import re
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.flow.loader import load_flow
from bot.slack import blocks
from bot.testing.slack_control import FakeSlackRemote
from bot.testing.slack_requests import (
    SlackClientSim,
    block_actions_body,
    message_event_body,
    slash_command_body,
)

ROOT = Path(__file__).resolve().parents[1]
SECRET = "e2e-bench-signing-secret"
TOKEN = "xoxb-bench"
TEAM = "T0BENCH"
COMMAND = "/llm-cost"
CHATTER_CHANNEL = "C0CHATTER"
STEADY_CHATTER_PER_S = 20.0
DB_FILE = "llm-cost-bot.sqlite3"
LOG_PROBLEM = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback")
TABLES = ("seen_events", "outbox", "conversations", "recommendations")
# Paths through the flowchart (button labels in order), cycled by the people.
PATHS: list[tuple[str, ...]] = [
    ("Training", "10-100B params", "Active"),
    ("Inference", "Ultra-low <100ms", "High", "KV Cache"),
    ("Training", "1-10B params", "Cost", "Checkpoints"),
    ("Inference", "Standard 100-500ms", "Cost", "Yes", "Prompt Cache"),
    ("Training", "Trillion+ params", "Archive"),
    ("Inference", "Standard 100-500ms", "Throughput", "No Cache"),
    ("Training", "1-10B params", "Performance", "Active"),
    ("Inference", "Ultra-low <100ms", "Medium", "Prompt Cache"),
]
AVG_STEPS = 1 + sum(len(p) for p in PATHS) / len(PATHS)  # requests per conversation
# Acks are also compared at one common load, below saturation as a service is run:
# this share of ours' maximum steps/s, for ours, (a) and (b) alike.
PACED_SHARE = 0.5

OURS, BARE_PBR, BARE_DEFAULT, NAIVE = "ours", "(a) bare pbr", "(b) bare default", "(c) naive"
NAIVE_ONE_CPU = "(c1) naive 1 CPU"
VARIANTS = {
    OURS: (None, None, None),  # python -m bot run --mode http
    BARE_PBR: ("bench.e2e_gunicorn_conf", "bench.e2e_baselines:bare_pbr", "bare_pbr"),
    BARE_DEFAULT: ("bench.e2e_gunicorn_conf", "bench.e2e_baselines:bare_default", "bare_default"),
    NAIVE: ("bench.e2e_gunicorn_conf", "bench.e2e_baselines:naive", "naive"),
    # The naive bot with its processes kept on one CPU, as ours keeps itself
    # (SERVER_CPU=auto): what ours' code costs against its on equal footing.
    NAIVE_ONE_CPU: ("bench.e2e_gunicorn_conf", "bench.e2e_baselines:naive", "naive"),
}


def one_cpu() -> int | None:
    """The CPU (c1) runs on, or None where a process cannot be kept on one."""
    from bot.cli.cpu import allowed_cpus

    allowed = allowed_cpus()
    return min(allowed) if len(allowed) >= 2 else None


def log(text: str) -> None:
    print(text, flush=True)


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(**extra: str) -> dict[str, str]:
    """The environment without proxies (slack_sdk would use them even for 127.0.0.1)."""
    env = {k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **extra)
    return env


# ---- processes -------------------------------------------------------------------------


class Processes:
    """Every subprocess we start, stopped in reverse order however the run ends."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, args: list[str], env: dict[str, str], **kw: Any) -> subprocess.Popen:
        proc = subprocess.Popen(args, env=env, cwd=str(ROOT), start_new_session=True, **kw)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 15.0) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # its own session: gunicorn workers
                proc.wait(5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc, timeout=10)


PROCS = Processes()


def start_fake(rate_limit: float | None = None) -> tuple[subprocess.Popen, str]:
    args = [sys.executable, "-m", "bot.testing.slack_api", "--host", "127.0.0.1", "--port", "0"]
    if rate_limit:
        args += ["--rate-limit-per-channel", str(rate_limit)]
    proc = PROCS.start(args, child_env(), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if sel.select(timeout=0.5):
            line = proc.stdout.readline()
            if line.startswith("READY "):
                sel.close()
                return proc, line.split()[1]
            if not line:
                break
    raise RuntimeError("the fake Slack did not print READY")


@dataclass
class Server:
    """One server process (for a baseline, a gunicorn master and its workers)."""

    name: str
    proc: subprocess.Popen
    port: int
    data_dir: Path
    command: str
    stderr_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def worker_pids(self) -> list[int]:
        pid = self.proc.pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
            return [int(p) for p in text.split()]
        except OSError:
            found = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(stat.parent.name))
            return found

    def serving_pids(self) -> list[int]:
        """The processes that serve requests: gunicorn's workers, or ours itself."""
        return self.worker_pids() or [self.proc.pid]

    def cpus(self) -> str:
        """The CPUs the serving processes' threads may run on (``Cpus_allowed_list``;
        several lists when they differ): whether the server kept itself on one."""
        lists: set[str] = set()
        for pid in self.serving_pids():
            for status in Path(f"/proc/{pid}/task").glob("*/status"):
                with contextlib.suppress(OSError, StopIteration):
                    lines = status.read_text().splitlines()
                    lists.add(next(x for x in lines if x.startswith("Cpus_allowed_list:")))
        return " / ".join(sorted(x.split()[1] for x in lists)) or "?"

    def cpu_seconds(self) -> float:
        """User + system CPU time of the serving processes so far (all their threads)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.serving_pids():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def rss_kb(self) -> tuple[int, int, int]:
        """(serving processes' VmRSS summed, the started process's, how many), in kB."""
        serving = self.serving_pids()
        return sum(vm_rss(p) for p in serving), vm_rss(self.proc.pid), len(serving)

    def log_problems(self, examples: int = 4) -> tuple[int, list[str]]:
        """Warning, error and traceback lines in gunicorn's stderr: (count, a few distinct)."""
        count, seen = 0, []
        with contextlib.suppress(OSError):
            for line in self.stderr_path.read_text(errors="replace").splitlines():
                found = LOG_PROBLEM.search(line)
                if not found:
                    continue
                count += 1
                text = line[found.start() :][:200]
                key = re.sub(r"\d+", "N", text)[:80]
                if len(seen) < examples and all(key != k for k, _ in seen):
                    seen.append((key, text))
        return count, [text for _, text in seen]

    def stderr_tail(self, n: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.stderr_path.read_text(errors="replace")[-n:]
        return ""


def vm_rss(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_server(name: str, api_url: str, pg_url: str | None, tmp: Path) -> Server:
    conf, app, baseline = VARIANTS[name]
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix=f"{re.sub(r'[^a-z]+', '_', name)}-", dir=tmp))
    env = child_env(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api_url,
        SLACK_APP_TOKEN="",
        HOST="127.0.0.1",
        PORT=str(port),
        DATA_DIR=str(data_dir),
        LOG_LEVEL="WARNING",
        E2E_BASELINE=baseline or "",
        # Every simulated person connects from 127.0.0.1, as clients behind a load
        # balancer do: the per-address cap is for the open internet.
        HTTP_CONNECTIONS_PER_ADDRESS="0",
    )
    env.pop("DATABASE_URL", None)
    if pg_url and name == OURS:
        env["DATABASE_URL"] = pg_url
    if conf is None:
        args = [sys.executable, "-m", "bot", "run", "--mode", "http"]
    else:
        args = [str(Path(sys.executable).parent / "gunicorn"), "-c", f"python:{conf}", app]
    logs = Path(os.environ.get("E2E_LOG_DIR") or data_dir)
    logs.mkdir(parents=True, exist_ok=True)
    stderr_path = logs / f"{data_dir.name}.server.stderr"
    stderr = stderr_path.open("w")
    if name == NAIVE_ONE_CPU:
        env["E2E_CPU"] = str(one_cpu())  # bench/e2e_gunicorn_conf.py: on_starting
    try:
        proc = PROCS.start(args, env, stdout=subprocess.DEVNULL, stderr=stderr)
    finally:
        stderr.close()
    shown = ["python" if args[0] == sys.executable else "gunicorn", *args[1:]]
    server = Server(name, proc, port, data_dir, " ".join(shown), stderr_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name}: the server exited:\n{server.stderr_tail()}")
        with contextlib.suppress(OSError):
            url = f"http://127.0.0.1:{port}/healthz"
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200 and (conf is None or server.worker_pids()):
                    return server
        time.sleep(0.1)
    raise RuntimeError(f"{name}: /healthz did not answer 200 in time:\n{server.stderr_tail()}")


# ---- what the fake received ------------------------------------------------------------


@dataclass
class Posted:
    """A chat.postMessage the fake accepted."""

    index: int
    time: float
    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list[dict]

    def buttons(self) -> list[dict]:
        return [
            {**element, "_block": block.get("block_id", "b")}
            for block in self.blocks
            if block.get("type") == "actions"
            for element in block.get("elements", [])
        ]

    @property
    def kind(self) -> str:
        """ "question", "result" or "other"."""
        for button in self.buttons():
            action = str(button.get("action_id", ""))
            if action.startswith(blocks.ANSWER_ACTION):
                return "question"
            if action == blocks.RESTART_ACTION:
                return "result"
        return "other"

    def cid_step(self) -> tuple[str, int] | None:
        for button in self.buttons():
            parts = str(button.get("value", "")).split(":")
            if len(parts) == 3 and parts[1].isdigit():
                return parts[0], int(parts[1])
        return None


class Poller(threading.Thread):
    """The one thread that reads the fake's calls and hands posts to people by channel."""

    def __init__(self, api_url: str, interval: float = 0.003, keep: bool = False) -> None:
        super().__init__(name="poller", daemon=True)
        self.remote = FakeSlackRemote(api_url.rsplit("/api/", 1)[0] + "/", timeout=10)
        self.interval = interval
        self.keep = keep
        self.since = 0
        self.boxes: dict[str, queue.Queue[Posted]] = {}
        self.kept: list[Posted] = []
        self.refused = Counter()  # status or error of chat.postMessage calls not accepted
        self.errors = 0
        self._halt = threading.Event()

    def box(self, channel: str) -> queue.Queue[Posted]:
        return self.boxes.setdefault(channel, queue.Queue())

    def drop(self, channel: str) -> None:
        self.boxes.pop(channel, None)

    def poll_once(self) -> int:
        """Posts, and edits (the last question is edited into the result)."""
        calls = self.remote.calls(since=self.since)
        for call in calls:
            self.since = max(self.since, int(call["index"]) + 1)
            method = call.get("method")
            if method not in ("chat.postMessage", "chat.update"):
                continue
            response = call.get("response") or {}
            if call.get("status") != 200 or not response.get("ok"):
                if method == "chat.postMessage":
                    self.refused[f"{call.get('status')} {response.get('error')}"] += 1
                continue
            params = call.get("params") or {}
            posted = Posted(
                int(call["index"]),
                float(call["time"]),
                str(params.get("channel")),
                str(response.get("ts")),
                str(params["thread_ts"]) if params.get("thread_ts") else None,
                str(params.get("text") or ""),
                params.get("blocks") if isinstance(params.get("blocks"), list) else [],
            )
            if self.keep and method == "chat.postMessage":
                self.kept.append(posted)
            box = self.boxes.get(posted.channel)
            if box is not None:
                box.put(posted)
        return len(calls)

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.poll_once()
            except Exception:
                self.errors += 1
                if self.errors > 100:
                    raise
                time.sleep(0.1)
            self._halt.wait(self.interval)

    def stop(self) -> None:
        """Stop polling, then read what is left once."""
        if self.is_alive():
            self._halt.set()
            self.join(5)
            self.poll_once()

    def close(self) -> None:
        self.stop()
        self.remote.close()


# ---- people ------------------------------------------------------------------------------


@dataclass
class Stats:
    finished: int = 0
    lost: int = 0  # conversations abandoned: a message never came
    bad_status: Counter = field(default_factory=Counter)
    click_ack: list[float] = field(default_factory=list)
    command_ack: list[float] = field(default_factory=list)
    click_to_next: list[float] = field(default_factory=list)
    command_to_first: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: float = 0.0  # the server's CPU seconds while these steps ran
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, name: str, status: int | None = None) -> None:
        with self.lock:
            if status is not None:
                self.bad_status[status] += 1
            else:
                setattr(self, name, getattr(self, name) + 1)

    @property
    def steps(self) -> int:
        return len(self.click_ack) + len(self.command_ack)

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.elapsed if self.elapsed else 0.0

    @property
    def cpu_ms_per_step(self) -> float | None:
        return self.cpu / self.steps * 1000 if self.steps and self.cpu else None


class Budget:
    """Hands out conversation numbers up to a count and a deadline."""

    def __init__(self, count: int, seconds: float) -> None:
        self.count = count
        self.deadline = time.monotonic() + seconds
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self.timed_out = False

    def take(self) -> int | None:
        with self._lock:
            if time.monotonic() > self.deadline:
                self.timed_out = True
                return None
            n = next(self._numbers)
            return n if n < self.count else None


def sample_blocks() -> list[dict]:
    flow = load_flow()
    from bot.conversation import Conversation

    conversation = Conversation.start(flow)
    question = conversation.question()
    assert question is not None
    message = blocks.question_message(
        question, uuid.uuid4().hex, conversation.step, conversation.progress()
    )
    return message["blocks"]


class Person:
    def __init__(
        self, i: int, server: Server, stats: Stats, poller: Poller | None, tag: str = "X"
    ) -> None:
        self.i = i
        self.tag = tag  # unique per drive(): channels are never reused across phases or runs
        self.channel = f"C0P{i:04d}"
        self.user = f"U0P{i:04d}"
        self.server = server
        self.stats = stats
        self.client = SlackClientSim(timeout=15)
        self.poller = poller
        self.box: queue.Queue[Posted] | None = None
        self._ts = 1_800_000_000.0 + i * 1_000_000
        self._due: float | None = None

    def _post(self, body: bytes) -> float:
        start = time.perf_counter()
        status, _, _ = self.client.post(self.server.url, body, secret=SECRET)
        took = time.perf_counter() - start
        if status != 200:
            self.stats.count("bad_status", status)
        return took

    def command(self) -> float:
        body = slash_command_body(
            COMMAND, team_id=TEAM, channel_id=self.channel, user_id=self.user, user_name="bench"
        )
        took = self._post(body)
        self.stats.command_ack.append(took)
        return took

    def click(self, button: dict, message_ts: str, thread_ts: str | None, msg_blocks) -> None:
        body = block_actions_body(
            action_id=button["action_id"],
            value=button["value"],
            block_id=button["_block"],
            message_ts=message_ts,
            thread_ts=thread_ts,
            channel_id=self.channel,
            user_id=self.user,
            team_id=TEAM,
            message_blocks=msg_blocks,
            button_text=button["text"]["text"],
        )
        self.stats.click_ack.append(self._post(body))

    def wait(self, match: Callable[[Posted], bool], timeout: float) -> Posted | None:
        assert self.box is not None
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                posted = self.box.get(timeout=left)
            except queue.Empty:
                return None
            if match(posted):
                return posted
        return None

    # A conversation through the real flow (ours and the naive bot).
    def converse(self, n: int, timeout: float, done: set[str], pace: float | None = None) -> None:
        """`pace`: seconds between this person's steps (None: as soon as the next question
        is there)."""
        assert self.poller is not None
        self.new_channel(n)
        self.box = self.poller.box(self.channel)
        try:
            self._converse(n, timeout, done, pace)
        finally:
            self.poller.drop(self.channel)

    def new_channel(self, n: int) -> None:
        """A channel of this person's own per conversation: a person who ran conversations
        back to back in one channel would meet the app's pacing at 1 post/s per channel
        (Slack's limit) after the first one, and we would measure the pacing."""
        self.channel = f"C{self.tag}P{self.i:04d}N{n:06d}"

    def _converse(self, n: int, timeout: float, done: set[str], pace: float | None) -> None:
        path = PATHS[n % len(PATHS)]
        self._pace(pace)
        sent = time.time()
        self.command()

        def first_question(p: Posted) -> bool:
            cs = p.cid_step()
            return p.kind == "question" and cs is not None and cs[0] not in done

        message = self.wait(first_question, timeout)
        if message is None:
            self.stats.count("lost")
            return
        self.stats.command_to_first.append(message.time - sent)
        cid, step = message.cid_step() or ("", 0)
        done.add(cid)
        for label in path:
            button = next((b for b in message.buttons() if b["text"]["text"] == label), None)
            if button is None:
                raise RuntimeError(f"no button {label!r} in {message.text!r}")
            self._pace(pace)
            sent = time.time()
            self.click(button, message.ts, message.thread_ts, message.blocks)

            def next_message(p: Posted, step: int = step) -> bool:
                cs = p.cid_step()
                return cs is not None and cs[0] == cid and cs[1] > step

            reply = self.wait(next_message, timeout)
            if reply is None:
                self.stats.count("lost")
                return
            self.stats.click_to_next.append(reply.time - sent)
            message = reply
            step = (message.cid_step() or ("", 0))[1]
        if message.kind == "result":
            self.stats.count("finished")
        else:
            self.stats.count("lost")

    # The same request mix without waiting (bare baselines: there is no next question).
    def blast(self, n: int, block_list: list[dict], pace: float | None = None) -> None:
        """`pace`: seconds between this person's steps (None: as fast as acks come back)."""
        path = PATHS[n % len(PATHS)]
        self.new_channel(n)
        self._pace(pace)
        self.command()
        cid = uuid.uuid4().hex
        thread_ts = f"{self._next_ts():.6f}"
        for step, _label in enumerate(path, start=1):
            button = {
                "action_id": f"{blocks.ANSWER_ACTION}1",
                "value": blocks.button_value(cid, step, 1),
                "_block": f"q{step}",
                "text": {"type": "plain_text", "text": "Training"},
            }
            self._pace(pace)
            self.click(button, f"{self._next_ts():.6f}", thread_ts, block_list)
        self.stats.count("finished")

    def _pace(self, pace: float | None) -> None:
        if not pace:
            return
        now = time.monotonic()
        if self._due is None:
            self._due = now + random.uniform(0, pace)  # spread the people out
        if self._due > now:
            time.sleep(self._due - now)
        self._due = max(self._due, time.monotonic() - pace) + pace

    def _next_ts(self) -> float:
        self._ts += 1
        return self._ts


def drive(
    server: Server,
    people: int,
    conversations: int,
    poller: Poller | None,
    seconds: float,
    wait_timeout: float,
    pace: float | None = None,
) -> tuple[Stats, bool]:
    """Run `conversations` conversations with `people` threads; (stats, timed out?).
    With a poller, the people follow the flow; without, they send the same request mix
    without waiting (or one step per `pace` seconds each)."""
    stats = Stats()
    budget = Budget(conversations, seconds)
    block_list = sample_blocks()
    errors: list[BaseException] = []
    tag = uuid.uuid4().hex[:5].upper()

    def run(i: int) -> None:
        person = Person(i, server, stats, poller, tag)
        done: set[str] = set()
        try:
            while (n := budget.take()) is not None:
                if poller is not None:
                    person.converse(n, wait_timeout, done, pace)
                else:
                    person.blast(n, block_list, pace)
        except BaseException as exc:
            errors.append(exc)
        finally:
            person.client.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(people)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, budget.deadline - time.monotonic() + wait_timeout + 20))
    stats.elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return stats, budget.timed_out


# ---- unrelated channel messages ----------------------------------------------------------


class Chatter:
    """Message events without thread_ts, from a separate thread (or several)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.bad = Counter()
        self._lock = threading.Lock()
        self.latency: list[float] = []
        self._ts = itertools.count(1)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _send(self, client: SlackClientSim) -> None:
        ts = f"{1_700_000_000 + next(self._ts) / 1000:.6f}"
        body = message_event_body(
            text="lunch anyone?", user_id="U0CHAT", channel_id=CHATTER_CHANNEL, ts=ts, team_id=TEAM
        )
        start = time.perf_counter()
        status, _, _ = client.post(self.server.url, body, secret=SECRET)
        self.latency.append(time.perf_counter() - start)
        if status != 200:
            with self._lock:
                self.bad[status] += 1

    @property
    def sent(self) -> int:
        return len(self.latency)

    def start_steady(self, per_second: float, max_seconds: float) -> None:
        def run() -> None:
            with SlackClientSim(timeout=15) as client:
                start = time.monotonic()
                for k in itertools.count():
                    if self._stop.is_set() or time.monotonic() - start > max_seconds:
                        return
                    self._send(client)
                    due = start + (k + 1) / per_second
                    self._stop.wait(max(0.0, due - time.monotonic()))

        thread = threading.Thread(target=run, name="chatter", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(20)

    def burst(self, threads: int, seconds: float) -> float:
        """As fast as `threads` senders can for `seconds`; returns messages per second."""
        deadline = time.monotonic() + seconds

        def run() -> None:
            with SlackClientSim(timeout=15) as client:
                while time.monotonic() < deadline:
                    self._send(client)

        workers = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join(seconds + 30)
        return self.sent / (time.perf_counter() - start)


# ---- the app's database ------------------------------------------------------------------


class AppDB:
    """Read-only looks at the app's database (SQLite file in DATA_DIR, or PostgreSQL)."""

    def __init__(self, server: Server, pg_url: str | None) -> None:
        from bot.store.engine import normalise_url

        self.sqlite_path = None if pg_url else server.data_dir / DB_FILE
        url = normalise_url(pg_url) if pg_url else f"sqlite:///{self.sqlite_path}"
        self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self._version_conn: Any = None
        if self.sqlite_path is not None:
            import sqlite3

            self._version_conn = sqlite3.connect(self.sqlite_path, isolation_level=None)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def outbox_status(self, channel: str | None = None) -> Counter:
        sql = "SELECT o.status, count(*) FROM outbox o"
        if channel is not None:
            sql += " JOIN conversations c ON c.id = o.conversation_id WHERE c.channel = :channel"
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(sql + " GROUP BY o.status"), {"channel": channel}).all()
        return Counter({status: n for status, n in rows})

    def failed_errors(self, channel: str, limit: int = 5) -> list[str]:
        sql = (
            "SELECT o.kind, o.ref, o.attempts, o.error FROM outbox o JOIN conversations c "
            "ON c.id = o.conversation_id WHERE c.channel = :channel AND o.status = 'failed' "
            "ORDER BY o.id LIMIT :limit"
        )
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(sql), {"channel": channel, "limit": limit}).all()
        return [f"{r.kind} {r.ref or ''} after {r.attempts} attempts: {r.error}" for r in rows]

    def snapshot(self) -> dict[str, Any]:
        """Row counts, plus SQLite's data_version (changes when any other connection commits)."""
        snap: dict[str, Any] = {
            table: self.scalar(f"SELECT count(*) FROM {table}") for table in TABLES
        }
        if self._version_conn is not None:
            snap["data_version"] = self._version_conn.execute("PRAGMA data_version").fetchone()[0]
            for suffix in ("", "-wal"):
                path = Path(f"{self.sqlite_path}{suffix}")
                with contextlib.suppress(OSError):
                    st = path.stat()
                    snap[f"file{suffix}"] = (st.st_size, st.st_mtime_ns)
        else:  # the newest row version's transaction id per table: any insert or update moves it
            for table in TABLES:
                snap[f"{table} max(xmin)"] = self.scalar(
                    f"SELECT coalesce(max(xmin::text::bigint), 0) FROM {table}"
                )
        return snap

    def close(self) -> None:
        if self._version_conn is not None:
            self._version_conn.close()
        self.engine.dispose()


def wait_outbox_empty(db: AppDB, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    pending = -1
    while time.monotonic() < deadline:
        pending = db.outbox_status().get("pending", 0)
        if pending == 0:
            return 0
        time.sleep(0.1)
    return pending


def db_writes(before: dict[str, Any], after: dict[str, Any]) -> tuple[int, str]:
    """(rows added or removed, or 1 when only a version marker moved; details)."""
    rows = sum(abs(after[t] - before[t]) for t in TABLES)
    details = [f"{t} {before[t]}->{after[t]}" for t in TABLES]
    markers = [k for k in before if k not in TABLES and not k.startswith("file")]
    moved = [k for k in markers if before[k] != after.get(k)]
    details.append(
        f"{', '.join(markers)} " + ("CHANGED: " + ", ".join(moved) if moved else "unchanged")
    )
    if "file" in before:
        same = all(before.get(k) == after.get(k) for k in ("file", "file-wal"))
        details.append("db and -wal files " + ("unchanged" if same else "CHANGED"))
        moved += [] if same else ["files"]
    return max(rows, 1 if moved else 0), "; ".join(details)


# ---- one variant -------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    stats: Stats
    unrelated_rate: float = 0.0
    unrelated_bad: Counter = field(default_factory=Counter)
    steady_sent: int = 0
    steady_bad: Counter = field(default_factory=Counter)
    rss: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    db_writes: tuple[int, str] | None = None
    timed_out: bool = False
    paced: Stats | None = None  # every variant but (c) at the same load: PACED_SHARE of ours'
    warm: Stats | None = None
    log_problems: tuple[int, list[str]] = (0, [])
    refused: Counter = field(default_factory=Counter)
    outbox: Counter = field(default_factory=Counter)
    command: str = ""
    cpus: str = ""  # the CPUs its threads could run on, read as its steps ran


def run_variant(
    name: str,
    fake_url: str,
    remote: FakeSlackRemote,
    opts: Options,
    tmp: Path,
    paced_rate: float | None = None,
) -> Result:
    """Warm up, run the conversations (with steady chatter), then the chatter burst.
    `paced_rate`: also time acks at that many steps per second (ours: PACED_SHARE of
    its own maximum, measured just before)."""
    flow = name in (OURS, NAIVE, NAIVE_ONE_CPU)
    conversations = opts.conversations if name == OURS else opts.baseline_conversations
    log(f"[{name}] starting its server ...")
    remote.reset()
    server = start_server(name, fake_url, opts.pg_url if name == OURS else None, tmp)
    result = Result(name, Stats(), command=server.command)
    poller = Poller(fake_url) if flow else None
    db = AppDB(server, opts.pg_url) if name == OURS else None
    chatter = Chatter(server)
    try:
        result.rss["start"] = server.rss_kb()
        if poller is not None:
            poller.start()
        result.warm, _ = drive(
            server, opts.people, opts.warm_conversations, poller, 120, opts.wait_timeout
        )
        result.rss["warm"] = server.rss_kb()
        log(f"[{name}] {conversations} conversations, {opts.people} people ...")
        chatter.start_steady(STEADY_CHATTER_PER_S, opts.max_seconds)
        cpu = server.cpu_seconds()
        stats, timed_out = drive(
            server, opts.people, conversations, poller, opts.max_seconds, opts.wait_timeout
        )
        stats.cpu = server.cpu_seconds() - cpu
        result.cpus = server.cpus()
        result.stats, result.timed_out = stats, timed_out
        if name == OURS:
            paced_rate = stats.steps_per_s * PACED_SHARE
        if paced_rate:
            # The same number of conversations per person, so nobody runs alone at the end.
            per_person = math.ceil(paced_rate * opts.paced_seconds / AVG_STEPS / opts.people)
            count = opts.people * max(1, per_person)
            result.paced, _ = drive(
                server,
                opts.people,
                count,
                poller,
                opts.paced_seconds * 3 + 30,
                opts.wait_timeout,
                pace=opts.people / paced_rate,
            )
        chatter.stop()
        result.steady_sent, result.steady_bad = chatter.sent, chatter.bad
        if db is not None:
            pending = wait_outbox_empty(db, 60)
            if pending:
                log(f"[{name}] outbox still has {pending} pending rows after 60 s")
            time.sleep(0.5)  # let the deliverer go idle
            result.rss["after"] = server.rss_kb()
            before = db.snapshot()
        rates = []
        for _ in range(opts.chatter_bursts):  # the median of a few: single bursts are noisy
            burst = Chatter(server)
            rates.append(burst.burst(opts.chatter_threads, opts.chatter_seconds))
            result.unrelated_bad += burst.bad
        result.unrelated_rate = statistics.median(rates)
        if db is not None:
            time.sleep(0.2)  # anything the last messages caused has committed by now
            result.db_writes = db_writes(before, db.snapshot())
            result.outbox = db.outbox_status()
        if poller is not None:
            poller.stop()
            result.refused = poller.refused
        s = result.stats
        log(
            f"[{name}] {s.steps} steps in {s.elapsed:.1f} s ({s.steps_per_s:.0f}/s, "
            f"{cpu_ms(s)} ms CPU each), "
            f"{s.finished} finished, {s.lost} lost{', TIMED OUT' if timed_out else ''}; "
            f"unrelated burst {result.unrelated_rate:.0f}/s"
        )
    finally:
        chatter.stop()
        if poller is not None:
            poller.close()
        if db is not None:
            db.close()
        PROCS.stop(server.proc)
        result.log_problems = server.log_problems()
    if result.stats.bad_status or result.unrelated_bad or result.steady_bad:
        log(
            f"[{name}] non-200 answers: steps {dict(result.stats.bad_status)}, "
            f"unrelated {dict(result.unrelated_bad)}, steady {dict(result.steady_bad)}"
        )
        log(server.stderr_tail(1500))
    return result


# ---- rate-limit drain ---------------------------------------------------------------------


def run_rate_limit(opts: Options, tmp: Path, count: int = 200) -> list[str]:
    """200 conversations started at once in one channel; the fake allows 1 post/s there."""
    out: list[str] = []
    fake, fake_url = start_fake(rate_limit=1.0)
    server = None
    poller = None
    db = None
    try:
        server = start_server(OURS, fake_url, opts.pg_url, tmp)
        db = AppDB(server, opts.pg_url)
        channel = f"C0RL{uuid.uuid4().hex[:6].upper()}"
        poller = Poller(fake_url, interval=0.05, keep=True)
        poller.start()
        log(f"[rate-limit] {count} conversations at once in {channel} (1 post/s per channel)")
        users = [f"U0RL{i:04d}" for i in range(count)]
        bad = Counter()
        lock = threading.Lock()
        started = time.time()

        def send(chunk: list[str]) -> None:
            with SlackClientSim(timeout=30) as client:
                for user in chunk:
                    body = slash_command_body(
                        COMMAND, team_id=TEAM, channel_id=channel, user_id=user
                    )
                    status, _, _ = client.post(server.url, body, secret=SECRET)
                    if status != 200:
                        with lock:
                            bad[status] += 1

        senders = [
            threading.Thread(target=send, args=(users[i::20],), daemon=True) for i in range(20)
        ]
        for t in senders:
            t.start()
        for t in senders:
            t.join(60)
        sent_all = time.time() - started
        expected = 2 * count
        deadline = time.monotonic() + expected / 1.0 * 3 + 120  # ideal: `expected` s
        last_report = time.monotonic()
        outbox = Counter()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            mine = [p for p in poller.kept if p.channel == channel]
            outbox = db.outbox_status(channel)
            if len(mine) >= expected or outbox.get("pending", 0) == 0:
                break
            if time.monotonic() - last_report > 30:
                last_report = time.monotonic()
                log(f"[rate-limit] {len(mine)}/{expected} posted, outbox {dict(outbox)}")
        time.sleep(1.0)
        poller.stop()
        outbox = db.outbox_status(channel)
        mine = [p for p in poller.kept if p.channel == channel]
        roots = [p for p in mine if p.thread_ts is None]
        threads = [p for p in mine if p.thread_ts is not None]
        root_users = Counter(m.group(1) for p in roots if (m := re.search(r"<@(\w+)>", p.text)))
        twice = sum(1 for n in root_users.values() if n > 1)
        by_ts = {p.ts: p for p in roots}
        firsts = Counter(p.thread_ts for p in threads if p.kind == "question")
        disorder = sum(
            1 for p in threads if p.thread_ts not in by_ts or by_ts[p.thread_ts].index > p.index
        )
        q1_dupes = sum(1 for n in firsts.values() if n > 1)
        q1_wait = [p.time - started for p in threads if p.kind == "question"]
        last = max((p.time for p in mine), default=started)
        drained = len(roots) >= count and len(firsts) >= count
        out.append(
            f"commands sent in {sent_all:.1f} s ({dict(bad) or 'all 200'}); fake answered "
            f"{sum(poller.refused.values())} chat.postMessage calls with "
            f"{dict(poller.refused) or 'no refusal'}"
        )
        out.append(
            f"received {len(roots)}/{count} roots and {len(firsts)}/{count} first questions; "
            + (
                f"backlog drained in {last - started:.1f} s "
                f"({len(mine) / (last - started):.2f} posts/s; ideal at 1/s: {expected - 1} s); "
                f"a person waited for the first question {pct(q1_wait, 50):.0f} s "
                f"(median), {max(q1_wait):.0f} s (max)"
                if drained
                else f"NOT drained: last message at {last - started:.1f} s"
            )
        )
        out.append(
            f"roots posted twice: {twice}; first questions posted twice: {q1_dupes}; "
            f"thread messages before their root or without one: {disorder}"
        )
        out.append(f"outbox rows in that channel: {dict(outbox)}")
        if outbox.get("failed"):
            out.append("MESSAGES DROPPED (outbox rows failed), e.g.:")
            out += ["  " + e for e in db.failed_errors(channel)]
    finally:
        if poller is not None:
            poller.close()
        if db is not None:
            db.close()
        if server is not None:
            PROCS.stop(server.proc)
        PROCS.stop(fake)
    return out


# ---- report -------------------------------------------------------------------------------


@dataclass
class Options:
    quick: bool
    people: int
    conversations: int
    baseline_conversations: int
    pg_url: str | None
    chatter_threads: int
    chatter_seconds: float
    chatter_bursts: int
    max_seconds: float
    wait_timeout: float
    warm_conversations: int
    paced_seconds: float


def cpu_ms(stats: Stats) -> str:
    per_step = stats.cpu_ms_per_step
    return "-" if per_step is None else f"{per_step:.2f}"


def ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:.2f}x"


def report(results: dict[str, Result], opts: Options, rate_lines: list[str] | None) -> None:
    ours, a, b = results[OURS], results[BARE_PBR], results[BARE_DEFAULT]
    log("")
    log(
        f"End-to-end, {date.today().isoformat()}, {os.cpu_count()} cores, "
        f"{opts.people} people, {workers_threads()}, "
        f"{'PostgreSQL' if opts.pg_url else 'SQLite'} (ours)"
        + (
            f"\n--quick: {opts.conversations} conversations for ours (not 10,000), "
            f"{opts.baseline_conversations} per baseline, no rate-limit phase"
            if opts.quick
            else ""
        )
    )
    log(
        f"conversations measured: ours {ours.stats.finished}, baselines "
        f"{opts.baseline_conversations} each (after {opts.warm_conversations} warm-up ones); "
        "a step = a slash command or a click"
    )
    log("")
    head = (
        f"{'variant':<17} {'steps/s':>8} {'vs (a)':>7} {'cpu/step':>8} {'ack p50':>8} "
        f"{'ack p99':>8} {'vs (a)':>7} {'c2n p50':>8} {'c2n p99':>8} {'cmd->q1':>8} "
        f"{'unrel/s':>8} {'vs (a)':>7}"
    )
    log(head)
    log("-" * len(head))
    a_p50 = pct(a.stats.click_ack, 50)
    for name in (OURS, BARE_PBR, BARE_DEFAULT, NAIVE, NAIVE_ONE_CPU):
        if name not in results:
            continue
        r = results[name]
        s = r.stats
        p50 = pct(s.click_ack, 50)
        log(
            f"{name:<17} {s.steps_per_s:>8.0f} {ratio(s.steps_per_s, a.stats.steps_per_s):>7} "
            f"{cpu_ms(s):>8} {ms(p50):>8} {ms(pct(s.click_ack, 99)):>8} {ratio(p50, a_p50):>7} "
            f"{ms(pct(s.click_to_next, 50)):>8} {ms(pct(s.click_to_next, 99)):>8} "
            f"{ms(pct(s.command_to_first, 50)):>8} {r.unrelated_rate:>8.0f} "
            f"{ratio(r.unrelated_rate, a.unrelated_rate):>7}"
        )
    log(
        "CPUs each server's threads could run on: "
        + "; ".join(f"{name} {results[name].cpus}" for name in results)
    )
    log("(ms. cpu/step = the server's CPU time (all threads) per step while the steps ran.")
    log(" Each variant as fast as its 50 people go: a person sends the next step when the")
    log(" next question reached the fake (ours, (c)) or when the ack came back ((a), (b)). ack =")
    log(" HTTP response time of a click; c2n = click sent -> next question or result received")
    log(" by the fake; cmd->q1 = slash command sent -> first question received by the fake)")
    rate = ours.stats.steps_per_s * PACED_SHARE
    log("")
    log(
        f"Acks at one common load, {PACED_SHARE:.0%} of ours' maximum ({rate:.0f} steps/s: "
        f"each of the {opts.people} people sends one step every "
        f"{opts.people / rate if rate else 0:.2f} s; ours still follows the flow):"
        if rate
        else "Acks at a common load: -"
    )
    for name, stats in ((OURS, ours.paced), (BARE_PBR, a.paced), (BARE_DEFAULT, b.paced)):
        if stats is None:
            continue
        c2n = (
            f"; c2n p50 {ms(pct(stats.click_to_next, 50))} ms, "
            f"p99 {ms(pct(stats.click_to_next, 99))} ms"
            if stats.click_to_next
            else ""
        )
        log(
            f"  {name:<17} ack p50 {ms(pct(stats.click_ack, 50)):>6} ms, "
            f"p99 {ms(pct(stats.click_ack, 99)):>6} ms ({len(stats.click_ack)} clicks, "
            f"{stats.steps_per_s:.0f} steps/s){c2n}"
        )

    for name, r in results.items():
        extra = []
        if r.stats.lost:
            extra.append(f"{r.stats.lost} conversations lost (a message never came)")
        if r.warm is not None and (r.warm.lost or r.warm.bad_status):
            extra.append(
                f"warm-up: {r.warm.lost} conversations lost, non-200 {dict(r.warm.bad_status)}"
            )
        if r.log_problems[0]:
            extra.append(
                f"{r.log_problems[0]} warning/error lines in its log, e.g. "
                + " | ".join(r.log_problems[1])
            )
        if r.timed_out:
            extra.append("hit the time limit")
        if r.refused:
            extra.append(f"fake refused posts {dict(r.refused)}")
        bad = r.stats.bad_status + r.unrelated_bad + r.steady_bad
        if bad:
            extra.append(f"non-200 answers {dict(bad)}")
        if extra:
            log(f"{name}: " + "; ".join(extra))
    log(
        f"steady unrelated messages during the runs: {STEADY_CHATTER_PER_S:.0f}/s "
        f"(ours: {ours.steady_sent} sent); unrel/s: median of {opts.chatter_bursts} bursts of "
        f"{opts.chatter_seconds:.0f} s from {opts.chatter_threads} senders, after the "
        "conversations"
    )
    log("")
    w0, _, n = ours.rss["start"]
    ww, _, _ = ours.rss["warm"]
    w1, _, _ = ours.rss.get("after", (0, 0, 0))
    total = ours.stats.finished + opts.warm_conversations
    growth = (w1 - w0) / 1024
    log(
        f"RSS of ours ({n} process{'es' if n != 1 else ''}, VmRSS summed): "
        f"{w0 / 1024:.1f} MB at start, {ww / 1024:.1f} MB after the warm-up, "
        f"{w1 / 1024:.1f} MB after {total} finished conversations"
        + (" (--quick: fewer than 10,000)" if opts.quick else "")
        + f": +{growth:.1f} MB (+{(w1 - ww) / 1024:.1f} MB since the warm-up)"
    )
    writes, details = ours.db_writes or (0, "")
    log(f"DB writes for unrelated messages: {writes} ({details})")
    log(f"outbox of ours at the end: {dict(ours.outbox)}")
    if rate_lines is not None:
        log("")
        log("Rate-limit drain (fake: chat.postMessage 1/s per channel, burst 1):")
        for line in rate_lines:
            log("  " + line)

    s = ours.stats
    c2n99 = pct(s.click_to_next, 99)
    b_paced = pct(b.paced.click_ack, 50) if b.paced else None
    o_p50 = pct(ours.paced.click_ack, 50) if ours.paced else None

    unrel = ours.unrelated_rate / a.unrelated_rate if a.unrelated_rate else 0.0
    steps_ratio = s.steps_per_s / a.stats.steps_per_s if a.stats.steps_per_s else 0.0
    c = results[NAIVE].stats
    c_steps = s.steps_per_s / c.steps_per_s if c.steps_per_s else 0.0
    c_p99 = pct(c.click_to_next, 99)
    rows = [
        ("ours steps/s >= 0.35x of (a)", f"{steps_ratio:.2f}x", steps_ratio >= 0.35),
        ("ours steps/s >= (c)'s", f"{c_steps:.2f}x", c_steps >= 1.0),
        (
            "click-to-next p99 <= (c)'s",
            f"{ms(c2n99)} vs {ms(c_p99)} ms",
            c2n99 is not None and c_p99 is not None and c2n99 <= c_p99,
        ),
        (
            f"our ack p50 below (b)'s (both at {PACED_SHARE:.0%} of ours' max)",
            f"{ms(o_p50)} vs {ms(b_paced)} ms",
            o_p50 is not None and b_paced is not None and o_p50 < b_paced,
        ),
        (
            f"click-to-next-question p99 < 250 ms at {opts.people} people",
            f"{ms(c2n99)} ms",
            c2n99 is not None and c2n99 < 0.250,
        ),
        (
            "unrelated messages >= 0.8x of (a), no DB write",
            f"{unrel:.2f}x, {writes} writes",
            unrel >= 0.8 and writes == 0,
        ),
        (
            f"RSS growth < 30 MB after {total} conversations",
            f"+{growth:.1f} MB" + (" (not 10,000)" if total < 10_000 else ""),
            "after" in ours.rss and growth < 30,
        ),
    ]
    log("")
    log(f"{'target (reported, not asserted)':<52} {'measured':<24} result")
    for what, measured, met in rows:
        log(f"{what:<52} {measured:<24} {'met' if met else 'NOT met'}")
    one = results.get(NAIVE_ONE_CPU)
    if one is not None:
        c1 = one.stats
        log(
            f"on equal footing, both kept on one CPU: ours / (c1) steps/s "
            f"{ratio(s.steps_per_s, c1.steps_per_s)}, cpu/step {cpu_ms(s)} vs {cpu_ms(c1)} ms, "
            f"c2n p99 {ms(c2n99)} vs {ms(pct(c1.click_to_next, 99))} ms"
        )


def workers_threads() -> str:
    from bot.settings import Settings

    # What the app reads (environment, then .env), tokens aside.
    s = Settings(slack_bot_token="xoxb-bench", slack_signing_secret="bench")
    return (
        f"ours: waitress x {s.http_threads} threads; "
        f"baselines: gunicorn gthread, 1 worker x {s.http_threads} threads"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer conversations; under 2 minutes")
    ap.add_argument("--people", type=int, default=50)
    ap.add_argument("--conversations", type=int, default=None, help="ours (default 10000)")
    ap.add_argument(
        "--baseline-conversations", type=int, default=None, help="each baseline (default 2000)"
    )
    ap.add_argument("--pg-url", default=None, help="run ours on PostgreSQL (DATABASE_URL)")
    ap.add_argument(
        "--rate-limit",
        action="store_true",
        help="run only the rate-limit drain phase (the full run includes it; "
        "with --quick: add it to the quick run)",
    )
    ap.add_argument("--logs", default=None, help="keep every server's stderr here")
    ap.add_argument(
        "--only",
        choices=["ours", "a", "b", "c", "c1"],
        default=None,
        help="run one variant and print its line (for profiling; no ratios, no targets)",
    )
    args = ap.parse_args(argv)
    if args.logs:
        os.environ["E2E_LOG_DIR"] = str(Path(args.logs).absolute())
    quick = args.quick
    opts = Options(
        quick=quick,
        people=max(1, args.people),
        conversations=args.conversations or (600 if quick else 10_000),
        baseline_conversations=args.baseline_conversations or (300 if quick else 2000),
        pg_url=args.pg_url,
        chatter_threads=8,
        chatter_seconds=1.0 if quick else 3.0,
        chatter_bursts=3 if quick else 5,
        max_seconds=45.0 if quick else 3600.0,
        wait_timeout=15.0 if quick else 30.0,
        warm_conversations=min(2 * max(1, args.people), 100),
        paced_seconds=5.0 if quick else 20.0,
    )

    def on_term(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="e2e-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        try:
            if args.rate_limit and not quick:
                for line in run_rate_limit(opts, tmp):
                    log(line)
                return 0
            fake, fake_url = start_fake()
            remote = FakeSlackRemote(fake_url.rsplit("/api/", 1)[0] + "/")
            results: dict[str, Result] = {}
            if args.only:
                name = {
                    "ours": OURS,
                    "a": BARE_PBR,
                    "b": BARE_DEFAULT,
                    "c": NAIVE,
                    "c1": NAIVE_ONE_CPU,
                }[args.only]
                if name == NAIVE_ONE_CPU and one_cpu() is None:
                    log("(c1) needs a machine where a process may run on two CPUs or more")
                    return 2
                only = run_variant(name, fake_url, remote, opts, tmp)
                s = only.stats
                log(
                    f"{name}: {s.steps_per_s:.0f} steps/s, {cpu_ms(s)} ms CPU/step, ack p50/p99 "
                    f"{ms(pct(s.click_ack, 50))}/{ms(pct(s.click_ack, 99))} ms, c2n p50/p99 "
                    f"{ms(pct(s.click_to_next, 50))}/{ms(pct(s.click_to_next, 99))} ms, "
                    f"{s.finished} conversations, {s.lost} lost, CPUs {only.cpus}"
                )
                return 0
            results[OURS] = run_variant(OURS, fake_url, remote, opts, tmp)

            ours_rate = results[OURS].stats.steps_per_s * PACED_SHARE
            for name in (BARE_PBR, BARE_DEFAULT):
                results[name] = run_variant(name, fake_url, remote, opts, tmp, ours_rate)
            results[NAIVE] = run_variant(NAIVE, fake_url, remote, opts, tmp)
            if one_cpu() is not None:
                results[NAIVE_ONE_CPU] = run_variant(NAIVE_ONE_CPU, fake_url, remote, opts, tmp)
            remote.close()
            PROCS.stop(fake)
            rate_lines = run_rate_limit(opts, tmp) if (args.rate_limit or not quick) else None
            report(results, opts, rate_lines)
            log("")
            log(f"commands: {results[OURS].command}  |  {results[BARE_PBR].command}")
            log(f"total time {time.monotonic() - started:.0f} s")
        except KeyboardInterrupt:
            log("interrupted; stopping the servers and the fake")
            return 130
        finally:
            PROCS.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
