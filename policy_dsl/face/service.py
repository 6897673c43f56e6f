"""The HTTP service (``policy-dsl serve``): the answers of ``applies`` and ``eval`` as a JSON API,
and a web page for staff. An ASGI application on Starlette, run by uvicorn.

Every answer is made by the functions the command line uses (policy_dsl.face.api): the same JSON,
byte for byte, including the errors (``{"error": {"code", "message", "where"}}`` with a 4xx
status). The policy set is loaded once and re-read only when its files change, in the
background, and swapped in whole once it loads without error; a bad edit leaves the last good
set serving and shows its errors on ``/health``. Request bodies, the time a client may take to
send one, query strings and JSON nesting are bounded; an unexpected error is logged here and
the client gets ``E-INTERNAL``, never a traceback."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import io
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from policy_dsl.face import api
from policy_dsl.language.errors import Diagnostic, InputError, PolicyDslError, Where
from policy_dsl.language.messages import N_, join, say, t, using

log = logging.getLogger("policy_dsl.service")

WEB = Path(__file__).resolve().parent / "web"  # the page: plain HTML, CSS and JavaScript (package data)


class Limits:
    """What one request may cost. Seconds are wall-clock time."""

    max_body = 16 * 1024 * 1024  # request body, JSON or JSON Lines (bigger batches: the CLI on a file)
    body_idle = 10.0  # no byte of the body for this long: 408
    body_total = 300.0  # the whole body in at most this long
    max_query = 4096  # characters of a query string
    keep_alive = 5  # idle keep-alive connections are closed after this (uvicorn)
    inline_body = 64 * 1024  # smaller JSON bodies are answered on the event loop, bigger ones in a thread
    stream_threads = 8  # JSON Lines streams answered at once (more wait their turn)
    applies_threads = 2  # new applies questions worked out at once (more wait their turn)
    out_buffered = 8 * 1024 * 1024  # answers held for a client that reads slowly, once its body is in
    applies_cache = 32 * 1024 * 1024  # bytes of applies answers kept (the most recently asked), per policy set
    check_interval = 1.0  # the policy files are looked at (stat) at most this often


STATUS = {"E-NOT-FOUND": 404, "E-METHOD": 405, "E-TIMEOUT": 408, "E-INPUT-SIZE": 413, "E-MEDIA-TYPE": 415,
          "E-INTERNAL": 500}
MEDIA = {"application/json": "request.json", "application/x-ndjson": "request.jsonl",
         "application/jsonl": "request.jsonl", "application/json-lines": "request.jsonl",
         "application/yaml": "request.yaml", "application/x-yaml": "request.yaml", "text/yaml": "request.yaml"}
JSON_TYPE = "application/json"
NDJSON_TYPE = "application/x-ndjson"


def _error(code: str, message: str, where: str, hint: str | None = None) -> InputError:
    return InputError(Diagnostic(code, message, Where(where), hint))


def error_response(exc: PolicyDslError) -> Response:
    """The CLI's ``--format json`` error line, with the status its code calls for (4xx)."""
    body = (json.dumps(api.error_json(exc), ensure_ascii=False) + "\n").encode()
    return Response(body, status_code=STATUS.get(exc.first.code, 400), media_type=JSON_TYPE)


def _internal(where: str) -> InputError:
    return _error("E-INTERNAL", t("service.internal"), where, t("service.internal.hint"))


