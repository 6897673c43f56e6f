"""The message catalog (policy_dsl/locale, docs/i18n.md): every message in both languages, the
compiled .mo files those of the .po files, every id the code uses in the catalog and every id of
the catalog used; messages rendered in the language of the context they are shown in."""

from __future__ import annotations

import asyncio
import json
import importlib.util
import pickle
import threading
from pathlib import Path

import pytest

from policy_dsl.language import messages
from policy_dsl.language.errors import Diagnostic, Where
from policy_dsl.language.messages import Message, localized, t, using

REPO = Path(__file__).resolve().parent.parent
KEYWORDS = {"t": None, "N_": None, "both": None, "say": (2,)}  # the calls that name a message id (language/messages.py)


def _script():
    spec = importlib.util.spec_from_file_location("compile_messages", REPO / "scripts" / "compile_messages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    return _script()


def used_ids() -> dict:
    """Every message id the package's code names, with where (Babel's extractor)."""
    from babel.messages.extract import extract_from_dir

    found = {}
    for filename, lineno, msgid, _, _ in extract_from_dir(str(REPO / "policy_dsl"), [("**.py", "python")],
                                                          keywords=KEYWORDS):
        found.setdefault(msgid if isinstance(msgid, str) else msgid[0], f"{filename}:{lineno}")
    return found


def test_every_message_has_both_languages(script):
    assert script.problems() == []


def test_compiled_catalogs_are_up_to_date(script):
    assert script.stale() == [], "run python scripts/compile_messages.py"


def test_every_id_in_the_code_is_in_the_catalog_and_back(script):
    catalog = {k for k in script.texts(script.read(script.po_path("zh"))) if "|" not in k}  # argparse's are its own
    used = used_ids()
    missing = {i: w for i, w in used.items() if i not in catalog}
    assert not missing, f"ids the code uses but the catalog lacks: {missing}"
    unused = sorted(catalog - set(used))
    assert not unused, f"catalog ids no code uses: {unused}"


def test_a_message_is_a_str_in_the_current_language_and_renders_in_another():
    with using("en"):
        m = t("topic.unknown", topic="x")
    assert isinstance(m, str) and m == "unknown topic `x`"
    assert m.in_language("zh") == "未知的事项 `x`" and localized(m, "zh") == "未知的事项 `x`"
    assert localized("text from a policy file", "en") == "text from a policy file"


def test_nested_messages_render_in_the_language_asked():
    with using("zh"):
        m = t("diagnostic.hint", hint=t("hint.did_you_mean", word="from"))
    assert m == "提示：是不是 `from`？"
    assert m.in_language("en") == "hint: did you mean `from`?"


def test_plural_forms():
    with using("en"):
        assert t("check.errors", n=1) == "1 error" and t("check.errors", n=2) == "2 errors"
    with using("zh"):
        assert t("check.errors", n=1) == "1 个错误" and t("check.errors", n=2) == "2 个错误"


def test_a_diagnostic_is_shown_in_the_language_of_the_moment_it_is_shown():
    with using("zh"):
        d = Diagnostic("E-FILE", t("file.problem", path="p", what=t("safeio.folder")), Where("a.yaml", 1, 2),
                       t("safeio.name_a_file"))
    with using("en"):
        assert d.format() == "a.yaml:1:2: E-FILE `p`: is a folder, not a file\n    hint: name a file"
        assert d.to_json()["message"] == "`p`: is a folder, not a file"
    assert d.format("zh") == "a.yaml:1:2: E-FILE `p`：是文件夹，不是文件\n    提示：给出一个文件"


def test_a_pickled_message_is_rendered_when_read():
    with using("en"):
        data = pickle.dumps(t("topic.unknown", topic="x"))
    with using("zh"):
        back = pickle.loads(data)
    assert back == "未知的事项 `x`" and back.id == "topic.unknown" and back.args == {"topic": "x"}


def test_the_language_belongs_to_the_thread_or_task():
    out = {}

    def speak(lang):
        with using(lang):
            barrier.wait()
            out[lang] = str(t("render.answer"))

    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=speak, args=(lang,)) for lang in ("zh", "en")]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert out == {"zh": "结论", "en": "Answer"}

    async def task(lang, started, other):
        with using(lang):
            started.set()
            await other.wait()  # the other task has set its language meanwhile
            return str(t("render.answer"))

    async def both():
        a, b = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(task("zh", a, b), task("en", b, a))

    assert asyncio.run(both()) == ["结论", "Answer"]
    assert messages.current() == "zh"


