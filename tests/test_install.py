"""An installed copy finds its grammar, schemas and shipped policies (package data loaded
through importlib.resources), away from the source tree."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    try:
        import hatchling  # noqa: F401
    except ImportError:
        pytest.fail("hatchling is needed to build the wheel (pip install '.[test]')")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                    "-w", str(out), "-q"], check=True, capture_output=True)
    return next(out.glob("policy_dsl-*.whl"))


def test_wheel_carries_package_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("policy_dsl/_shipped/grammar/expr.lark", "policy_dsl/_shipped/policies/jn-2022-2.yaml",
                   "policy_dsl/_shipped/policies/sources/000_f0abc4aefafc31ea.txt",
                   "policy_dsl/schemas/policy.schema.json", "policy_dsl/data/regions.tsv", "policy_dsl/data/kinds.yaml",
                   "policy_dsl/face/web/index.html", "policy_dsl/face/web/app.js", "policy_dsl/face/web/style.css"):
        assert needed in names, needed


def test_installed_copy_answers_away_from_the_source_tree(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / "elsewhere"
    work.mkdir()
    code = ("import json, sys; from policy_dsl.language import resources; from policy_dsl.face.cli import main;"
            "print(resources.grammar_path()); sys.exit(main(['applies', '--date', '2022-04-01', '--region', '济南',"
            "'--topic', 'arrears', '--format', 'json']))")
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    import os

    for key in ("HOME", "SYSTEMROOT", "LANG"):
        if key in os.environ:
            env[key] = os.environ[key]
    # the dependencies come from this interpreter's site-packages, the package from the wheel only
    deps = [p for p in sys.path if "site-packages" in p]
    env["PYTHONPATH"] = os.pathsep.join([str(site), *deps])
    run = subprocess.run([sys.executable, "-I", "-c", code.replace("import json, sys;",
                          f"import sys; sys.path[:0] = {[str(site), *deps]!r}; import json;")],
                         cwd=work, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    first, rest = run.stdout.split("\n", 1)
    assert str(site) in first and "_shipped" in first
    data = json.loads(rest)
    assert data["topics"]["arrears"]["in_force"][0]["document"] == "济医保发〔2022〕2号"


def test_python_dash_m_runs_the_cli():
    run = subprocess.run([sys.executable, "-m", "policy_dsl", "applies", "--date", "2021-11-15", "--region", "全国",
                          "--topic", "deadline", "--format", "json"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    pending = json.loads(run.stdout)["topics"]["deadline"]["pending"]
    assert pending[0]["document"] == "医保办发〔2021〕43号"


def test_unexpected_usage_exits_2_without_traceback():
    run = subprocess.run([sys.executable, "-m", "policy_dsl", "applies", "--region", "济南"], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and "--date" in run.stderr
