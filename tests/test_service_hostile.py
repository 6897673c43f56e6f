"""Hostile requests to the service: a 100 MB body, JSON 10 000 levels deep, a client too slow to
send its body (or its headers), malformed JSON Lines, a client that leaves mid-stream. Each is
refused quickly with the CLI's error code, and the service goes on answering everyone else."""

from __future__ import annotations

import json
import socket
import time

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from serving import Served  # noqa: E402

ARREARS = {"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-11-03"}
MB = 1024 * 1024


@pytest.fixture(scope="module")
def served():
    from policy_dsl.face.service import Limits

    limits = Limits()
    limits.max_body = 4 * MB
    limits.body_idle = 1.0
    limits.body_total = 2.0
    from policy_dsl.language import resources

    # named on the command line as the CLI runs below name it: both answers say the same policy_set
    with Served(policies=[resources.policies_dir()], limits=limits) as s:
        yield s


def quick_health(served, within: float = 2.0) -> None:
    """The service answers someone else, and quickly."""
    t = time.monotonic()
    status, data = served.get_json("/health")
    assert status == 200 and data["status"] == "ok"
    assert time.monotonic() - t < within


def raw_response(sock: socket.socket, timeout: float = 10) -> tuple[int, bytes]:
    """Status and body of the (first) response on ``sock``, read until the server closes or the
    body of its Content-Length is in."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            break
        if not chunk:
            break
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            if length and len(body) >= int(length[0]):
                break
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def connect(served) -> socket.socket:
    return socket.create_connection(("127.0.0.1", served.port), timeout=10)


def test_a_100_mb_body_is_refused_before_it_is_read(served):
    t = time.monotonic()
    with connect(served) as s:
        s.sendall(b"POST /eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (100 * MB))
        chunk = b" " * MB
        sent = 0
        try:
            s.settimeout(0.5)
            for _ in range(100):  # the client tries to send it all; the server does not wait for it
                s.sendall(chunk)
                sent += 1
        except (socket.timeout, BrokenPipeError, ConnectionResetError):
            pass
        status, body = raw_response(s)
    assert status == 413 and json.loads(body)["error"]["code"] == "E-INPUT-SIZE"
    assert time.monotonic() - t < 10  # (what the client still sends after the answer is read and dropped)
    quick_health(served)


def test_a_body_without_length_is_cut_at_the_limit(served):
    with connect(served) as s:
        s.sendall(b"POST /eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(6):
                s.sendall(b"%x\r\n%s\r\n" % (MB, b"[" + b" " * (MB - 1)))
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, body = raw_response(s)
    assert status == 413 and json.loads(body)["error"]["code"] == "E-INPUT-SIZE"
    quick_health(served)


def test_a_json_lines_stream_over_the_limit_ends_with_an_error_line(served):
    line = (json.dumps({**ARREARS, "id": "x" * 4000}, ensure_ascii=False) + "\n").encode()  # few cases, many bytes
    body = line * (5 * MB // len(line))
    with connect(served) as s:
        s.sendall(b"POST /eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for i in range(0, len(body), 256 * 1024):
                part = body[i:i + 256 * 1024]
                s.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        s.settimeout(10)
        data = b""
        while not data.endswith(b"0\r\n\r\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    assert data.split()[1] == b"200"
    lines = [ln for ln in data.split(b"\r\n") if ln.startswith(b"{")]
    last = json.loads(data[data.rindex(b'{"error"'):].split(b"\n")[0])
    assert last["error"]["code"] == "E-INPUT-SIZE"
    assert len(lines) > 1  # the cases before the limit were answered
    quick_health(served)


@pytest.mark.parametrize("body", [b"[" * 10_000 + b"]" * 10_000, b'{"a": ' * 10_000 + b"1" + b"}" * 10_000])
def test_json_ten_thousand_levels_deep(served, body):
    t = time.monotonic()
    status, out = served.post("/eval", body)
    assert status == 400 and json.loads(out)["error"]["code"] == "E-CASE-JSON"
    assert "嵌套过深" in json.loads(out)["error"]["message"]
    status, out = served.post("/eval", body + b"\n" + json.dumps(ARREARS).encode() + b"\n", "application/x-ndjson")
    first, second = [json.loads(line) for line in out.splitlines()]
    assert status == 200 and first["error"]["code"] == "E-CASE-JSON" and second["benefit_start"] == "2023-02-01"
    assert time.monotonic() - t < 5
    quick_health(served)


def test_a_slow_body_is_refused_and_others_are_answered_meanwhile(served):
    with connect(served) as s:
        s.sendall(b"POST /eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"kind\"")
        t = time.monotonic()
        quick_health(served, within=0.8)  # while the slow client holds its request open
        status, body = raw_response(s)
    assert status == 408 and json.loads(body)["error"]["code"] == "E-TIMEOUT"
    assert time.monotonic() - t < 5


def test_a_trickling_body_is_cut_at_the_total_time(served):
    with connect(served) as s:
        s.sendall(b"POST /eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n")
        t = time.monotonic()
        status = None
        try:
            while time.monotonic() - t < 9:
                s.sendall(b"1\r\n \r\n")  # a byte every 0.2 s: never idle, never done
                time.sleep(0.2)
                s.settimeout(0.01)
                try:
                    if s.recv(65536, socket.MSG_PEEK).find(b"E-TIMEOUT") >= 0:
                        status = "cut"
                        break
                except socket.timeout:
                    pass
                s.settimeout(10)
        except (BrokenPipeError, ConnectionResetError):
            status = "cut"
    assert status == "cut" and time.monotonic() - t < 8
    quick_health(served)


def test_many_clients_stalled_in_their_headers_do_not_stop_the_others(served):
    stalled = []
    try:
        for _ in range(50):
            s = connect(served)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            stalled.append(s)
        quick_health(served, within=1.0)
        status, _ = served.get("/applies", date="2022-04-01", region="济南", topic="arrears")
        assert status == 200
    finally:
        for s in stalled:
            s.close()


def test_malformed_json_lines(served, tmp_path, monkeypatch):
    """Garbage, bad UTF-8, a line over 1 MiB, then more than 1 000 lines that are not JSON: the
    stream holds the CLI's answer for each line and ends as the CLI ends."""
    from test_service import cli_bytes

    lines = [json.dumps(ARREARS, ensure_ascii=False).encode(), b"\xff\xfe not utf-8", b'{"kind": ', b"x" * (MB + 10),
             json.dumps({**ARREARS, "id": 2}, ensure_ascii=False).encode()] + [b"garbage %d" % i for i in range(1100)]
    body = b"\n".join(lines) + b"\n"
    (tmp_path / "request.jsonl").write_bytes(body)
    code, want = cli_bytes(served.holder.paths[0], monkeypatch, tmp_path, "eval", "request.jsonl", "--format", "json")
    t = time.monotonic()
    status, got = served.post("/eval", body, "application/x-ndjson")
    assert status == 200 and got == want and code == 2
    assert time.monotonic() - t < 10
    last = json.loads(got.splitlines()[-1])
    assert last["error"]["code"] == "E-CASE-JSON" and "不是 JSON" in last["error"]["message"]
    quick_health(served)


