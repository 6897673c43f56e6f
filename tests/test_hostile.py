"""Hostile input to every reader: policy files, case files (YAML, JSON, JSON Lines) and
command-line values. Each is refused with a clear error code — exit 2 for input (cases, values),
exit 1 for policy files under `check` — never a traceback, never a partial answer presented as
whole, quickly and in bounded memory. Time is asserted loosely (< 5 s) to stay robust on slow
machines; the measured figures are in docs/fuzzing.md. Big files are generated in tmp_path
(sparse where the content does not matter)."""

from __future__ import annotations

import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
MINIMAL = (HERE / "check" / "good" / "minimal.yaml").read_text(encoding="utf-8")
GOOD = {"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-10-20"}
MB = 1024 * 1024


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def _run(cli, *args, memory: bool = False):
    """Run the CLI; the time it took and (with ``memory``) the peak memory Python allocated
    meanwhile (tracemalloc: slower, so only where memory is the point)."""
    if memory:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        run = cli(*args)
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] if memory else 0
        if memory:
            tracemalloc.stop()
    run.elapsed, run.peak = elapsed, peak
    return run


def _codes(run) -> list[str]:
    """Every error code the run reported, on stdout (JSON) or stderr."""
    text = run.out + run.err
    codes = []
    for line in run.out.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and "error" in item:
                codes.append(item["error"]["code"])
    try:
        data = json.loads(run.out)
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and "error" in item:
                codes.append(item["error"]["code"])
            if isinstance(item, dict) and "diagnostics" in item:
                codes += [d["code"] for d in item["diagnostics"]]
    except ValueError:
        pass
    import re

    codes += re.findall(r"\b([EW]-[A-Z0-9-]+)\b", text)
    return codes


def _refused(run, code: str, exit_code: int = 2, memory: int = 256 * MB, output: int = 200_000):
    """Refused with ``code``, no traceback, bounded memory and output. (How long a refusal takes is
    measured by bench/fuzz.py, never asserted here: a loaded machine would make it flaky.)"""
    assert run.code == exit_code, (run.code, run.out[-2000:], run.err[-2000:])
    assert code in _codes(run), (code, run.out[-2000:], run.err[-2000:])
    assert "Traceback" not in run.out + run.err
    assert "internal error" not in run.err and "内部错误" not in run.err
    assert run.peak < memory, run.peak
    assert len(run.out) + len(run.err) < output, "an error message echoes the input"


# -- case files ---------------------------------------------------------------------------
def _case_text(name: str, text: str | bytes, tmp_path: Path) -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_case_file_of_100_mb_refused_by_size_before_reading(cli, tmp_path, suffix):
    path = _sparse(tmp_path / f"big{suffix}", 100 * MB)
    run = _run(cli, "eval", path, "--format", "json", memory=True)
    _refused(run, "E-INPUT-SIZE", memory=64 * MB)  # nothing of it was read (loading the policies is most of it)


def test_jsonl_line_of_100_mb_refused_in_bounded_memory(cli, tmp_path):
    path = tmp_path / "long.jsonl"
    with open(path, "wb") as fh:
        fh.write((json.dumps(GOOD) + "\n").encode())
        fh.write(b'{"kind": "')
        fh.truncate(100 * MB)  # one line of 100 MB (NUL bytes), no newline
    run = _run(cli, "eval", path, "--format", "json", memory=True)
    _refused(run, "E-INPUT-SIZE", memory=64 * MB)
    lines = run.lines
    assert lines[0]["status"] == "decided" and lines[1]["error"]["code"] == "E-INPUT-SIZE"