def test_catalogs_are_read_only_when_a_message_is_made(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from policy_dsl.face.cli import main; from policy_dsl.language import messages; "
            "code = main(sys.argv[1:]); sys.stdout.flush(); print(sorted(messages._catalogs), file=sys.stderr)")
    import os

    env = {**os.environ, "POLICY_DSL_CACHE_DIR": str(tmp_path / "cache")}
    # answers as JSON Lines carry no words (no trace unless --explain: the trace is in words, from the catalog)
    import yaml

    lines = tmp_path / "cases.jsonl"
    case = yaml.safe_load((REPO / "examples" / "arrears-jinan.yaml").read_text(encoding="utf-8"))
    lines.write_text(json.dumps(case, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    for _ in ("an empty policy cache: the files are read and checked", "the cache filled"):
        run = subprocess.run([sys.executable, "-c", code, "eval", str(lines), "--format", "json"],
                             capture_output=True, text=True, timeout=60, env=env)
        assert run.returncode == 0 and run.stderr.strip().splitlines()[-1] == "[]", run.stderr
        assert '"status": "decided"' in run.stdout


def test_a_catalog_read_from_the_cache_is_the_one_gettext_reads(tmp_path, monkeypatch):
    """The catalog kept in the user's cache (language/catalogs.py, what the command line reads)
    gives every message, context and plural form as gettext's own reading of the .mo file; a
    corrupt or foreign entry is a miss."""
    import gettext

    from policy_dsl.language import cache, catalogs

    monkeypatch.setenv("POLICY_DSL_CACHE_DIR", str(tmp_path / "cache"))
    for lang, folder in messages._LOCALE.items():
        path = REPO / "policy_dsl" / "locale" / folder / "LC_MESSAGES" / "policy_dsl.mo"
        with path.open("rb") as fh:
            plain = gettext.GNUTranslations(fh)
        entry = cache.key("catalog", path.read_bytes())
        assert cache.load("catalog", entry, tuple) is None
        with path.open("rb") as fh:
            parsed = catalogs.KeptTranslations(fh)  # parsed by gettext, and kept
        assert cache.load("catalog", entry, tuple) is not None
        with path.open("rb") as fh:
            kept = catalogs.KeptTranslations(fh)  # from the cache
        for found in (parsed, kept):
            assert found._catalog == plain._catalog and found.info() == plain.info() and found.charset() == plain.charset()
            assert [found.plural(n) for n in range(30)] == [plain.plural(n) for n in range(30)]
            assert [found.ngettext(k, k, 2) for k in plain._catalog if isinstance(k, str)] == \
                [plain.ngettext(k, k, 2) for k in plain._catalog if isinstance(k, str)]
        for wrong in (("not", "a", "catalog"), ({}, {}), ({"x": 1}, [], None)):
            cache.store("catalog", entry, wrong)
            with path.open("rb") as fh:
                assert catalogs.KeptTranslations(fh)._catalog == plain._catalog  # parsed again, and kept again
            assert cache.load("catalog", entry, tuple)[0] == plain._catalog


def test_the_command_line_reads_the_catalogs_kept(tmp_path):
    """A command's words are the same whether its catalog is parsed or read from the cache."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "POLICY_DSL_CACHE_DIR": str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-m", "policy_dsl", "applies", "--date", "2022-04-01", "--region", "济南",
                            "--topic", "duplicate_enrollment", "--lang", lang], capture_output=True, text=True,
                           timeout=60, env=env, cwd=tmp_path) for lang in ("zh", "en", "zh", "en")]
    assert all(r.returncode == 0 for r in runs), runs
    assert [r.stdout for r in runs[:2]] == [r.stdout for r in runs[2:]]
    assert any(name.startswith("catalog-") for name in os.listdir(tmp_path / "cache"))


def test_every_library_template_is_in_the_catalog(script):
    from policy_dsl.language import yamlsafe

    catalog = set(script.texts(script.read(script.po_path("zh"))))
    missing = [w for w in yamlsafe._PYYAML if f"yaml|{w}" not in catalog]
    assert missing == []


def test_library_words_keep_the_values_filled_in():
    from policy_dsl.language.messages import library_words

    with using("zh"):
        assert library_words("yaml", ["found undefined alias %r"], "found undefined alias 'x'") == "别名 'x' 没有定义"
        assert library_words("yaml", ["found undefined alias %r"], "something else") == "something else"
