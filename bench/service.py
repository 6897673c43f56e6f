"""The service under load, on localhost only: ``policy-dsl serve`` in its own process, driven by
50 concurrent keep-alive clients (asyncio, raw HTTP/1.1) making a bounded number of requests.

    python bench/service.py [--quick] [--requests N] [--clients C] [--cases 10000] [--json OUT]

Runs, one after another against one server:
1. mixed — N requests (default 20 000), half ``GET /applies`` (a region of bench/gen_cases.py's
   and a day of 2020–2026, a third of them for one topic), half ``POST /eval`` of one generated
   case; every answer must be 200 and JSON: the error count is reported (the goal is 0);
2. applies only — N/2 requests, for the throughput of ``applies`` (goal ≥ 1 000 a second), once
   drawn from 300 questions that come back (answers the service keeps: a bounded cache) and once
   with every question new (no two alike: region × day over six years);
3. eval alone — 1 client, 2 000 single cases one after another (the latency of one ``eval``,
   goal p99 ≤ 20 ms);
4. the same answers — ``POST /eval`` of ``--cases`` generated cases (default 10 000) as JSON
   Lines and as a JSON list, compared byte for byte with ``policy-dsl eval request.jsonl|json
   --format json`` run on a file holding the same bytes.
The server's memory (VmRSS) is sampled throughout, and the CPU time it used in each run
(/proc: user + system, its workers included) is given per request — the steadier figure on a
shared machine, where the wall clock also counts what other programs took. Latency is from the request's first byte
written to its answer's last byte read, measured by the client on the same 2 cores as the
server: the figures include the client's own share of the machine."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from common import REPO, environment, machine, report, tool, work_dir

REGIONS = ["370100", "370102", "370200", "370400", "371300", "320100", "440100", "110105", "济南", "青岛", "jinan"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    """VmRSS of the server: its process and, with --workers, its children."""
    total = 0
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the server has used so far: its process and, with --workers,
    its children."""
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = None
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length is None:  # chunked (JSON Lines)
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n"))[:-2], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = await self.reader.readexactly(length)
        return status, body

    def close(self):
        if self.writer:
            self.writer.close()


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()


def post(path: str, body: bytes, media: str = "application/json") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: {media}\r\nContent-Length: {len(body)}\r\n\r\n"
            .encode() + body)


def applies_request(rng: random.Random, topics: list[str]) -> bytes:
    day = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(0, 6 * 365))
    region = rng.choice(REGIONS)
    query = f"date={day.isoformat()}&region={quote(region)}"
    if rng.random() < 1 / 3:
        query += f"&topic={rng.choice(topics)}"
    return get(f"/applies?{query}")


async def drive(port: int, requests: list[tuple[str, bytes]], clients: int, limit_s: float) -> dict:
    """Send ``requests`` over ``clients`` connections, each taking the next one when done."""
    latencies: dict = {}
    errors: list = []
    queue = list(reversed(requests))
    deadline = time.monotonic() + limit_s

    async def worker():
        c = Client(port)
        await c.open()
        try:
            while queue and time.monotonic() < deadline:
                kind, raw = queue.pop()
                t = time.perf_counter()
                try:
                    status, body = await c.request(raw)
                    json.loads(body)
                except Exception as exc:  # noqa: BLE001 - counted, reported
                    errors.append(f"{kind}: {type(exc).__name__} {exc}")
                    c.close()
                    c = Client(port)
                    await c.open()
                    continue
                latencies.setdefault(kind, []).append(time.perf_counter() - t)
                if status != 200:
                    errors.append(f"{kind}: HTTP {status} {body[:200]!r}")
        finally:
            c.close()

    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - t
    done = sum(len(v) for v in latencies.values())
    return {"requests": done, "not_sent": len(queue), "seconds": elapsed, "per_s": done / elapsed, "errors": len(errors),
            "error_examples": errors[:5], "latency": {k: summary(v) for k, v in latencies.items()},
            "latency_all": summary([x for v in latencies.values() for x in v])}


