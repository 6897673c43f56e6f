"""Hypothesis strategies for hostile and half-valid input, shared by the property tests
(tests/test_properties.py) and the long-running fuzzer (bench/fuzz.py): case data that is
mostly valid (so it reaches the evaluator) with junk mixed in, serialised as JSON, YAML or JSON
Lines and sometimes damaged byte by byte; mutations of the shipped policy files (keys dropped
or renamed, values of another type, expressions garbled); and an in-process CLI runner."""

from __future__ import annotations

import io
import json
import os
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import yaml
from hypothesis import strategies as st

from policy_dsl.language import resources
from policy_dsl.language.kinds import vocabulary

VOCAB = vocabulary()
KINDS = list(VOCAB.kinds)
REGIONS = ["济南", "370100", "370102", "jinan", "枣庄", "370400", "南京", "320100", "371200", "莱芜", "000000",
           "青岛市", "火星", "37010", "", " 济南 "]
GOOD_REGIONS = ["济南", "370100", "370102", "枣庄", "370400", "南京", "320100"]
JUNK_WORDS = ["on", "yes", "NaN", "null", "~", "0x1F", "1e999", "-0", "2022-02-30", "2022-13", "9999-12-31",
              "0000-01-01", "\ufeff", "\t", "\u202e", "\ud7ff", "𝕏", "a" * 300, "<<", "&a", "*a", "!!str", "%", "#"]

# -- values -------------------------------------------------------------------------------
scalars = st.one_of(
    st.sampled_from(JUNK_WORDS),
    st.text(max_size=12),
    st.integers(-10**7, 10**7),
    st.integers(-10**40, 10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.isoformat()[:7]),
)
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=8)


def _valid(spec: dict):
    t = spec["type"]
    if t == "date":
        return st.dates(min_value=__import__("datetime").date(2018, 1, 1),
                        max_value=__import__("datetime").date(2027, 12, 31)).map(lambda d: d.isoformat())
    if t == "month":
        return st.tuples(st.integers(2018, 2027), st.integers(1, 12)).map(lambda ym: f"{ym[0]:04d}-{ym[1]:02d}")
    if t == "enum":
        return st.sampled_from(spec["values"])
    if t == "bool":
        return st.booleans()
    if t == "int":
        return st.integers(2018, 2028)
    if t == "number":
        return st.one_of(st.integers(0, 40), st.floats(0, 40, allow_nan=False))
    if t == "region":
        return st.sampled_from(REGIONS)
    if t == "list":
        item = st.fixed_dictionaries({k: _valid(v) for k, v in spec["items"].items()})
        return st.lists(item, min_size=spec.get("length", 1), max_size=spec.get("length", 3))
    raise AssertionError(t)


@st.composite
def case_data(draw):
    """A case: a kind's facts, each valid, junk or missing; sometimes extra keys or flags."""
    kind = draw(junk) if draw(st.integers(0, 9)) == 0 else draw(st.sampled_from(KINDS))
    region = draw(st.integers(0, 9))
    data = {"kind": kind, "region": draw(junk) if region == 0 else draw(st.sampled_from(REGIONS if region == 1 else GOOD_REGIONS))}
    spec = VOCAB.kinds.get(kind) if isinstance(kind, str) else None
    if spec is not None:
        for name, fact in spec.facts.items():
            choice = draw(st.integers(0, 29))
            if choice == 0:
                continue  # missing
            data[name] = draw(junk) if choice == 1 else draw(_valid(fact))
    if draw(st.integers(0, 7)) == 0:
        data[draw(st.sampled_from(["id", "low_income", "veteran", "poverty_registered", "x", "paied_on"]) | st.text(max_size=8))] = draw(junk)
    return data


