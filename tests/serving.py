"""The service run for tests: uvicorn in a thread of the test process, on a free port of 127.0.0.1,
with the policy set and limits a test gives; stdlib HTTP helpers to talk to it."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from pathlib import Path


class Served:
    """``with Served(policies=[dir], limits=...) as s: s.get("/health")``."""

    def __init__(self, policies: list[Path] | None = None, limits=None, lang: str = "zh", rev: str | None = None):
        self.policies, self.limits, self.lang, self.rev = policies, limits, lang, rev

    def __enter__(self) -> "Served":
        import uvicorn

        from policy_dsl.face import service

        self.holder = service.PolicyHolder.from_args(self.policies, self.rev, self.limits)
        self.app = service.create_app(self.holder, self.limits, self.lang)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="error",
                                timeout_keep_alive=5, lifespan="off", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # not the main thread
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the service did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.app.state.pool.shutdown(wait=False)
        self.app.state.stream_pool.shutdown(wait=False)
        self.app.state.applies_pool.shutdown(wait=False)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 30) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def get(self, path: str, **params) -> tuple[int, bytes]:
        from urllib.parse import urlencode

        status, _, body = self.request("GET", path + ("?" + urlencode(params, doseq=True) if params else ""))
        return status, body

    def get_json(self, path: str, **params):
        status, body = self.get(path, **params)
        return status, json.loads(body)

    def post(self, path: str, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
        status, _, out = self.request("POST", path, body, {"Content-Type": content_type})
        return status, out