# -- the policy set --------------------------------------------------------------------------------
class LoadedSet:
    """One policy set as loaded, with what answering from it keeps: an evaluator and a case
    validator per thread (each learns as it answers), the applies answers already given."""

    def __init__(self, policy, named: dict, describe: dict, generation: int, cache_size: int):
        self.policy, self.named, self.describe, self.generation = policy, named, describe, generation
        self._local = threading.local()
        self._applies: collections.OrderedDict = collections.OrderedDict()
        self._applies_lock = threading.Lock()
        self._cache_size = cache_size  # bytes
        self._cached = 0
        self._clauses = None
        self._reports: dict = {}
        self._report_lock = threading.Lock()
        self.applies_texts = api.AppliesTexts(named)  # what ``applies --format json`` prints, quicker

    def tools(self):
        """(evaluator, validator) of the calling thread."""
        tools = getattr(self._local, "tools", None)
        if tools is None:
            from policy_dsl.engine.cases import CaseValidator
            from policy_dsl.language.regions import default_registry

            tools = self._local.tools = (api.evaluator_for(self.policy),
                                         CaseValidator(default_registry(), vocab=self.policy.vocab))
        return tools

    def answers(self, lang: str, as_of) -> api.CaseAnswers:
        evaluator, validator = self.tools()
        return api.CaseAnswers(self.policy, lang, as_of, evaluator, validator, policy_set=self.named)

    def cached_applies(self, key: tuple) -> tuple[int, bytes] | None:
        with self._applies_lock:
            hit = self._applies.get(key)
            if hit is not None:
                self._applies.move_to_end(key)
            return hit

    def applies(self, key: tuple, make) -> tuple[int, bytes]:
        with self._applies_lock:
            hit = self._applies.get(key)
            if hit is not None:
                self._applies.move_to_end(key)
                return hit
        hit = make()
        with self._applies_lock:
            if key not in self._applies:
                self._applies[key] = hit
                self._cached += len(hit[1])
            while self._cached > self._cache_size and self._applies:
                self._cached -= len(self._applies.popitem(last=False)[1][1])
        return hit

    def clauses(self) -> bytes:
        """Every clause with its quoted text, for the page (``GET /clauses``)."""
        if self._clauses is None:
            from policy_dsl.engine.results import clause_ref

            out = {}
            for d in self.policy.documents:
                for c in d.clauses:
                    out[c.ref] = {**clause_ref(c), "doc_id": d.id, "id": c.id, "title": d.title, "text": c.text,
                                  "topics": list(c.topics),
                                  "from": c.in_force.start.isoformat() if c.in_force.start else None,
                                  "to": c.in_force.until.isoformat() if c.in_force.until else None}
            self._clauses = api.dumps({"policy_set": self.describe, "clauses": out}).encode()
        return self._clauses

    def report(self, lang: str, dirs: list[Path]) -> Path:
        """The folder of ``policy-dsl report``'s site for this set, written on first use."""
        with self._report_lock:
            site = self._reports.get(lang)
            if site is None:
                import tempfile

                from policy_dsl.tools.report import Site

                out = Path(tempfile.mkdtemp(prefix="policy-dsl-serve-report-"))
                Site(self.policy, dirs, lang).write(out)
                site = self._reports[lang] = out
            return site