def test_a_client_that_leaves_mid_stream(served):
    line = (json.dumps(ARREARS, ensure_ascii=False) + "\n").encode()
    for _ in range(3):
        with connect(served) as s:
            s.sendall(b"POST /eval HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n")
            part = line * 2000
            s.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            s.recv(100)  # the answers have begun
        # closed without the rest of the body
    quick_health(served)
    deadline = time.monotonic() + 5
    while served.app.state.stream_pool._work_queue.qsize() or any(
            t.is_alive() and getattr(t, "_busy", False) for t in served.app.state.stream_pool._threads):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    status, out = served.post("/eval", line * 3, "application/x-ndjson")
    assert status == 200 and len(out.splitlines()) == 3


def test_the_client_clock_counts_only_the_time_the_server_is_idle():
    """While the server works on body it has (its thread busy, the client held back by flow
    control), the client is not waited for: only the server's idle time uses up ``body_idle``
    and ``body_total``."""
    import asyncio

    from policy_dsl.face.service import Limits, _ClientClock
    from policy_dsl.language.errors import PolicyDslError

    limits = Limits()
    limits.body_idle, limits.body_total = 0.5, 0.3
    idle = {"running": False, "time": 0.0, "since": 0.0}

    def server_idle() -> float:
        return idle["time"] + (time.monotonic() - idle["since"] if idle["running"] else 0.0)

    async def slow():
        await asyncio.sleep(0.2)
        return {"type": "http.request", "body": b"x", "more_body": True}

    async def run():
        clock = _ClientClock(limits, server_idle)
        for _ in range(3):  # 0.6 s of waits while the server is busy: none of it counts
            await clock.receive(slow)
        assert clock.waited == 0.0
        idle.update(running=True, since=time.monotonic())
        await clock.receive(slow)  # 0.2 s of the client's 0.3
        assert 0.15 < clock.waited < 0.3
        with pytest.raises(PolicyDslError) as caught:
            await clock.receive(slow)  # over the total: refused
        assert caught.value.first.code == "E-TIMEOUT"
        assert clock.waited < 0.45

    asyncio.run(run())
