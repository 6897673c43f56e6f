"""A policy officer's day, as they live it: the package installed (a wheel, away from the source
tree), a git checkout of their policy repository, an edit to a policy file, then `test`, `check`,
`diff HEAD` and `fmt` in that checkout. Every command must read the checkout, never the copy
installed with the package; `fmt` must refuse to rewrite the installed copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> list[str]:
    """sys.path for a copy of policy_dsl installed from its wheel (its dependencies from here)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                    "-w", str(out), "-q"], check=True, capture_output=True)
    site = tmp_path_factory.mktemp("site")
    zipfile.ZipFile(next(out.glob("policy_dsl-*.whl"))).extractall(site)
    return [str(site), *(p for p in sys.path if "site-packages" in p)]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "officer", "GIT_AUTHOR_EMAIL": "o@example.org",
                        "GIT_COMMITTER_NAME": "officer", "GIT_COMMITTER_EMAIL": "o@example.org"})


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A git repository holding a copy of the shipped policies, committed."""
    repo = tmp_path / "policy-repo"
    shutil.copytree(REPO / "policies", repo / "policies")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "policies as shipped")
    return repo


def run(installed: list[str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    code = f"import sys; sys.path[:0] = {installed!r}; from policy_dsl.face.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {k: v for k, v in os.environ.items() if k in ("HOME", "PATH", "LANG", "SYSTEMROOT")}
    env.update({"NO_COLOR": "1", "COLUMNS": "120", "POLICY_DSL_NO_CACHE": "1"})
    return subprocess.run([sys.executable, "-I", "-c", code, *args], cwd=cwd, capture_output=True, text=True, env=env)


def _edit_waiting_period(policies: Path) -> Path:
    """济医保发〔2022〕2号 一: the long-gap waiting period 3 → 5 months, as an officer would type it."""
    path = policies / "jn-2022-2.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("- id: arrears-flexible-long-gap")
    at = text.index("waiting_months: 3", start)
    path.write_text(text[:at] + "waiting_months: 5" + text[at + len("waiting_months: 3"):], encoding="utf-8")
    return path


def test_the_checkout_is_the_policy_set(installed, checkout):
    sub = checkout / "policies" / "tests"  # anywhere inside the repository
    before = run(installed, sub, "test")
    assert before.returncode == 0, before.stdout + before.stderr
    edited = _edit_waiting_period(checkout / "policies")

    after = run(installed, sub, "test", "--format", "json")
    assert after.returncode == 1
    report = json.loads(after.stdout)
    assert report["failed"] >= 1 and report["policy_set"]["kind"] == "repository"
    assert any("arrears" in f["where"] for f in report["failures"])

    checked = run(installed, checkout, "check", "--format", "json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    files = json.loads(checked.stdout)["files"]
    assert str(edited) in [str(Path(f).resolve()) if not os.path.isabs(f) else f for f in files] or \
        any(f.endswith("policies/jn-2022-2.yaml") and "site-packages" not in f and "_shipped" not in f for f in files)

    answer = run(installed, checkout, "eval", str(REPO / "examples" / "arrears-jinan.yaml"), "--format", "json")
    data = json.loads(answer.stdout)
    assert data["waiting_months"] == 5 and data["benefit_start"] == "2023-04-01"

    diff = run(installed, checkout, "diff", "HEAD", "--format", "json", "--exit-code")
    assert diff.returncode == 1, diff.stderr
    changes = json.loads(diff.stdout)
    assert [c["clause"] for c in changes["structural"]] == ["jn-2022-2/arrears-flexible-long-gap"]
    assert changes["behavioural"]["changed"] > 0
    assert changes["new"]["kind"] == "repository"


def test_outside_any_repository_the_installed_copy_answers(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / ".git").mkdir()  # a git work tree with no policies: discovery stops here
    got = run(installed, elsewhere, "applies", "--date", "2022-04-01", "--region", "济南", "--topic", "arrears",
              "--format", "json")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["policy_set"]["kind"] == "installed"
    table = run(installed, elsewhere, "applies", "--date", "2022-04-01", "--region", "济南", "--topic", "arrears")
    assert "随软件安装的政策文件" in table.stdout


def test_fmt_refuses_to_rewrite_the_installed_package(installed, tmp_path):
    shipped = Path(installed[0]) / "policy_dsl" / "_shipped" / "policies"
    got = run(installed, tmp_path, "fmt", str(shipped))
    assert got.returncode == 2 and "E-FMT-INSTALLED" in got.stderr
    checked = run(installed, tmp_path, "fmt", "--check", str(shipped))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_policy_dsl_toml_names_the_folders(installed, checkout):
    (checkout / "policies").rename(checkout / "rules")
    (checkout / "policy-dsl.toml").write_text('[policies]\nfolders = ["rules"]\n', encoding="utf-8")
    got = run(installed, checkout / "rules", "test", "--format", "json")
    assert got.returncode == 0, got.stdout + got.stderr
    assert json.loads(got.stdout)["policy_set"]["source"].endswith("rules")
    (checkout / "policy-dsl.toml").write_text('[policies]\nfolder = ["rules"]\n', encoding="utf-8")
    bad = run(installed, checkout, "test")
    assert bad.returncode == 2 and "E-CONFIG" in bad.stderr and "folders" in bad.stderr


def test_git_runs_the_driver_where_docs_git_md_says(checkout):
    """`git log -p --ext-diff` and `git show --ext-diff` call the driver; plain `git log -p` does not."""
    shutil.copy(REPO / ".gitattributes", checkout / ".gitattributes")
    _git(checkout, "add", "-A")
    _git(checkout, "commit", "-qm", "attributes")
    _git(checkout, "config", "diff.policy-dsl.command", f"{sys.executable} -m policy_dsl git-diff")
    _edit_waiting_period(checkout / "policies")
    _git(checkout, "commit", "-qam", "济南: long-gap waiting period 3 → 5 months")

    def git_out(*args):
        return subprocess.run(["git", *args], cwd=checkout, capture_output=True, text=True,
                              env={**os.environ, "NO_COLOR": "1"}).stdout

    assert "decide.waiting_months: 3 → 5" in git_out("log", "-p", "--ext-diff", "-1")
    assert "decide.waiting_months: 3 → 5" in git_out("show", "--ext-diff")
    assert "decide.waiting_months: 3 → 5" in git_out("diff", "HEAD~1")
    assert "policy-dsl diff" not in git_out("log", "-p", "-1")