class PolicyHolder:
    """The policy set being served. ``current`` is the last set that loaded without error; the
    files are looked at (their names, sizes, times) at most every ``check_interval`` seconds, and
    when they changed a background thread loads them and swaps the new set in whole — or, if they
    have errors, keeps the old one and says why in ``error``. A revision (``--rev``) never changes."""

    def __init__(self, source, limits: Limits | None = None):
        self.source = source  # a face.discover.PolicySource
        self.paths = [Path(p) for p in source.paths]
        self.dirs = [p if p.is_dir() else p.parent for p in self.paths]
        self.fixed = source.kind == "revision"
        self.limits = limits or Limits()
        self.error: dict | None = None
        self._generation = 0
        self._lock = threading.Lock()
        self._reloading = False
        self._next_check = 0.0
        self._seen = self._stamp()
        self._set = self._load(self._seen)  # errors at start: raised (the command exits 1)

    @classmethod
    def from_args(cls, policies: list[Path] | None, rev: str | None, limits: Limits | None = None) -> PolicyHolder:
        """The set the command line names, found as every command finds it (face/discover.py)."""
        from policy_dsl.face.discover import policy_source

        return cls(policy_source(policies, rev), limits)

    @property
    def current(self) -> LoadedSet:
        if not self.fixed:
            self.check()
        return self._set

    def describe(self) -> dict:
        return self._set.describe

    def files(self) -> list[Path]:
        from policy_dsl.language.load import policy_files

        return policy_files(self.paths)

    def _stamp(self) -> tuple:
        out = []
        for f in self.files():
            try:
                st = os.stat(f)
                out.append((str(f), st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                out.append((str(f), None))
        return tuple(out)

    def check(self) -> None:
        """Start a reload if the files changed since they were last looked at (cheap; at most
        every ``check_interval`` seconds)."""
        now = time.monotonic()
        if now < self._next_check or self._reloading:
            return
        self._next_check = now + self.limits.check_interval
        stamp = self._stamp()
        if stamp == self._seen:
            return
        with self._lock:
            if self._reloading:
                return
            self._reloading = True
        self._seen = stamp
        threading.Thread(target=self._reload, args=(stamp,), name="policy-reload", daemon=True).start()

    def reload_now(self) -> None:
        """Look at the files now and, if they changed, load them before returning (tests)."""
        self._next_check = 0.0
        self.check()
        while self._reloading:
            time.sleep(0.01)

    def _reload(self, stamp: tuple) -> None:
        try:
            loaded = self._load(stamp)
            self._set = loaded
            self.error = None
            log.warning("policy set reloaded: %s", loaded.describe.get("hash"))
        except PolicyDslError as exc:
            self.error = {"at": _now(), **api.error_json(exc)}
            self.error.setdefault("errors", [d.to_json() for d in exc.diagnostics])
            log.warning("policy files have errors; still serving %s: %s", self._set.describe.get("hash"), exc.first.format())
        except Exception as exc:  # noqa: BLE001 - a bug of ours: logged in full, the old set still serves
            log.exception("reloading the policy set failed")
            self.error = {"at": _now(), "error": {"code": "E-INTERNAL", "message": f"{type(exc).__name__}",
                                                  "where": "reload"}}
        finally:
            self._reloading = False

    def _load(self, stamp: tuple) -> LoadedSet:
        """The set in the files, read until two looks at them agree (a file being written while
        it was read is read again): never half of one edit and half of another."""
        for _ in range(5):
            policy = api.load_policy(self.paths)
            after = self._stamp()
            if after == stamp:
                break
            stamp = self._seen = after
        else:
            raise _error("E-FILE", t("service.files_changing"), "reload", t("service.files_changing.hint"))
        self._generation += 1
        named = self.source.to_json(policy.fingerprint)  # as every answer of the CLI names it
        describe = {**named, "files": len(stamp), "loaded_at": _now()}
        return LoadedSet(policy, named, describe, self._generation, self.limits.applies_cache)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


# -- queries ------------------------------------------------------------------------------------------
def _params(request: Request, allowed: dict) -> dict:
    """The query parameters, each given once unless ``allowed`` says "many"; unknown ones refused."""
    raw = request.scope.get("query_string", b"")
    if len(raw) > request.app.state.limits.max_query:
        raise _error("E-INPUT-SIZE", t("service.query_too_long", limit=f"{request.app.state.limits.max_query:,}"), "query")
    out: dict = {}
    for key, value in request.query_params.multi_items():
        if key not in allowed:
            from policy_dsl.language.errors import did_you_mean

            raise _error("E-USAGE", t("service.unknown_parameter", key=key[:40]), "query",
                         did_you_mean(key, allowed) or t("service.parameters", names=join(allowed)))
        if allowed[key] == "many":
            out.setdefault(key, []).extend(v for v in value.split(",") if v)
        elif key in out:
            raise _error("E-USAGE", t("service.twice", key=key), "query", t("service.twice.hint", key=key))
        else:
            out[key] = value
    return out


def _lang(params: dict, default: str) -> str:
    lang = params.get("lang", default)
    if lang not in ("zh", "en"):
        raise _error("E-USAGE", t("service.lang", lang=lang[:20]), "lang", t("service.lang.hint"))
    return lang


def _flag(params: dict, name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in ("1", "0", "true", "false", "yes", "no", ""):
        raise _error("E-USAGE", t("service.flag", name=name), name, f"{name}=true")
    return value in ("1", "true", "yes", "")


def _required(params: dict, name: str, example: str) -> str:
    value = params.get(name)
    if value is None or not value.strip():
        raise _error("E-USAGE", t("service.missing", name=name), "query", t("service.missing.hint", example=f"{name}={example}"))
    return value


def _json(data, status: int = 200, headers: dict | None = None) -> Response:
    return Response(api.dumps(data).encode(), status_code=status, media_type=JSON_TYPE, headers=headers)


# -- endpoints ---------------------------------------------------------------------------------------
async def health(request: Request) -> Response:
    holder: PolicyHolder = request.app.state.holder
    current = holder.current
    from policy_dsl import __version__

    body = {"status": "stale" if holder.error else "ok", "policy_set": current.describe, "version": __version__}
    if holder.error:
        body["policy_error"] = holder.error
    return _json(body, headers={"Cache-Control": "no-store"})


async def applies(request: Request) -> Response:
    state = request.app.state
    params = _params(request, {"date": "one", "region": "one", "topic": "many", "lang": "one"})
    lang = _lang(params, state.lang)
    day = api.parse_day(_required(params, "date", "2022-04-01"), Where("date"))
    region = _required(params, "region", "济南")
    topics = tuple(params.get("topic") or ())
    current: LoadedSet = state.holder.current

    def make() -> tuple[int, bytes]:
        with using(lang):  # a worker thread: the request's language is given, not inherited
            return _applies_answer()

    def _applies_answer() -> tuple[int, bytes]:
        try:
            api.check_topics(topics, Where("topic"))
            evaluator, _ = current.tools()
            found, place = api.applies_found(current.policy, region, day, topics or None, lang, evaluator,
                                             Where("region"))
            return 200, current.applies_texts.text(found, place, day, lang).encode()  # policy_set last, as the CLI
        except InputError as exc:
            return STATUS.get(exc.first.code, 400), (json.dumps(api.error_json(exc), ensure_ascii=False) + "\n").encode()

    key = (day, region, topics, lang)
    hit = current.cached_applies(key)
    if hit is None:  # a new question: worked out in a thread, so that quick answers need not wait behind it
        loop = asyncio.get_running_loop()
        hit = await loop.run_in_executor(state.applies_pool, current.applies, key, make)
    status, body = hit
    return Response(body, status_code=status, media_type=JSON_TYPE)


def search_regions(q: str, limit: int = 10, on: dt.date | None = None) -> list[dict]:
    """Regions as a name, pinyin or code is being typed, valid on ``on`` (None: still valid), with
    their full names, cities and validity dates (``Registry.search``, policy_dsl/language/regions.py)."""
    from policy_dsl.language.regions import default_registry

    return default_registry().search(q, limit, on=on)


async def regions(request: Request) -> Response:
    params = _params(request, {"q": "one", "limit": "one", "on": "one"})
    q = params.get("q", "")
    if len(q) > 64:
        raise _error("E-USAGE", t("service.q_too_long", count=f"{len(q):,}"), "q", t("service.q_too_long.hint"))
    try:
        limit = int(params.get("limit", "10"))
    except ValueError:
        raise _error("E-USAGE", t("service.limit_number"), "limit", "limit=10") from None
    if not 1 <= limit <= 100:
        raise _error("E-USAGE", t("service.limit_range"), "limit", "limit=10")
    on = api.parse_day(params["on"], Where("on")) if "on" in params else None
    found = search_regions(q, limit, on)
    return _json({"q": q, "on": on.isoformat() if on else None, "regions": found})


async def schema_case(request: Request) -> Response:
    from policy_dsl.language import resources

    _params(request, {})
    return Response(resources.schema_path("case").read_bytes(), media_type="application/schema+json")


async def kinds(request: Request) -> Response:
    """The kinds table of the policy set served (``policy.vocab``): kinds, facts and outputs, and
    the names people use for them (``labels``)."""
    _params(request, {})
    v = request.app.state.holder.current.policy.vocab
    data = {"kinds": {name: {"zh": k.zh, "en": k.en, "facts": k.facts, "decided_on": k.decided_on,
                             "outputs": list(k.outputs)} for name, k in v.kinds.items()},
            "outputs": v.outputs, "person_flags": v.person_flags, "labels": v.labels or {}}
    return _json(data)


async def clauses(request: Request) -> Response:
    _params(request, {})
    current: LoadedSet = request.app.state.holder.current
    etag = '"' + current.describe["hash"].replace('"', "") + '"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(current.clauses(), media_type=JSON_TYPE, headers={"ETag": etag})


async def openapi(request: Request) -> Response:
    from policy_dsl.face.openapi import document

    _params(request, {})
    return _json(document(request.app.state.limits))


async def report(request: Request) -> Response:
    """``policy-dsl report``'s pages for the set being served, written on first use."""
    lang, name = request.path_params["lang"], request.path_params["name"]
    if lang not in ("zh", "en") or "/" in name or "\\" in name or name.startswith("."):
        raise HTTPException(404)
    holder: PolicyHolder = request.app.state.holder
    current = holder.current
    loop = asyncio.get_running_loop()
    site = await loop.run_in_executor(request.app.state.pool, current.report, lang, holder.dirs)
    path = site / (name or "index.html")
    if not path.is_file():
        raise HTTPException(404)
    return FileResponse(path)


async def _no_icon(request: Request) -> Response:
    return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})


# The staff page's own words (its JavaScript asks for them as /static/words.js): key -> message id
WEB_WORDS = {
    "title": N_("web.title"),
    "appliesTitle": N_("web.applies_title"),
    "region": N_("web.region"),
    "date": N_("web.date"),
    "query": N_("web.query"),
    "regionPh": N_("web.region_ph"),
    "datePh": N_("web.date_ph"),
    "caseTitle": N_("web.case_title"),
    "kind": N_("web.kind"),
    "compute": N_("web.compute"),
    "footer": N_("web.footer"),
    "report": N_("web.report"),
    "switchTo": N_("web.switch_to"),
    "inForce": N_("web.in_force"),
    "pending": N_("web.pending"),
    "none": N_("web.none"),
    "from": N_("web.from"),
    "to": N_("web.to"),
    "displaces": N_("web.displaces"),
    "inForceFrom": N_("web.in_force_from"),
    "source": N_("web.source"),
    "national": N_("web.national"),
    "province": N_("web.province"),
    "city": N_("web.city"),
    "answer": N_("web.answer"),
    "status": N_("web.status"),
    "governing": N_("web.governing"),
    "displaced": N_("web.displaced"),
    "notes": N_("web.notes"),
    "trace": N_("web.trace"),
    "yes": N_("web.yes"),
    "no": N_("web.no"),
    "empty": N_("web.empty"),
    "decided": N_("web.decided"),
    "delegated": N_("web.delegated"),
    "no_rule": N_("web.no_rule"),
    "bounds": N_("web.bounds"),
    "policySet": N_("web.policy_set"),
    "enrollment": N_("web.enrollment"),
    "optional": N_("web.optional"),
    "badDate": N_("web.bad_date"),
    "badMonth": N_("web.bad_month"),
    "needRegion": N_("web.need_region"),
    "needField": N_("web.need_field"),
    "layers": N_("web.layers"),
    "errors": {
        "E-DATE": N_("web.error.e_date"),
        "E-REGION-UNKNOWN": N_("web.error.e_region_unknown"),
        "E-REGION-ABOLISHED": N_("web.error.e_region_abolished"),
        "E-REGION-NOT-YET": N_("web.error.e_region_not_yet"),
        "E-REGION-AMBIGUOUS": N_("web.error.e_region_ambiguous"),
        "E-TOPIC": N_("web.error.e_topic"),
        "E-USAGE": N_("web.error.e_usage"),
        "E-INPUT-SIZE": N_("web.error.e_input_size"),
        "E-TIMEOUT": N_("web.error.e_timeout"),
        "E-INTERNAL": N_("web.error.e_internal"),
        "case": N_("web.error.case"),
        "network": N_("web.error.network"),
    },
}


def web_words(lang: str) -> dict:
    """The staff page's words in ``lang``, from the catalog (``WEB_WORDS``)."""
    return {k: {e: say(lang, i) for e, i in v.items()} if isinstance(v, dict) else say(lang, v)
            for k, v in WEB_WORDS.items()}


async def _words_js(request: Request) -> Response:
    """``/static/words.js``: ``const UI = {zh: {...}, en: {...}}``, the page's words from the message catalog."""
    body = "\"use strict\";\n// The staff page's words, from the message catalog of policy-dsl (docs/i18n.md).\nconst UI = " + json.dumps(
        {lang: web_words(lang) for lang in ("zh", "en")}, ensure_ascii=False, indent=1) + ";\n"
    return Response(body.encode(), media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})