def _dump(data, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")
    if fmt == "jsonl":
        items = data if isinstance(data, list) else [data]
        return "".join(json.dumps(i, ensure_ascii=False, allow_nan=True) + "\n" for i in items).encode("utf-8", "surrogatepass")
    try:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8", "surrogatepass")
    except yaml.YAMLError:
        return b"kind: [unterminated\n"


@st.composite
def damaged(draw, raw: bytes) -> bytes:
    """``raw`` with a few bytes flipped, inserted, deleted, or cut short."""
    out = bytearray(raw)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "bom", "tab"]))
        pos = draw(st.integers(0, max(len(out) - 1, 0)))
        if op == "flip" and out:
            out[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            out[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and out:
            del out[pos]
        elif op == "truncate":
            del out[pos:]
        elif op == "bom":
            out[0:0] = b"\xef\xbb\xbf"
        elif op == "tab":
            out[pos:pos] = b"\t"
    return bytes(out)


@st.composite
def case_files(draw):
    """(file suffix, bytes) for `policy-dsl eval`."""
    fmt = draw(st.sampled_from(["json", "yaml", "jsonl"]))
    data = draw(st.lists(case_data(), min_size=1, max_size=4) if draw(st.booleans()) else case_data())
    raw = _dump(data, fmt)
    if draw(st.integers(0, 5)) == 0:
        raw = draw(damaged(raw))
    return "." + fmt, raw


# -- policy files -------------------------------------------------------------------------
OPERATORS = ["==", "=", "!=", "<=", ">", " and ", " or ", "not ", "(", ")", "[", "]", ".", ",", '"', "+", "-", " in ",
             "month(", "start(", "period_end(", " 6 months", "2022-04-01", "2022-13", "gap_months", "paid_on",
             "nonesuch", "if ", " then ", " else ", "𝕏", "\n"]


def policy_documents() -> dict[str, object]:
    """The shipped policy files as plain data, by file name."""
    from policy_dsl.language.yamlsafe import decode, load_yaml

    out = {}
    for f in sorted(resources.policies_dir().glob("*.yaml")):
        out[f.name] = load_yaml(decode(f.read_bytes(), f.name), f.name).data
    return out


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, prefix + (i,))


def _get(data, path):
    for p in path:
        data = data[p]
    return data


@st.composite
def garbled(draw, text: str) -> str:
    out = text
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(out)))
        op = draw(st.integers(0, 2))
        if op == 0:
            out = out[:pos] + draw(st.sampled_from(OPERATORS)) + out[pos:]
        elif op == 1:
            out = out[:pos] + out[pos + draw(st.integers(1, 6)):]
        else:
            out = out.replace(draw(st.sampled_from(["==", "<=", ">", "and", "or", "(", ")", "+", "-", "1", "3"])),
                              draw(st.sampled_from(OPERATORS)), 1)
    return out


@st.composite
def mutated_policy(draw, documents: dict):
    """(file name, mutated data) of one shipped policy file: 1–3 mutations."""
    import copy

    name = draw(st.sampled_from(sorted(documents)))
    data = copy.deepcopy(documents[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _get(data, path[:-1]), path[-1]
        value = parent[key]
        op = draw(st.sampled_from(["drop", "rename", "retype", "garble", "garble", "duplicate"]))
        if op == "drop":
            del parent[key]
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["when", "decide", "delegate", "topic", "from", "efective_from", "id", "x"])
                        | st.text(min_size=1, max_size=8))] = parent.pop(key)
        elif op == "retype":
            parent[key] = draw(st.one_of(st.integers(-10, 10**6), st.booleans(), st.none(), st.text(max_size=10),
                                         st.lists(st.integers(0, 3), max_size=2), st.just({"a": 1}),
                                         st.sampled_from(["2022-02-30", "000000", "370100", "arrears", "all",
                                                          "yb-2021-43/transfer-long-gap", "lu-2021-54", "2030-01-01"])))
        elif op == "garble" and isinstance(value, str):
            parent[key] = draw(garbled(value))
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(value))
    return name, data


def dump_policy(data) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000).encode("utf-8")


def copy_policies(dest: Path) -> Path:
    """A writable copy of the shipped policies (with sources; without the policy tests)."""
    src = resources.policies_dir()
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("tests"))
    return dest


# -- running ------------------------------------------------------------------------------
def run_cli(args, env: dict | None = None) -> tuple[int, str, str]:
    """``policy-dsl ARGS`` in this process: exit code, stdout, stderr (an escaped exception
    counts as exit code None). ``env``: environment variables set for this run only."""
    from policy_dsl.face.cli import main

    env = {"NO_COLOR": "1", "POLICY_DSL_DEBUG": None, **(env or {})}
    saved = {k: os.environ.get(k) for k in env}
    for k, v in env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    out, err = io.StringIO(), io.StringIO()
    try:
        code = _run_main(main, args, out, err)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return code, out.getvalue(), err.getvalue()


def _run_main(main, args, out, err):
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse after --help or --version: a normal exit
            code = exc.code if isinstance(exc.code, int) else 0
        except BaseException as exc:  # noqa: BLE001 — a crash is what we look for
            if isinstance(exc, KeyboardInterrupt):
                raise
            import traceback

            err.write("Traceback (escaped main)\n" + traceback.format_exc())
            code = None
    return code


def crashed(code, out: str, err: str, allowed=(0, 1, 2)) -> bool:
    return code not in allowed or "Traceback" in out + err or "internal error" in err or "内部错误" in err
