"""Chinese first: under the default language no English sentence and no message id reaches a
user, from any command's --help, answers or error paths; ``--lang en`` gives English (docs/i18n.md).

English *prose* is what is looked for: two or more English words in a row, once code is set
aside — words in backticks, commands to type (``policy-dsl …``, ``git …``), file paths, option
names, codes like E-DATE and identifiers like ``paid_on`` or ``arrears``, and words in capitals
(DATE, JSON, HEAD)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policy_dsl.language import messages

REPO = Path(__file__).resolve().parent.parent
CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
WORD = re.compile(r"\(?[A-Za-z]{2,}[,;:.!?)]?")  # an English word, perhaps with its punctuation
COMMAND = re.compile(rf"(?:policy-dsl|git|python3?|pip)\s[^{CJK}]*")  # a command line to type, up to the Chinese
SINGLE = {"hint:", "usage:", "options:", "FAIL", "error:", "warning:"}  # words that alone betray an untranslated line


def _catalog_ids() -> set:
    import importlib.util

    spec = importlib.util.spec_from_file_location("compile_messages", REPO / "scripts" / "compile_messages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {k for k in module.texts(module.read(module.po_path("zh"))) if "|" not in k}


IDS = _catalog_ids()


def english(text: str) -> list[str]:
    """The English prose and the message ids in ``text``."""
    found = []
    for line in text.splitlines():
        s = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"", " | ", line)  # code quoted
        s = COMMAND.sub(" | ", s)
        tokens = s.split()
        found += [tok for tok in tokens if tok.strip("()[]:,;") in IDS or tok in SINGLE]
        words = ["w" if WORD.fullmatch(tok) and not tok.strip("(),;:.!?").isupper() else "|" for tok in tokens]
        for m in re.finditer(r"w(?: w)+", " ".join(words)):
            start = " ".join(words)[: m.start()].count(" ")
            found.append(" ".join(tokens[start:start + m.group(0).count("w")]))
    return found


def test_the_detector():
    assert english("policy_dsl/data/kinds.yaml:71:7: W-UNREAD-FACT switch_scheme: no clause on this kind reads") == [
        "no clause on this kind reads"]
    assert english("    hint: 见 `policy-dsl --help`") == ["hint:"]
    assert english("命令行: E-DATE `2022-4-31` 这一天不存在\n  --date DATE  日期，如 2022-04-01") == []
    assert english("提示：git config diff.policy-dsl.command 'policy-dsl git-diff'") == []
    assert english("YAML、JSON 或 JSON Lines 案例文件; render.none") == ["render.none"]
    assert english("table 给人看，json 给程序读") == []


HELP = [[], ["--help"]] + [[c.name, "--help"] for c in __import__("policy_dsl.face.commands", fromlist=["x"]).COMMANDS]

ERRORS = [
    ["nonsense"],
    ["applies"],
    ["applies", "--date", "2022-02-30", "--region", "济南"],
    ["applies", "--date", "4/1/2022", "--region", "济南"],
    ["applies", "--date", "2022-04-01", "--region", "济南", "--topic", "arears"],
    ["applies", "--date", "2022-04-01", "--region", "济南", "--lang", "fr"],
    ["applies", "--date", "2022-04-01", "--region", "济南", "--format", "json", "--topic", "x"],
    ["eval"],
    ["eval", "--bogus"],
    ["diff"],
    ["diff", "--between", "2022-01-01", "2022-02-01"],
    ["timeline", "--region", "济南", "--from", "2022-01-01", "--to", "2021-01-01"],
    ["git-diff", "a"],
    ["schema", "x"],
    ["completion", "fish"],
    ["fmt", "/nonexistent/policies"],
    ["applies", "--date", "1900-01-01", "--region", "济南"],
    ["applies", "--date", "", "--region", "济南"],
    ["check", "--rev="],
    ["fmt", "--rev", "HEAD"],
    ["serve", "--port", "x"],
    ["report"],
    ["test", "--policies", "policies", "--rev", "HEAD"],
]

ANSWERS = [
    ["applies", "--date", "2022-04-01", "--region", "济南"],
    ["eval", str(REPO / "examples" / "arrears-jinan.yaml"), "--explain"],
    ["test"],
    ["timeline", "--region", "济南"],
]


@pytest.fixture
def run(capsys, monkeypatch):
    """``policy-dsl ARGS`` in-process, --help (argparse's exit) included."""
    from conftest import Run

    from policy_dsl.face.cli import main

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.chdir(REPO)

    def go(*argv) -> Run:
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # --help
            code = exc.code
        out = capsys.readouterr()
        return Run(code, out.out, out.err)

    return go


@pytest.mark.parametrize("argv", HELP + ERRORS + ANSWERS, ids=lambda a: " ".join(a) or "(none)")
def test_no_english_under_the_default_language(run, argv, monkeypatch):
    monkeypatch.delenv("POLICY_DSL_LANG", raising=False)
    run = run(*argv)
    assert "Traceback" not in run.err and run.code != 70, run.err
    found = english(run.out + "\n" + run.err)
    assert not found, f"English or ids reach the user: {found}\n{run.out[-2000:]}{run.err[-2000:]}"
    assert messages.current() == "zh"  # the command's language did not leak out of it


def test_the_completion_script_says_what_it_is_in_chinese(run):
    script = run("completion", "bash").out
    assert script.startswith("# policy-dsl 的 shell 补全")


def test_english_with_lang_en(run):
    cli = run
    assert "show this help message and exit" in cli("applies", "--help", "--lang", "en").out
    assert "the date, e.g." in cli("applies", "--lang", "en", "--help").out
    run = cli("applies", "--date", "2022-04-01", "--region", "济南", "--lang", "en")
    assert "Clause" in run.out and "policy set:" in run.out and "条款" not in run.out
    err = cli("applies", "--date", "2022-02-30", "--region", "济南", "--lang", "en", "--format", "json")
    assert err.json["error"]["message"] == "`2022-02-30` is not a date that exists"
    err = cli("applies", "--lang", "en")
    assert "the following arguments are required: --date, --region" in err.err and "hint: see" in err.err


def test_env_chooses_the_language(run, monkeypatch):
    cli = run
    monkeypatch.setenv("POLICY_DSL_LANG", "en")
    assert "show this help message and exit" in cli("check", "--help").out
    monkeypatch.setenv("POLICY_DSL_LANG", "zh")
    assert "显示本帮助并退出" in cli("check", "--help").out


def _policy_copy(tmp_path: Path) -> Path:
    import shutil

    dest = tmp_path / "p"
    shutil.copytree(REPO / "policies", dest)
    return dest


# edits of a copy of policies/jn-2022-2.yaml, each one a mistake an officer makes
BROKEN_POLICIES = {
    "yaml syntax": lambda s: s.replace("document:\n", "document:\n  : x\n", 1),
    "tab": lambda s: s.replace("\n  id:", "\n\tid:", 1),
    "duplicate key": lambda s: s.replace("\n  id: jn-2022-2", "\n  id: jn-2022-2\n  id: jn-2022-2", 1),
    "unknown key": lambda s: s.replace("\n  id: jn-2022-2", "\n  id: jn-2022-2\n  levle: city", 1),
    "missing key": lambda s: s.replace("\n  number:", "\n  numbr:", 1),
    "wrong schema type": lambda s: s.replace("\n  aliases:", "\n  aliases: 3\n  old_aliases:", 1),
    "bad date": lambda s: s.replace('issued: "2022-', 'issued: "2022-02-30"\n  x_issued: "2022-', 1),
    "bool key": lambda s: s.replace("\n  id: jn-2022-2", "\n  id: jn-2022-2\n  yes: 1", 1),
    "octal": lambda s: s.replace("\n  id: jn-2022-2", "\n  id: jn-2022-2\n  version: 010", 1),
    "merge key": lambda s: s.replace("\n  id: jn-2022-2", "\n  id: jn-2022-2\n  <<: {a: 1}", 1),
    "single equals": lambda s: s.replace('when: worker == "flexible"\n', 'when: worker = "flexible"\n', 1),
    "unknown name": lambda s: s.replace('when: worker == "flexible"\n', 'when: workr == "flexible"\n', 1),
    "wrong type": lambda s: s.replace('when: worker == "flexible"\n', 'when: worker == 3\n', 1),
    "ends early": lambda s: s.replace('when: worker == "flexible"\n', 'when: worker ==\n', 1),
    "upper case": lambda s: s.replace('when: worker == "flexible"\n', 'when: Worker == "flexible"\n', 1),
    "not a condition": lambda s: s.replace('when: worker == "flexible"\n', 'when: worker\n', 1),
    "unknown function": lambda s: s.replace('when: worker == "flexible"\n', 'when: montth(paid_on) == 2022-04\n', 1),
    "enum value": lambda s: s.replace('when: worker == "flexible"\n', 'when: worker == "flexibel"\n', 1),
}


@pytest.mark.parametrize("mistake", sorted(BROKEN_POLICIES))
def test_no_english_in_policy_file_errors(run, tmp_path, mistake):
    folder = _policy_copy(tmp_path)
    f = folder / "jn-2022-2.yaml"
    text = f.read_text(encoding="utf-8")
    broken = BROKEN_POLICIES[mistake](text)
    assert broken != text
    f.write_text(broken, encoding="utf-8")
    result = run("check", folder)
    assert result.code == 1 and "jn-2022-2.yaml" in result.out, result.out
    found = english(result.out + "\n" + result.err)
    assert not found, f"English or ids reach the user: {found}\n{result.out[-2000:]}"


# case files, tables and test files as people get them wrong: each message (and hint) in Chinese
BROKEN_INPUTS = {
    "case.yaml": "kind: arrears\nregion: 济南\nworker: flexible\n",  # a fact missing
    "date.json": '{"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022/2/30"}',
    "month.json": '{"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-13", "paid_on": "2022-10-20"}',
    "value.json": '{"kind": "arrears", "region": "济南", "worker": "flexibel", "last_paid_month": "2022-06", "paid_on": "2022-10-20"}',
    "kind.json": '{"kind": "arears", "region": "济南"}',
    "key.json": '{"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-06", "paied_on": "2022-10-20"}',
    "type.json": '{"kind": "resident_enrollment", "region": "济南", "benefit_year": "x", "paid_on": "2022-10-20"}',
    "shape.json": '"a case"',
    "broken.json": '[{"kind": "arrears"}, ',
    "trailing.json": '{"kind": "arrears",}',
    "facts.json": '{"kind": "arrears", "region": "济南", "worker": "flexible", "last_paid_month": "2022-12", "paid_on": "2022-11-03"}',
    "region.json": '{"kind": "arrears", "region": "市中区", "worker": "flexible", "last_paid_month": "2022-06", "paid_on": "2022-10-20"}',
    "lines.jsonl": '{"kind": "arrears"}\nnot json\n{"kind": "x", "region": "济南"}\n',
    "table.csv": "kind,paid_on\narrears,2022-10-20\n",
}


@pytest.mark.parametrize("name", sorted(BROKEN_INPUTS))
def test_no_english_in_case_file_errors(run, tmp_path, name):
    f = tmp_path / name
    f.write_text(BROKEN_INPUTS[name], encoding="utf-8")
    argv = ["eval", f] + (["--out", tmp_path / "answers.csv"] if name.endswith(".csv") else [])
    result = run(*argv)
    assert result.code == 2, (result.out, result.err)
    assert " E-" in result.out + result.err
    found = english(result.out + "\n" + result.err)
    assert not found, f"English or ids reach the user: {found}\n{result.out[-2000:]}{result.err[-2000:]}"


def test_case_file_errors_in_english_with_lang_en(run, tmp_path):
    f = tmp_path / "date.json"
    f.write_text(BROKEN_INPUTS["date.json"], encoding="utf-8")
    result = run("eval", f, "--lang", "en")
    assert "`paid_on`: `2022/2/30` is an impossible date" in result.err
    assert "hint: a date that exists, written 2022-10-20" in result.err
    zh = run("eval", f)
    assert "`paid_on`：`2022/2/30` 这一天不存在" in zh.err and "提示：存在的日期" in zh.err


MORE_ERRORS = [
    ["eval", str(REPO / "examples" / "arrears-jinan.yaml"), "--out", "answers.foo"],
    ["eval", str(REPO / "examples" / "arrears-jinan.yaml"), "--jobs", "0", "--out", "answers.jsonl"],
    ["eval", str(REPO / "examples" / "arrears-jinan.yaml"), "--format", "parquet"],
    ["diff", "no-such-revision"],
    ["check", "--rev", "no-such-revision"],
    ["regions", "市中区", "--date", "2022-04-01"],
    ["applies", "--date", "2022-04-01", "--region", "莱芜市"],
    ["applies", "--date", "2018-04-01", "--region", "莱芜区"],
    ["test", "/nonexistent/tests"],
]


@pytest.mark.parametrize("argv", MORE_ERRORS, ids=lambda a: " ".join(a[:3]))
def test_no_english_in_more_error_paths(run, argv, tmp_path, monkeypatch):
    result = run(*argv)
    assert result.code != 70 and "Traceback" not in result.err, (result.out, result.err)
    found = english(result.out + "\n" + result.err)
    assert not found, f"English or ids reach the user: {found}\n{result.out[-2000:]}{result.err[-2000:]}"


def test_a_failing_policy_test_says_what_differs_in_chinese(run, tmp_path):
    f = tmp_path / "wrong.yaml"
    f.write_text("""tests:
  - name: 故意写错
    case: {kind: arrears, region: 济南, worker: flexible, last_paid_month: "2022-06", paid_on: "2022-10-20"}
    expect: {benefit_start: "2022-12-01", governing: ["鲁医保发〔2021〕54号 一(二)"]}
""", encoding="utf-8")
    result = run("test", f)
    assert result.code == 1
    assert "benefit_start：应为 '2022-12-01'，实为 '2022-11-01'" in result.out
    found = english(result.out + "\n" + result.err)
    assert not found, f"English or ids reach the user: {found}\n{result.out[-2000:]}"


def test_the_trace_and_notes_of_an_answer_come_from_the_catalog(run):
    zh = run("eval", REPO / "examples" / "arrears-jinan.yaml", "--explain", "--format", "json").json
    en = run("eval", REPO / "examples" / "arrears-jinan.yaml", "--explain", "--format", "json", "--lang", "en").json
    assert zh["trace"][0].startswith("地区链：") and en["trace"][0].startswith("region chain: ")
    ask = ("applies", "--date", "2022-04-01", "--region", "济南", "--topic", "arrears", "--format", "json")
    zh = run(*ask).json["topics"]["arrears"]["in_force"][0]["displaces"][0]
    en = run(*ask, "--lang", "en").json["topics"]["arrears"]["in_force"][0]["displaces"][0]
    assert zh["reason"] == en["reason"] == "specificity"
    assert zh["explanation"] == "下级（更具体的辖区）规定优先" and en["explanation"] == "the more specific jurisdiction governs"


def _chinese_only_words() -> set:
    """Runs of three or more Chinese characters that the Chinese catalog has and the English one
    never uses (so, under --lang en, a sign of a message left in Chinese)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("compile_messages", REPO / "scripts" / "compile_messages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    zh, en = (module.texts(module.read(module.po_path(lang))) for lang in ("zh", "en"))
    english_text = " ".join(v if isinstance(v, str) else " ".join(v) for v in en.values())
    # words the data also uses (the policy files' quoted texts, the kinds table's labels, the names
    # a table's header may give a column) are shown in both languages, so they prove nothing
    from policy_dsl.tools.tables import KEY_NAMES

    data = [f.read_text(encoding="utf-8") for f in sorted((REPO / "policies").glob("*.yaml"))]
    data += [(REPO / "policy_dsl" / "data" / "kinds.yaml").read_text(encoding="utf-8"), str(KEY_NAMES)]
    english_text += " ".join(data)
    found = set()
    for text in zh.values():
        for one in text if isinstance(text, tuple) else (text,):
            one = re.sub(r"\{[^}]*\}|`[^`]*`", " ", one)
            found |= {run for run in re.findall(r"[\u4e00-\u9fff]{3,}", one) if run not in english_text}
    return found


CHINESE_ONLY = _chinese_only_words()


@pytest.mark.parametrize("argv", [a for a in HELP + ERRORS + MORE_ERRORS + ANSWERS if "--lang" not in a],
                         ids=lambda a: " ".join(a) or "(none)")
def test_english_everywhere_with_lang_en(run, argv):
    result = run(*argv, "--lang", "en") if argv else run("--lang", "en")
    text = result.out + "\n" + result.err
    left = sorted(w for w in CHINESE_ONLY if w in text)
    assert not left, f"Chinese words of the catalog under --lang en: {left[:10]}\n{text[-2000:]}"
    assert "提示：" not in text


@pytest.mark.parametrize("name", sorted(BROKEN_INPUTS))
def test_case_file_errors_in_english(run, tmp_path, name):
    f = tmp_path / name
    f.write_text(BROKEN_INPUTS[name], encoding="utf-8")
    result = run("eval", f, "--lang", "en", *(["--out", tmp_path / "answers.csv"] if name.endswith(".csv") else []))
    text = result.out + "\n" + result.err
    left = sorted(w for w in CHINESE_ONLY if w in text)
    assert result.code == 2 and not left, f"Chinese words of the catalog under --lang en: {left[:10]}\n{text[-2000:]}"