def _web(name: str, media: str):
    body = (WEB / name).read_bytes()

    async def serve(request: Request) -> Response:
        return Response(body, media_type=media, headers={"Cache-Control": "no-cache"})

    return serve


# -- POST /eval --------------------------------------------------------------------------------------
class EvalEndpoint:
    """``POST /eval``: a JSON case or list (answered once the body is in), or JSON Lines (answered
    line by line as the body arrives, the answers streamed back as they are made)."""

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        state = request.app.state
        if request.method != "POST":
            await error_response(_error("E-METHOD", t("service.eval_method", method=request.method), "method",
                                        t("service.eval_method.hint")))(scope, receive, send)
            return
        try:
            params = _params(request, {"lang": "one", "as_of": "one", "explain": "one"})
            lang = _lang(params, state.lang)
            as_of = api.parse_day(params["as_of"], Where("as_of")) if "as_of" in params else None
            explain = _flag(params, "explain")
            media = (request.headers.get("content-type") or JSON_TYPE).split(";")[0].strip().lower()
            name = MEDIA.get(media)
            if name is None:
                raise _error("E-MEDIA-TYPE", t("service.media", media=media[:60]), "Content-Type", t("service.media.hint"))
            limits: Limits = state.limits
            length = request.headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > limits.max_body):
                raise _error("E-INPUT-SIZE", t("service.body_size", size=length[:20], limit=f"{limits.max_body:,}"), "body", t("service.body.hint"))
        except PolicyDslError as exc:
            await error_response(exc)(scope, receive, send)
            return
        current: LoadedSet = state.holder.current
        if name.endswith(".jsonl"):
            await _Stream(state, current, name, lang, as_of, explain).run(receive, send)
            return
        try:
            body = await _read_body(receive, limits)
        except PolicyDslError as exc:
            await error_response(exc)(scope, receive, send)
            return
        if len(body) <= limits.inline_body:
            status, out = _answer_body(current, name, body, lang, as_of, explain)
        else:
            loop = asyncio.get_running_loop()
            status, out = await loop.run_in_executor(state.pool, _answer_body, current, name, body, lang, as_of, explain)
        await Response(out, status_code=status, media_type=JSON_TYPE)(scope, receive, send)