def summary(xs: list[float]) -> dict:
    xs = sorted(xs)
    if not xs:
        return {}

    def q(p):
        return xs[min(len(xs) - 1, int(p * len(xs)))]

    return {"n": len(xs), "p50_ms": q(0.50) * 1000, "p90_ms": q(0.90) * 1000, "p99_ms": q(0.99) * 1000,
            "max_ms": xs[-1] * 1000}


def good_cases(n: int, seed: int = 7) -> list[dict]:
    """n generated cases the interpreter answers without an input error (so that any non-200 of
    the service is an error of the service)."""
    sys.path.insert(0, str(REPO / "bench"))
    from gen_cases import generate

    from policy_dsl.engine.cases import RawCase
    from policy_dsl.face.api import CaseAnswers, load_policy
    from policy_dsl.language.errors import Where

    answers = CaseAnswers(load_policy())
    out = []
    for case in generate(n * 2, seed):
        answer = answers.answer(RawCase(case, Where("x"), "case"), traced=False, lines=_Null())
        if answer is None:  # answered (written to the writer), not an error
            out.append(case)
        if len(out) == n:
            break
    return out


class _Null:
    def write(self, result):
        pass


def same_answers(port: int, cases: list[dict], env: dict) -> dict:
    """``POST /eval`` of the cases as JSON Lines and as a JSON list against the CLI on a file."""
    out = {}
    folder = Path(tempfile.mkdtemp(dir=work_dir()))
    for suffix, media, body in (
            (".jsonl", "application/x-ndjson", "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases).encode()),
            (".json", "application/json", json.dumps(cases, ensure_ascii=False).encode())):
        (folder / f"request{suffix}").write_bytes(body)
        t = time.perf_counter()
        cli = subprocess.run([tool(), "eval", f"request{suffix}", "--format", "json"], cwd=folder, env=env,
                             capture_output=True)
        cli_s = time.perf_counter() - t

        async def one():
            c = Client(port)
            await c.open()
            try:
                return await c.request(post("/eval", body, media))
            finally:
                c.close()

        t = time.perf_counter()
        status, got = asyncio.run(one())
        served_s = time.perf_counter() - t
        out[suffix] = {"cases": len(cases), "status": status, "identical": got == cli.stdout, "bytes": len(got),
                       "cli_exit": cli.returncode, "cli_s": cli_s, "service_s": served_s}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 000 requests, 1 000 cases")
    ap.add_argument("--requests", type=int)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--cases", type=int)
    ap.add_argument("--workers", type=int, default=1, help="serve --workers N")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    n = args.requests or (2000 if args.quick else 20000)
    n_cases = args.cases or (1000 if args.quick else 10000)
    env = environment()
    port = free_port()
    cwd = Path(tempfile.mkdtemp(dir=work_dir()))  # outside any policy repository: the installed set
    server = subprocess.Popen([tool(), "serve", "--port", str(port), "--workers", str(args.workers)], cwd=cwd, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"the service did not start: {server.stderr.read().decode()[-500:]}")
                time.sleep(0.1)
        rng = random.Random(7)
        from policy_dsl.language.kinds import vocabulary

        topics = list(vocabulary().kinds)
        cases = good_cases(max(n_cases, 2000))
        bodies = [json.dumps(c, ensure_ascii=False).encode() for c in cases]
        mixed = [("applies", applies_request(rng, topics)) if i % 2 == 0
                 else ("eval", post("/eval", rng.choice(bodies))) for i in range(n)]
        # warm-up: the plans of the evaluator, the first answers
        asyncio.run(drive(port, mixed[:200], 4, 60))
        memory = {"start_kib": rss_kib(server.pid)}
        samples = []
        stop = False

        async def sampled(coro):
            async def sample():
                while not stop:
                    samples.append(rss_kib(server.pid))
                    await asyncio.sleep(0.25)
            task = asyncio.ensure_future(sample())
            try:
                return await coro
            finally:
                task.cancel()

        results = {}

        def run(name, coro):
            used = cpu_s(server.pid)
            results[name] = asyncio.run(coro)
            results[name]["server_cpu_s"] = cpu_s(server.pid) - used

        run("mixed", sampled(drive(port, mixed, args.clients, 600)))
        memory["after_mixed_kib"] = rss_kib(server.pid)
        popular = [("applies", applies_request(rng, topics)) for _ in range(300)]  # questions that come back
        run("applies_repeated", drive(port, [rng.choice(popular) for _ in range(n // 2)], args.clients, 600))
        fresh_rng = random.Random(11)
        days = [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(6 * 365)]
        fresh = set()
        while len(fresh) < n // 2:
            fresh.add((fresh_rng.choice(REGIONS[:8]), fresh_rng.choice(days)))
        run("applies_new", drive(
            port, [("applies", get(f"/applies?date={d.isoformat()}&region={r}")) for r, d in fresh], args.clients, 600))
        run("eval_alone", drive(port, [("eval", post("/eval", b)) for b in bodies[:2000]], 1, 600))
        memory["end_kib"] = rss_kib(server.pid)
        memory["max_sampled_kib"] = max(samples) if samples else None
        memory["samples"] = len(samples)
        # through the mixed run: the first and last tenth of its samples (flat once warm: the caches are bounded)
        tenth = max(1, len(samples) // 10)
        memory["mixed_first_tenth_kib"] = [min(samples[:tenth]), max(samples[:tenth])] if samples else None
        memory["mixed_last_tenth_kib"] = [min(samples[-tenth:]), max(samples[-tenth:])] if samples else None
        memory["mixed_quarters_kib"] = [samples[min(len(samples) - 1, len(samples) * q // 4)] for q in range(5)] if samples else None
        equal = same_answers(port, cases[:n_cases], env)
        memory["after_batches_kib"] = rss_kib(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()

    m = machine()
    print(f"service — {m['cpu']}, {m['nproc']} cores, Python {m['python']}; {args.clients} clients, {args.workers} worker(s); "
          f"{dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; load average before: {os.getloadavg()}")
    for name, r in results.items():
        lat = r["latency"]
        parts = "; ".join(f"{k} p50 {v['p50_ms']:.1f} ms p99 {v['p99_ms']:.1f} ms max {v['max_ms']:.0f} ms" for k, v in lat.items())
        cpu = r["server_cpu_s"] / max(1, r["requests"]) * 1000
        print(f"{name:17} {r['requests']:6,} requests in {r['seconds']:6.2f} s = {r['per_s']:7,.0f}/s, "
              f"errors {r['errors']}; {parts}; server CPU {cpu:.2f} ms a request (= {1000 / cpu:,.0f}/s a core)")
        for e in r["error_examples"]:
            print("   ", e)
    if memory["mixed_first_tenth_kib"]:
        f, last = memory["mixed_first_tenth_kib"], memory["mixed_last_tenth_kib"]
        print(f"memory through the mixed run (VmRSS, {memory['samples']} samples): first tenth {f[0] / 1024:.1f}–{f[1] / 1024:.1f} MiB, "
              f"last tenth {last[0] / 1024:.1f}–{last[1] / 1024:.1f} MiB; at 0, ¼, ½, ¾ and the end: "
              + ", ".join(f"{k / 1024:.1f}" for k in memory["mixed_quarters_kib"]) + " MiB")
    print(f"memory (VmRSS): start {memory['start_kib'] / 1024:.1f} MiB, after the mixed run {memory['after_mixed_kib'] / 1024:.1f}, "
          f"end {memory['end_kib'] / 1024:.1f}, max sampled {(memory['max_sampled_kib'] or 0) / 1024:.1f}, "
          f"after the batches {memory['after_batches_kib'] / 1024:.1f} MiB")
    for suffix, e in equal.items():
        print(f"POST /eval {e['cases']:,} cases as {suffix}: status {e['status']}, identical to the CLI: {e['identical']} "
              f"({e['bytes']:,} bytes; service {e['service_s']:.2f} s, CLI {e['cli_s']:.2f} s with its start)")
    report("service", {"requests": n, "clients": args.clients, "workers": args.workers, "results": results, "memory": memory, "same_answers": equal,
                       "goals": {"eval_p99_ms": 20, "applies_per_s": 1000}}, args.json)


if __name__ == "__main__":
    main()