def test_jsonl_of_100_mb_garbage_stops_early(cli, tmp_path):
    path = _case_text("garbage.jsonl", b"not json\n" * (100 * MB // 9), tmp_path)
    run = _run(cli, "eval", path, "--format", "json")
    _refused(run, "E-CASE-JSON", output=400_000)  # an error line for each of the first 1,000 lines
    assert "读到第 1,001 行停止" in run.out


def test_json_list_of_many_tiny_items_refused_before_answering(cli, tmp_path):
    path = _case_text("many.json", "[" + "{}," * 200_000 + "{}]", tmp_path)
    run = _run(cli, "eval", path, "--format", "json", memory=True)
    _refused(run, "E-INPUT-SIZE", memory=64 * MB)
    assert "JSON Lines" in run.err


def test_json_list_broken_at_the_end_gives_no_answer(cli, tmp_path):
    text = "[" + ",".join(json.dumps({**GOOD, "id": i}) for i in range(50)) + ",]"
    run = _run(cli, "eval", _case_text("broken.json", text, tmp_path), "--format", "json")
    _refused(run, "E-CASE-JSON")
    assert '"status"' not in run.out  # no partial answer


@pytest.mark.parametrize("name,text,code", [
    ("bomb.yaml", _alias_bomb(), "E-YAML-ALIASES"),
    ("deep.yaml", "kind: " + "[" * 10_000 + "]" * 10_000 + "\n", "E-YAML-DEPTH"),
    ("deep.json", "[" * 10_000 + "]" * 10_000, "E-CASE-JSON"),
    ("deepcase.json", '{"region": "济南", "kind": ' + "[" * 10_000 + "]" * 10_000 + "}", "E-CASE-JSON"),
    ("deep.jsonl", "[" * 10_000 + "]" * 10_000 + "\n", "E-CASE-JSON"),
    ("longline.yaml", "kind: " + "x" * (5 * MB) + "\nregion: 济南\n", "E-CASE-KIND"),
    ("longline.json", json.dumps({**GOOD, "kind": "x" * (5 * MB)}), "E-CASE-KIND"),
    ("longkey.json", json.dumps({**GOOD, "k" * MB: 1}), "E-CASE-UNKNOWN-KEY"),
    ("longid.json", json.dumps({**GOOD, "id": "i" * MB, "paid_on": "2022-02-30"}), "E-CASE-DATE"),
    ("utf8.yaml", b"kind: arrears\nregion: \xff\xfe\n", "E-INPUT-UTF8"),
    ("utf8.json", b'{"kind": "arrears", "region": "\xc3\x28"}', "E-INPUT-UTF8"),
    ("utf8.jsonl", b'{"kind": "\xff"}\n', "E-INPUT-UTF8"),
    ("surrogate.json", json.dumps({**GOOD, "id": "\ud800"}), "E-INPUT-UTF8"),
    ("surrogate.jsonl", json.dumps({**GOOD, "id": "\ud800"}) + "\n", "E-INPUT-UTF8"),
    ("tabs.yaml", "kind: arrears\nregion:\n\t- 济南\n", "E-YAML-SYNTAX"),
    ("dup.yaml", "kind: arrears\nkind: arrears\n", "E-YAML-DUPLICATE-KEY"),
    ("dup.json", '{"kind": "arrears", "kind": "arrears"}', "E-CASE-JSON"),
    ("dup.jsonl", '{"kind": "arrears", "kind": "arrears"}\n', "E-CASE-JSON"),
    ("intkey.yaml", "kind: arrears\n1: x\n", "E-YAML-KEY"),
    ("listkey.yaml", "kind: arrears\n? [a, b]\n: x\n", "E-YAML-KEY"),
    ("boolkey.yaml", "kind: arrears\nyes: 1\n", "E-YAML-BOOL-KEY"),
    ("onkey.yaml", "kind: arrears\nOn: 1\n", "E-YAML-BOOL-KEY"),
    ("nodate.json", json.dumps({**GOOD, "paid_on": "2022-02-30"}), "E-CASE-DATE"),
    ("year0.json", json.dumps({**GOOD, "paid_on": "0000-01-01"}), "E-CASE-DATE"),
    ("year9999.json", json.dumps({**GOOD, "paid_on": "9999-12-31", "last_paid_month": "9999-11"}), "E-CASE-DATE"),
    ("month13.yaml", "kind: arrears\nregion: 济南\nworker: flexible\nlast_paid_month: 2022-13\npaid_on: 2022-10-20\n",
     "E-CASE-MONTH"),
    ("hugeint.json", '{"kind": "resident_enrollment", "region": "济南", "benefit_year": ' + "9" * 5000
     + ', "paid_on": "2022-10-01"}', "E-CASE-JSON"),
    ("hugeint.yaml", "kind: resident_enrollment\nregion: 济南\nbenefit_year: " + "9" * 40 + "\npaid_on: 2022-10-01\n",
     "E-INPUT-NUMBER"),
    ("bigyear.json", json.dumps({"kind": "resident_enrollment", "region": "济南", "benefit_year": 999_999,
                                 "paid_on": "2022-10-01"}), "E-CASE-VALUE"),
    ("negative.json", json.dumps({"kind": "retirement_min_years", "region": "济南", "sex": "male",
                                  "retire_on": "2022-10-01", "contribution_years": -3}), "E-CASE-VALUE"),
    ("inf.json", '{"kind": "retirement_min_years", "region": "济南", "sex": "male", "retire_on": "2022-10-01", '
     '"contribution_years": 1e999}', "E-CASE-TYPE"),
    ("nan.json", '{"kind": "retirement_min_years", "region": "济南", "sex": "male", "retire_on": "2022-10-01", '
     '"contribution_years": NaN}', "E-CASE-JSON"),
    ("nan.yaml", "kind: retirement_min_years\nregion: 济南\nsex: male\nretire_on: 2022-10-01\ncontribution_years: .nan\n",
     "E-INPUT-NUMBER"),
    ("kindlist.json", json.dumps({**GOOD, "kind": [[[1]]]}), "E-CASE-KIND"),
    ("tag.yaml", "kind: !!python/object/apply:os.system [ls]\n", "E-YAML-TAG"),
    ("merge.yaml", "<<: {kind: arrears}\n", "E-YAML-MERGE"),
    ("two.yaml", "kind: arrears\n---\nkind: arrears\n", "E-YAML-DOCUMENTS"),
    ("empty.json", "", "E-CASE-JSON"),
    ("scalar.yaml", "just words\n", "E-CASE-SHAPE"),
])
def test_hostile_case_file_refused(cli, tmp_path, name, text, code):
    run = _run(cli, "eval", _case_text(name, text, tmp_path), "--format", "json")
    _refused(run, code)


@pytest.mark.parametrize("name,text", [
    ("bom.json", "\ufeff" + json.dumps(GOOD)),
    ("bom.yaml", "\ufeff" + "\n".join(f"{k}: {v}" for k, v in GOOD.items()) + "\n"),
    ("bom.jsonl", "\ufeff" + json.dumps(GOOD) + "\n"),
    ("tabs.json", json.dumps(GOOD, indent="\t")),
])
def test_bom_and_tabs_in_json_are_fine(cli, tmp_path, name, text):
    run = cli("eval", _case_text(name, text, tmp_path), "--format", "json")
    assert run.code == 0, run.err
    first = run.lines[0] if name.endswith(".jsonl") else run.json
    assert first["benefit_start"] == "2022-11-01"


@pytest.mark.parametrize("make", ["folder", "device", "fifo", "missing"])
def test_case_path_that_is_not_a_file(cli, tmp_path, make):
    if make == "folder":
        path = tmp_path
    elif make == "device":
        path = Path("/dev/zero")
        if not path.exists():
            pytest.skip("no /dev/zero")
    elif make == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no named pipes")
        path = tmp_path / "pipe.json"
        os.mkfifo(path)
    else:
        path = tmp_path / "missing.json"
    for p in (path, str(path) + "l" if make == "fifo" else path):
        run = _run(cli, "eval", p, "--format", "json")
        _refused(run, "E-CASE-FILE")


def test_stdin_over_the_limit_is_refused(cli, monkeypatch):
    import io

    from policy_dsl.engine import cases

    class Stdin:
        buffer = io.BytesIO(b"a: " + b"x" * (cases.MAX_YAML_CASE_BYTES + 10))

    monkeypatch.setattr(sys, "stdin", Stdin)
    _refused(_run(cli, "eval", "-", "--format", "json"), "E-INPUT-SIZE")


def test_a_bad_case_in_a_batch_is_marked_the_others_answered(cli, tmp_path):
    cases = [GOOD, {**GOOD, "paid_on": "2022-02-30", "id": "bad"}, GOOD]
    run = cli("eval", _case_text("batch.json", json.dumps(cases), tmp_path), "--format", "json")
    assert run.code == 2
    assert [("error" in r) for r in run.json] == [False, True, False]
    assert run.json[1]["id"] == "bad"


# -- command-line values ------------------------------------------------------------------
@pytest.mark.parametrize("args,code", [
    (["applies", "--date", "2022-02-30", "--region", "济南"], "E-DATE"),
    (["applies", "--date", "9999-12-31", "--region", "济南"], "E-DATE"),
    (["applies", "--date", "0001-01-01", "--region", "济南"], "E-DATE"),
    (["applies", "--date", "x" * MB, "--region", "济南"], "E-DATE"),
    (["applies", "--date", "2022-04-01", "--region", "济" * MB], "E-REGION-UNKNOWN"),
    (["applies", "--date", "2022-04-01", "--region", "济南", "--topic", "t" * MB], "E-TOPIC"),
    (["applies", "--date", "2022-04-01", "--region", "\udcff"], "E-USAGE"),
    (["applies", "--date", "2022-04-01", "--region", "济南", "--lang", "xx" * 1000], "E-USAGE"),
    (["applies", "--date", "2022-04-01\x00", "--region", "济南"], "E-DATE"),
    (["eval", "case.json", "--as-of", "10000-01-01"], "E-DATE"),
    (["frobnicate"], "E-USAGE"),
])
def test_hostile_command_line_value(cli, args, code):
    _refused(_run(cli, *args, "--format", "json"), code)


def test_case_path_with_nul_byte(cli):
    _refused(_run(cli, "eval", "case\x00.json", "--format", "json"), "E-CASE-FILE")


# -- policy files (exit 1: the policy files have errors) ----------------------------------
def _policy(tmp_path: Path, text: str | bytes, name: str = "p.yaml") -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


@pytest.mark.parametrize("text,code", [
    (_alias_bomb(), "E-YAML-ALIASES"),
    ("document: " + "[" * 10_000 + "]" * 10_000 + "\n", "E-YAML-DEPTH"),
    (MINIMAL.replace("测试", "测试\udcff").encode("utf-8", "surrogateescape"), "E-INPUT-UTF8"),
    (MINIMAL.replace("  id: good-minimal", "\tid: good-minimal"), "E-YAML-SYNTAX"),
    (MINIMAL.replace("  title: 测试", "  title: 测试\n  title: 测试"), "E-YAML-DUPLICATE-KEY"),
    (MINIMAL.replace("  title: 测试", "  title: 测试\n  1: 测试"), "E-YAML-KEY"),
    (MINIMAL.replace("  title: 测试", "  title: 测试\n  on: 测试"), "E-YAML-BOOL-KEY"),
    (MINIMAL.replace('issued: "2022-03-08"', 'issued: "2022-02-30"'), "E-DATE"),
    (MINIMAL.replace("version: 1\n", "version: " + "9" * 40 + "\n"), "E-INPUT-NUMBER"),
    (MINIMAL.replace("version: 1\n", "version: .nan\n"), "E-INPUT-NUMBER"),
    (MINIMAL.replace('worker == "flexible"', "not " * 500 + "true"), "E-EXPR-SYNTAX"),
    (MINIMAL.replace('worker == "flexible"', "1" + " + 1" * 900 + " > 0"), "E-EXPR-SYNTAX"),
    (MINIMAL.replace("source: 000_f0abc4aefafc31ea.txt", "source: ../../../../../../dev/zero"), "E-SOURCE-MISSING"),
    (MINIMAL.replace("text: 灵活", "text: " + "灵" * 600_000 + "灵活"), "E-SOURCE-TEXT"),
    ("document: [1, 2]\n", "E-SCHEMA-TYPE"),
    ("- 1\n- 2\n", "E-SCHEMA-SHAPE"),
    ("", "E-SCHEMA-SHAPE"),
])
def test_hostile_policy_file_refused(cli, tmp_path, text, code):
    run = _run(cli, "check", _policy(tmp_path, text), "--format", "json")
    _refused(run, code, exit_code=1)


def test_policy_file_with_bom_is_fine(cli, tmp_path):
    assert cli("check", _policy(tmp_path, "\ufeff" + MINIMAL)).code == 0


def test_policy_file_of_100_mb_refused_by_size(cli, tmp_path):
    run = _run(cli, "check", _sparse(tmp_path / "big.yaml", 100 * MB), "--format", "json", memory=True)
    _refused(run, "E-INPUT-SIZE", exit_code=1, memory=16 * MB)


@pytest.mark.parametrize("make", ["device", "fifo"])
def test_policy_path_that_is_not_a_file(cli, tmp_path, make):
    if make == "device":
        path = Path("/dev/zero")
        if not path.exists():
            pytest.skip("no /dev/zero")
    else:
        if not hasattr(os, "mkfifo"):
            pytest.skip("no named pipes")
        path = tmp_path / "pipe.yaml"
        os.mkfifo(path)
    _refused(_run(cli, "check", path, "--format", "json"), "E-FILE", exit_code=1)
    case = _case_text("case.json", json.dumps(GOOD), tmp_path)
    _refused(_run(cli, "eval", case, "--policies", path, "--format", "json"), "E-FILE", exit_code=1)