async def _read_body(receive, limits: Limits) -> bytes:
    """The whole request body, refused (InputError) past ``max_body`` bytes or when the client
    is too slow to send it."""
    parts, size = [], 0
    clock = _ClientClock(limits)
    while True:
        message = await clock.receive(receive)
        if message["type"] == "http.disconnect":
            raise _error("E-TIMEOUT", t("service.client_gone"), "body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limits.max_body:
            raise _error("E-INPUT-SIZE", t("service.body_over", limit=f"{limits.max_body:,}"), "body", t("service.body.hint"))
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


class _ClientClock:
    """Time spent waiting for a client's body: at most ``body_idle`` for any one piece, at most
    ``body_total`` in all. Only the server's idle time counts (``server_idle``: a clock that
    runs while the server has nothing of this body left to work on; the wall clock by default) —
    a busy server does not make its client "slow": a client held back by flow control while the
    server answers what it sent is not waited for."""

    def __init__(self, limits: Limits, server_idle=time.monotonic):
        self.limits, self.server_idle = limits, server_idle
        self.waited = 0.0

    async def receive(self, receive) -> dict:
        limits = self.limits
        task = asyncio.ensure_future(receive())
        start = self.server_idle()
        try:
            while True:
                piece = self.server_idle() - start
                wait = min(limits.body_idle - piece, limits.body_total - self.waited - piece)
                if wait <= 0:
                    raise _error("E-TIMEOUT", t("service.body_slow", idle=f"{limits.body_idle:g}", total=f"{limits.body_total:g}"),
                                 "body", t("service.body_slow.hint"))
                done, _ = await asyncio.wait({task}, timeout=wait)
                if done:
                    return task.result()
        finally:
            self.waited += self.server_idle() - start
            if not task.done():
                task.cancel()


def _answer_body(current: LoadedSet, name: str, body: bytes, lang: str, as_of, explain: bool) -> tuple[int, bytes]:
    """What ``eval NAME --format json`` prints for a file holding ``body``, and the status: 200,
    or 400 when the whole body is refused or its only case is bad (in ``lang``: this may run in a
    worker thread, which does not inherit the request's language)."""
    with using(lang):
        return _answered_body(current, name, body, lang, as_of, explain)


def _answered_body(current: LoadedSet, name: str, body: bytes, lang: str, as_of, explain: bool) -> tuple[int, bytes]:
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="\n")
    answers = current.answers(lang, as_of)
    try:
        bad = api.eval_json(answers, [(name, io.BytesIO(body))], out, explain)
    except PolicyDslError as exc:
        if exc.exit_code != 2:
            raise
        return STATUS.get(exc.first.code, 400), (json.dumps(api.error_json(exc), ensure_ascii=False) + "\n").encode()
    out.flush()
    text = out.buffer.getvalue()
    return (400 if bad and text.startswith(b"{") else 200), text


class _Gone(Exception):
    """The client of a stream went away: stop answering it."""


class _BodyPipe(io.RawIOBase):
    """The request body as a blocking binary file for the thread that answers it: the event loop
    puts chunks in, the thread reads them; ``fail`` makes the next read raise (too big, too slow).
    Before the thread waits for more, ``before_wait`` runs (it flushes the answers so far)."""

    def __init__(self):
        super().__init__()
        self._chunks: collections.deque = collections.deque()
        self._size = 0
        self._end = None  # None: more to come; True: the end; an exception: raise it
        self._cond = threading.Condition()
        self.before_wait = None
        self._idle_since: float | None = time.monotonic()  # not reading yet: nothing to work on
        self._idle_total = 0.0

    def readable(self) -> bool:
        return True

    def put(self, chunk: bytes) -> None:
        with self._cond:
            self._chunks.append(chunk)
            self._size += len(chunk)
            self._cond.notify()

    def finish(self, end=True) -> None:
        with self._cond:
            if self._end is None:
                self._end = end
            self._cond.notify()

    @property
    def buffered(self) -> int:
        return self._size

    def idle_time(self) -> float:
        """A clock that runs only while the reader waits for more body (or has not begun to read)."""
        with self._cond:
            since = self._idle_since
            return self._idle_total + (time.monotonic() - since if since is not None else 0.0)

    @property
    def finished(self) -> bool:
        return self._end is not None

    def readinto(self, b) -> int:
        with self._cond:
            if not self._chunks and self._end is None and self.before_wait is not None:
                self._cond.release()
                try:
                    self.before_wait()
                finally:
                    self._cond.acquire()
            if not self._chunks and self._end is None:
                self._idle_since = time.monotonic()
                while not self._chunks and self._end is None:
                    self._cond.wait()
            if self._idle_since is not None:
                self._idle_total += time.monotonic() - self._idle_since
                self._idle_since = None
            if self._chunks:
                chunk = self._chunks[0]
                n = min(len(b), len(chunk))
                b[:n] = chunk[:n]
                if n == len(chunk):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = chunk[n:]
                self._size -= n
                return n
            if self._end is True:
                return 0
            raise self._end


class _Sink(io.TextIOBase):
    """Where the answering thread writes (text, or bytes through ``buffer``, as to sys.stdout):
    each write goes to the event loop's queue. Once the body is all in, a thread that is more than
    ``limit`` bytes ahead of the client waits (before that it never does: a client may read
    nothing until it has sent everything)."""

    def __init__(self, loop, queue: asyncio.Queue, pipe: _BodyPipe, limit: int):
        super().__init__()
        self.loop, self.queue, self.pipe, self.limit = loop, queue, pipe, limit
        self.pending = 0
        self.gone = False
        self._drained = threading.Condition()
        self.buffer = self

    def write(self, data) -> int:
        if self.gone:
            raise _Gone()
        if isinstance(data, str):
            data = data.encode("utf-8")
        if data:
            with self._drained:
                self.pending += len(data)
            self.loop.call_soon_threadsafe(self.queue.put_nowait, data)
            with self._drained:
                while self.pending > self.limit and self.pipe.finished and not self.gone:
                    self._drained.wait(1.0)
        return len(data)

    def sent(self, n: int) -> None:
        with self._drained:
            self.pending -= n
            self._drained.notify_all()

    def leave(self) -> None:
        with self._drained:
            self.gone = True
            self._drained.notify_all()

    def flush(self) -> None:
        pass

    def close_stream(self) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, None)


class _Stream:
    """One JSON Lines request: the body fed to a thread that answers it line by line (the CLI's
    own reader and batch lane), the answers sent back as they come."""

    def __init__(self, state, current: LoadedSet, name: str, lang: str, as_of, explain: bool):
        self.state, self.current, self.name = state, current, name
        self.lang, self.as_of, self.explain = lang, as_of, explain

    async def run(self, receive, send) -> None:
        loop = asyncio.get_running_loop()
        limits: Limits = self.state.limits
        pipe = _BodyPipe()
        queue: asyncio.Queue = asyncio.Queue()
        sink = _Sink(loop, queue, pipe, limits.out_buffered)
        work = loop.run_in_executor(self.state.stream_pool, self._answer, pipe, sink)
        feeder = asyncio.ensure_future(self._feed(receive, pipe, sink, limits))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", NDJSON_TYPE.encode()), (b"cache-control", b"no-store")]})
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                await send({"type": "http.response.body", "body": item, "more_body": True})
                sink.sent(len(item))
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:  # the client went away while we were sending
            sink.leave()
        finally:
            pipe.finish(_Gone())
            sink.leave()
            feeder.cancel()
            await asyncio.gather(work, feeder, return_exceptions=True)

    def _answer(self, pipe: _BodyPipe, sink: _Sink) -> None:
        def on_lines(writer):
            pipe.before_wait = writer.flush

        try:
            with using(self.lang):  # a worker thread: the request's language is given, not inherited
                answers = self.current.answers(self.lang, self.as_of)
                body = io.BufferedReader(pipe, 64 * 1024)
                api.eval_json(answers, [(self.name, body)], sink, self.explain, on_lines)
        except _Gone:
            pass
        except PolicyDslError as exc:  # the body as a whole: too big, too slow, not JSON Lines — the CLI's last line
            if exc.exit_code != 2:
                log.error("stream: %s", exc)
                exc = _internal("body")
            try:
                sink.write(json.dumps(api.error_json(exc), ensure_ascii=False) + "\n")
            except _Gone:
                pass
        except Exception:  # noqa: BLE001 - a bug of ours: logged here, a plain error line for the client
            log.exception("answering a JSON Lines stream failed")
            try:
                sink.write(json.dumps(api.error_json(_internal("body")), ensure_ascii=False) + "\n")
            except _Gone:
                pass
        finally:
            sink.close_stream()

    async def _feed(self, receive, pipe: _BodyPipe, sink: _Sink, limits: Limits) -> None:
        size = 0
        clock = _ClientClock(limits, pipe.idle_time)
        try:
            while True:
                message = await clock.receive(receive)
                if message["type"] == "http.disconnect":
                    sink.leave()
                    pipe.finish(_Gone())
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limits.max_body:
                    raise _error("E-INPUT-SIZE", t("service.body_over_lines", limit=f"{limits.max_body:,}"), "body", t("service.body.hint"))
                if chunk:
                    pipe.put(chunk)
                while pipe.buffered > 1024 * 1024 and not pipe.finished:  # the thread is behind: wait for it
                    await asyncio.sleep(0.002)
                if not message.get("more_body", False):
                    pipe.finish()
                    break
            while True:  # the body is in: keep listening, to learn if the client goes away
                message = await receive()
                if message["type"] == "http.disconnect":
                    sink.leave()
                    return
        except PolicyDslError as exc:
            pipe.finish(exc)


# -- the application ----------------------------------------------------------------------------------
async def _not_found(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 405:
        return error_response(_error("E-METHOD", t("service.method", method=request.method, path=request.url.path[:100]),
                                     "method", t("service.see_openapi")))
    if exc.status_code == 404:
        return error_response(_error("E-NOT-FOUND", t("service.no_path", path=request.url.path[:100]), "path",
                                     t("service.see_openapi")))
    return error_response(_error("E-USAGE", str(exc.detail)[:200], "request"))


async def _input_error(request: Request, exc: PolicyDslError) -> Response:
    if exc.exit_code != 2:
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return error_response(_internal(request.url.path[:100]))
    return error_response(exc)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(_internal(request.url.path[:100]))


class _Headers:
    """Headers on every answer: no sniffing, and the page may load nothing from elsewhere."""

    HEADERS = [(b"x-content-type-options", b"nosniff"),
               (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; frame-ancestors 'self'"),
               (b"referrer-policy", b"same-origin")]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + self.HEADERS}
            await send(message)

        await self.app(scope, receive, with_headers)


class _Language:
    """Each request's words in the language it asks for (``lang=`` in the query, else the
    service's): the messages made while it is answered, errors included (docs/i18n.md). Work a
    request hands to a thread pool is given its language explicitly."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from urllib.parse import parse_qs

        asked = parse_qs(scope.get("query_string", b"")[:4096].decode("latin-1")).get("lang", [None])[0]
        path = scope.get("path", "")
        if path.startswith("/report/"):
            asked = path.split("/")[2]
        app = scope.get("app")
        default = getattr(getattr(app, "state", None), "lang", None)
        with using(asked if asked in ("zh", "en") else default):
            await self.app(scope, receive, send)


SETTINGS_VARIABLE = "POLICY_DSL_SERVE"  # the settings of ``serve --workers N``, for each process


def app_from_settings(settings: dict, holder: PolicyHolder | None = None) -> Starlette:
    """The application ``serve`` runs: ``settings`` are its command line's (policies, rev, lang,
    max_body)."""
    limits = Limits()
    if settings.get("max_body"):
        limits.max_body = settings["max_body"]
    if holder is None:
        holder = PolicyHolder.from_args([Path(p) for p in settings["policies"]] or None, settings["rev"], limits)
    return create_app(holder, limits, settings.get("lang") or "zh")


def app_from_environment() -> Starlette:
    """The application of one process of ``serve --workers N`` (uvicorn calls it in each)."""
    return app_from_settings(json.loads(os.environ[SETTINGS_VARIABLE]))


def create_app(holder: PolicyHolder, limits: Limits | None = None, lang: str = "zh") -> Starlette:
    """The ASGI application serving ``holder``'s policy set."""
    from starlette.middleware import Middleware

    limits = limits or holder.limits
    holder.limits = limits
    routes = [
        Route("/", _web("index.html", "text/html; charset=utf-8")),
        Route("/static/app.js", _web("app.js", "text/javascript; charset=utf-8")),
        Route("/static/words.js", _words_js),
        Route("/static/style.css", _web("style.css", "text/css; charset=utf-8")),
        Route("/favicon.ico", _no_icon),
        Route("/health", health),
        Route("/applies", applies),
        Route("/eval", EvalEndpoint(), methods=["POST"]),
        Route("/regions", regions),
        Route("/schema/case", schema_case),
        Route("/kinds", kinds),
        Route("/clauses", clauses),
        Route("/openapi.json", openapi),
        Route("/report/{lang}/{name:path}", report),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(_Headers), Middleware(_Language)],
                    exception_handlers={HTTPException: _not_found, PolicyDslError: _input_error, Exception: _server_error})
    app.state.holder, app.state.limits, app.state.lang = holder, limits, lang
    app.state.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="policy-dsl")
    app.state.applies_pool = ThreadPoolExecutor(max_workers=limits.applies_threads, thread_name_prefix="policy-dsl-applies")
    app.state.stream_pool = ThreadPoolExecutor(max_workers=limits.stream_threads, thread_name_prefix="policy-dsl-stream")
    return app
