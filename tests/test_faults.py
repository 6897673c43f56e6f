"""Faults of the environment, injected: a file-size limit (``resource.setrlimit(RLIMIT_FSIZE)`` in
the child), a full disk (a small tmpfs, where this machine lets a test mount one), kills and
SIGTERM in the middle of a write, named pipes, loops of symbolic links, unreadable and read-only
files (as root, the child drops the capabilities that let root ignore permissions), YAML 1.1
numbers, recursive aliases, corrupted cache entries, broken pipes. Each asserts what
docs/errors.md ("Faults and their codes") promises: the original file intact, a coded error with
its position, never exit 70. Commands that could hang or must die run in a child process with a
timeout; the rest in-process (quicker)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GOOD_CASE = {"kind": "arrears", "region": "370100", "worker": "flexible", "last_paid_month": "2022-06",
             "paid_on": "2022-10-20"}
CHILD_TIMEOUT = 60  # seconds: a child that takes this long is hanging (they take about one)


# -- helpers ---------------------------------------------------------------------------------------
def _child(args, cwd=None, env=None, preexec=None, prefix=(), stdin=None, timeout=CHILD_TIMEOUT, code=None):
    """Run ``python -m policy_dsl ARGS`` (or ``python -c CODE``) in a child; its CompletedProcess."""
    # The interpreter's own .pyc writes are not what these tests inject faults into: under a file-size
    # limit CPython renames a short .pyc into place, and every later import of that module fails.
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    command = [*prefix, sys.executable] + (["-c", code] if code else ["-m", "policy_dsl"]) + [str(a) for a in args]
    return subprocess.run(command, cwd=cwd, env=full_env, preexec_fn=preexec, input=stdin, capture_output=True,
                          timeout=timeout)


def _file_size_limit(n: int):
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))
    return limit


def _assert_coded(run, code: str, exit_code: int) -> str:
    if isinstance(run, subprocess.CompletedProcess):
        out, err, rc = run.stdout.decode("utf-8", "replace"), run.stderr.decode("utf-8", "replace"), run.returncode
    else:  # the in-process runner of conftest.py
        out, err, rc = run.out, run.err, run.code
    assert rc == exit_code, (rc, out[-1500:], err[-1500:])
    assert code in out + err, (code, out[-1500:], err[-1500:])
    assert "internal error" not in err and "内部错误" not in err and "Traceback" not in err, err[-3000:]
    return out + err


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture
def loose_policies(policies_copy) -> Path:
    """A copy of the shipped policies whose jn-2022-2.yaml fmt would change (extra blank lines)."""
    f = policies_copy / "jn-2022-2.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("\n  - id:", "\n\n\n  - id:"), encoding="utf-8")
    return policies_copy


def _without_file_permissions_override():
    """A command prefix under which root obeys file permissions (no CAP_DAC_OVERRIDE), or () when
    not root; skips the test where that cannot be done."""
    if os.geteuid() != 0:
        return ()
    if not shutil.which("setpriv"):
        pytest.skip("root, and no setpriv to drop CAP_DAC_OVERRIDE")
    return ("setpriv", "--bounding-set=-dac_override,-dac_read_search")


# -- atomic writes ---------------------------------------------------------------------------------
def test_fmt_under_a_file_size_limit_leaves_the_file_whole(loose_policies):
    f = loose_policies / "jn-2022-2.yaml"
    before = f.read_bytes()
    run = _child(["fmt", f], preexec=_file_size_limit(len(before) // 2))
    text = _assert_coded(run, "E-WRITE", 1)
    assert "文件大小限制" in text
    assert f.read_bytes() == before
    assert not _temps(loose_policies)
    run = _child(["fmt", f])  # and without the limit it is written, whole
    assert run.returncode == 0, run.stderr
    assert f.read_bytes() != before and _child(["check", loose_policies]).returncode == 0


def test_timeline_svg_and_report_under_a_file_size_limit(tmp_path):
    svg = tmp_path / "t.svg"
    svg.write_text("old", encoding="utf-8")
    run = _child(["timeline", "--region", "济南", "--svg", svg], preexec=_file_size_limit(2000))
    _assert_coded(run, "E-WRITE", 2)
    assert svg.read_text(encoding="utf-8") == "old" and not _temps(tmp_path)
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("old", encoding="utf-8")
    run = _child(["report", "--out", out], preexec=_file_size_limit(20_000))
    _assert_coded(run, "E-WRITE", 2)
    assert not _temps(out)
    for page in out.iterdir():  # each file is its old text or a whole new one
        text = page.read_text(encoding="utf-8")
        assert text == "old" or page.suffix == ".css" or text.endswith("</html>\n"), page


@pytest.mark.parametrize("moment", ["write", "fsync"])
def test_fmt_killed_mid_write_leaves_the_file_whole(loose_policies, moment):
    """SIGKILL in the middle of writing (after part of the bytes, or before the rename): the
    file is as it was, and the policy set still reads as it did (a temporary file left by a
    kill -9 is never taken for a policy file)."""
    f = loose_policies / "jn-2022-2.yaml"
    before = f.read_bytes()
    code = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        real = os.{moment}
        def dying(fd, *rest):
            if os.path.basename(os.readlink(f"/proc/self/fd/{{fd}}")).endswith(".tmp"):
                if {moment!r} == "write":
                    real(fd, bytes(rest[0])[: len(rest[0]) // 2])
                os.kill(os.getpid(), signal.SIGKILL)
            return real(fd, *rest)
        os.{moment} = dying
        from policy_dsl.tools.fmt import format_file
        format_file(Path(sys.argv[1]))
    """)
    run = _child([f], code=code)
    assert run.returncode == -signal.SIGKILL, run.stderr
    assert f.read_bytes() == before
    check = _child(["check", loose_policies, "--format", "json"])
    assert check.returncode == 0, check.stdout[-2000:]
    assert len(json.loads(check.stdout)["files"]) == 7


def test_fmt_terminated_mid_write_removes_its_temporary_file(loose_policies):
    f = loose_policies / "jn-2022-2.yaml"
    before = f.read_bytes()
    code = textwrap.dedent("""
        import os, signal, sys
        from pathlib import Path
        real = os.fsync
        def terminated(fd):
            os.kill(os.getpid(), signal.SIGTERM)
            return real(fd)
        os.fsync = terminated
        from policy_dsl.face.cli import main
        sys.exit(main(["fmt", sys.argv[1]]))
    """)
    run = _child([f], code=code)
    assert run.returncode == 128 + signal.SIGTERM, run.stderr
    assert f.read_bytes() == before and not _temps(loose_policies)


def test_fmt_on_a_full_disk_leaves_the_file_whole(loose_policies, tmp_path):
    if not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (no mount namespace)")
    disk = tmp_path / "disk"
    disk.mkdir()
    size = (loose_policies / "jn-2022-2.yaml").stat().st_size
    script = (f'mount -t tmpfs -o size=1m tmpfs "{disk}" && cp -r "{loose_policies}" "{disk}/p" && '
              f'(head -c $((1024 * 1024 - {size} - 60 * 1024)) /dev/zero > "{disk}/filler" || true) && '
              f'sha256sum "{disk}/p/jn-2022-2.yaml" && "{sys.executable}" -m policy_dsl fmt "{disk}/p/jn-2022-2.yaml"; '
              f'echo "rc=$?"; sha256sum "{disk}/p/jn-2022-2.yaml"; ls -a "{disk}/p"')
    run = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    if "mount:" in run.stderr:
        pytest.skip("cannot mount a tmpfs here: " + run.stderr.strip()[:200])
    lines = run.stdout.splitlines()
    assert "rc=1" in lines, (run.stdout, run.stderr)
    assert "E-WRITE" in run.stderr and "磁盘已满" in run.stderr, run.stderr
    hashes = [line.split()[0] for line in lines if "jn-2022-2.yaml" in line and len(line.split()[0]) == 64]
    assert len(hashes) == 2 and hashes[0] == hashes[1]
    assert not [line for line in lines if line.endswith(".tmp")]


def test_report_replaces_a_link_in_its_folder_and_never_follows_it(tmp_path, cli):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    out = tmp_path / "site"
    out.mkdir()
    (out / "style.css").symlink_to(victim)
    run = cli("report", "--out", out)
    assert run.code == 0, run.err
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not (out / "style.css").is_symlink() and "body" in (out / "style.css").read_text(encoding="utf-8")


@pytest.mark.parametrize("what", ["file", "link"])
def test_report_out_that_is_not_a_folder_is_refused(tmp_path, cli, what):
    target = tmp_path / "elsewhere"
    target.mkdir()
    out = tmp_path / "out"
    if what == "file":
        out.write_text("a file", encoding="utf-8")
    else:
        out.symlink_to(target)
    _assert_coded(cli("report", "--out", out), "E-WRITE", 2)
    assert not list(target.iterdir())
    if what == "file":
        assert out.read_text(encoding="utf-8") == "a file"


def test_fmt_and_report_without_permission(loose_policies, tmp_path):
    prefix = _without_file_permissions_override()
    f = loose_policies / "jn-2022-2.yaml"
    before = f.read_bytes()
    f.chmod(0o444)
    text = _assert_coded(_child(["fmt", f], prefix=prefix), "E-WRITE", 1)
    assert "只读" in text and f.read_bytes() == before
    f.chmod(0o000)
    text = _assert_coded(_child(["fmt", f], prefix=prefix), "E-FILE", 1)
    assert "没有权限" in text
    f.chmod(0o644)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    _assert_coded(_child(["report", "--out", locked / "site"], prefix=prefix), "E-WRITE", 2)
    _assert_coded(_child(["timeline", "--region", "济南", "--svg", locked / "t.svg"], prefix=prefix), "E-WRITE", 2)


# -- a policy set is exactly its files -------------------------------------------------------------
def _replace(folder: Path, name: str, how: str) -> None:
    target = folder / name
    target.unlink()
    if how == "dangling link":
        target.symlink_to(folder / "gone.yaml")
    elif how == "link loop":
        (folder / "loop.yaml.lnk").symlink_to(target)
        target.symlink_to(folder / "loop.yaml.lnk")
    elif how == "fifo":
        os.mkfifo(target)
    elif how == "folder":
        target.mkdir()


@pytest.mark.parametrize("how", ["dangling link", "link loop", "fifo", "folder"])
def test_a_policy_name_that_cannot_be_read_is_an_error_never_skipped(policies_copy, tmp_path, how):
    _replace(policies_copy, "jn-2022-2.yaml", how)
    case = tmp_path / "case.json"
    case.write_text(json.dumps(GOOD_CASE), encoding="utf-8")
    for args in (["check", policies_copy], ["eval", case, "--policies", policies_copy],
                 ["fmt", "--check", policies_copy]):
        text = _assert_coded(_child(args), "E-FILE", 1)
        assert "jn-2022-2.yaml" in text


def test_an_upper_case_suffix_is_read_as_a_policy_file(policies_copy, tmp_path, cli):
    (policies_copy / "jn-2022-2.yaml").rename(policies_copy / "jn-2022-2.YAML")
    run = cli("check", policies_copy, "--format", "json")
    assert run.code == 0, run.out[-2000:]
    assert any(f.endswith("jn-2022-2.YAML") for f in run.json["files"])
    case = tmp_path / "case.json"
    case.write_text(json.dumps(GOOD_CASE), encoding="utf-8")
    got = cli("eval", case, "--policies", policies_copy, "--format", "json").json
    want = cli("eval", case, "--format", "json").json
    assert got["governing"] == want["governing"] and got["governing"][0]["document"] == "济医保发〔2022〕2号"


def test_a_test_file_that_cannot_be_read_is_an_error(policies_copy, cli):
    (policies_copy / "tests" / "zz.yaml").symlink_to(policies_copy / "tests" / "gone.yaml")
    _assert_coded(cli("test", "--policies", policies_copy), "E-TEST-FILE", 2)


def test_fifo_and_devices_never_block_a_reader(tmp_path):
    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    jsonl = tmp_path / "c.jsonl"
    os.mkfifo(jsonl)
    _assert_coded(_child(["fmt", fifo], timeout=20), "E-FILE", 1)
    _assert_coded(_child(["fmt", "--check", "/dev/zero"], timeout=20), "E-FILE", 1)
    _assert_coded(_child(["check", fifo], timeout=20), "E-FILE", 1)
    _assert_coded(_child(["eval", jsonl], timeout=20), "E-CASE-FILE", 2)


def test_paths_that_are_loops_or_too_long(tmp_path, cli):
    loop = tmp_path / "loop"
    (tmp_path / "loop2").symlink_to(loop)
    loop.symlink_to(tmp_path / "loop2")
    long = "a" * 5000
    text = _assert_coded(cli("check", loop), "E-FILE", 1)
    assert "符号链接构成的循环" in text
    _assert_coded(cli("fmt", loop), "E-FILE", 2)
    _assert_coded(cli("check", long), "E-FILE", 1)
    _assert_coded(cli("fmt", long), "E-FILE", 2)
    _assert_coded(cli("diff", long, "--structural-only"), "E-POLICY-SOURCE", 2)
    _assert_coded(cli("diff", loop, "--structural-only"), "E-FILE", 1)
    _assert_coded(cli("applies", "--date", "2022-04-01", "--region", "济南", "--rev", long), "E-GIT-REV", 2)
    _assert_coded(cli("applies", "--date", "2022-04-01", "--region", "济南", "--rev", "--output=x"), "E-USAGE", 2)
    _assert_coded(cli("applies", "--date", "2022-04-01", "--region", "济南", "--rev", "a\0b"), "E-GIT-REV", 2)
    _assert_coded(cli("diff", "a\0b", "--structural-only"), "E-POLICY-SOURCE", 2)  # a NUL never reaches git


# -- what YAML says ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, meant", [("030", "写 30"), ("0x1E", "十进制数 30"), ("1:00", "就写 60")])
def test_yaml_1_1_numbers_in_a_case_file(tmp_path, cli, value, meant):
    case = tmp_path / "case.yaml"
    case.write_text("kind: retirement_min_years\nregion: 370100\nretire_on: 2022-06-01\n"
                    f"contribution_years: {value}\n".replace("370100", '"370100"'), encoding="utf-8")
    text = _assert_coded(cli("eval", case), "E-YAML-NUMBER", 2)
    assert f"case.yaml:4:21: E-YAML-NUMBER `contribution_years: {value}`" in text and meant in text


def test_yaml_1_1_numbers_in_a_policy_and_a_test_file(policies_copy, cli):
    f = policies_copy / "jn-2022-2.yaml"
    text = f.read_text(encoding="utf-8")
    line, old = next((i, ln) for i, ln in enumerate(text.splitlines(), 1) if "version: " in ln)
    number = old.split("version: ")[1].strip()  # the encoding's version, written 0N
    f.write_text(text.replace(old, old.replace(f"version: {number}", f"version: 0{number}"), 1), encoding="utf-8")
    out = _assert_coded(cli("check", policies_copy), "E-YAML-NUMBER", 1)
    assert f"jn-2022-2.yaml:{line}:" in out and f"document.encoding.version: 0{number}" in out
    f.write_text(text, encoding="utf-8")
    t = policies_copy / "tests" / "arrears.yaml"
    t.write_text(t.read_text(encoding="utf-8") + "  - name: hex\n    case: {kind: arrears, region: \"370100\", paid: 0x1E}\n",
                 encoding="utf-8")
    _assert_coded(cli("test", "--policies", policies_copy), "E-YAML-NUMBER", 2)


def test_recursive_aliases_everywhere(policies_copy, tmp_path, cli):
    case = tmp_path / "case.yaml"
    case.write_text("kind: arrears\nx: &a [*a]\n", encoding="utf-8")
    assert "case.yaml:2:8: E-YAML-ALIAS-CYCLE" in _assert_coded(cli("eval", case), "E-YAML-ALIAS-CYCLE", 2)
    f = policies_copy / "jn-2022-2.yaml"
    text = f.read_text(encoding="utf-8")
    f.write_text(text + "x: &b {y: [1, *b]}\n", encoding="utf-8")
    _assert_coded(cli("check", policies_copy), "E-YAML-ALIAS-CYCLE", 1)
    f.write_text(text, encoding="utf-8")
    t = policies_copy / "tests" / "zz.yaml"
    t.write_text("tests: &t [*t]\n", encoding="utf-8")
    _assert_coded(cli("test", "--policies", policies_copy), "E-YAML-ALIAS-CYCLE", 2)


def test_ids_are_matched_whole(policies_copy, cli):
    f = policies_copy / "jn-2022-2.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("  id: jn-2022-2\n", '  id: "jn-2022-2\\n"\n', 1),
                 encoding="utf-8")
    _assert_coded(cli("check", policies_copy), "E-SCHEMA-FORMAT", 1)


# -- the cache is a cache --------------------------------------------------------------------------
def test_corrupted_cache_entries_are_misses_and_replaced(tmp_path):
    cache = tmp_path / "cache"
    env = {"POLICY_DSL_CACHE_DIR": str(cache)}
    args = ["applies", "--date", "2022-04-01", "--region", "济南", "--format", "json"]
    first = _child(args, env=env)
    assert first.returncode == 0, first.stderr
    entries = sorted(cache.glob("*.pickle"))
    assert {p.name.split("-")[0] for p in entries} >= {"policy", "kinds"}
    big = tmp_path / "big"
    with open(big, "wb") as fh:
        fh.truncate(3 * 1024 ** 3)  # 3 GiB, sparse: never to be read
    import pickle

    from policy_dsl.language import cache as cache_module

    def wrong_object(path: Path) -> None:  # a valid hash, the wrong object
        data = path.read_bytes()
        head_end = data.index(b"\n", len(cache_module.FORMAT)) + 1
        payload = pickle.dumps(["not", "a", "policy set"])
        path.write_bytes(data[:head_end] + cache_module._hash(payload).hexdigest().encode() + b"\n" + payload)

    for damage in ("fifo", "link to a huge file", "garbage", "wrong object", "folder"):
        for p in entries:
            if p.is_dir():
                p.rmdir()
            elif p.exists() or p.is_symlink():
                if damage == "wrong object" and p.is_file() and not p.is_symlink():
                    wrong_object(p)
                    continue
                p.unlink()
            if damage == "fifo":
                os.mkfifo(p, 0o600)
            elif damage == "link to a huge file":
                p.symlink_to(big)
            elif damage == "garbage":
                p.write_bytes(b"\0" * 1000)
                p.chmod(0o600)
            elif damage == "folder":
                p.mkdir()
        run = _child(args, env=env, timeout=30)
        assert run.returncode == 0, (damage, run.stderr)
        assert json.loads(run.stdout) == json.loads(first.stdout), damage
        if damage != "folder":
            for p in entries:  # replaced by a good entry
                assert p.is_file() and not p.is_symlink() and p.stat().st_size < 10 * 1024 ** 2, (damage, p)
        if damage == "garbage":
            for p in entries:  # made good again for the next round
                assert p.read_bytes().startswith(cache_module.FORMAT)


def test_the_cache_folder_stays_bounded(tmp_path, monkeypatch):
    from policy_dsl.language import cache

    monkeypatch.setenv("POLICY_DSL_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("POLICY_DSL_NO_CACHE", raising=False)
    tmp_path.chmod(0o700)
    old = 1_000_000_000
    for i in range(cache.MAX_ENTRIES + 50):
        p = tmp_path / f"policy-{i:040d}.pickle"
        p.write_bytes(b"x")
        os.utime(p, (old + i, old + i) if i < 10 else None)
    (tmp_path / "unrelated.txt").write_text("not ours", encoding="utf-8")
    cache.store("kinds", "0" * 64, {"a": 1})
    names = {p.name for p in tmp_path.iterdir()}
    assert len([n for n in names if n.endswith(".pickle")]) == cache.MAX_ENTRIES
    assert not any(f"policy-{i:040d}.pickle" in names for i in range(10))  # unused for years: gone
    assert "unrelated.txt" in names and cache.load("kinds", "0" * 64) == {"a": 1}


def _repo_with_policies(tmp_path: Path, extra: dict[str, bytes] | None = None) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "policies", repo / "policies")
    for name, data in (extra or {}).items():
        (repo / "policies" / name).write_bytes(data)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "policies"], cwd=repo, check=True)
    return repo


def test_rev_blobs_are_bounded_and_rev_entries_reused(tmp_path):
    cache = tmp_path / "cache"
    env = {"POLICY_DSL_CACHE_DIR": str(cache)}
    repo = _repo_with_policies(tmp_path)
    args = ["applies", "--date", "2022-04-01", "--region", "济南", "--rev", "HEAD", "--format", "json"]
    assert _child(args, cwd=repo, env=env).returncode == 0
    entries = sorted(p.name for p in cache.iterdir())
    assert _child(args, cwd=repo, env=env).returncode == 0
    assert sorted(p.name for p in cache.iterdir()) == entries  # the second run reused the first's
    big = _repo_with_policies(tmp_path / "big", {"huge.yaml": b"# " + b"x" * (3 * 1024 * 1024)})
    run = _child(args, cwd=big, env=env)
    text = _assert_coded(run, "E-INPUT-SIZE", 2)
    assert "HEAD:policies/huge.yaml" in text


def test_rev_folders_are_removed_on_sigterm(tmp_path):
    repo = _repo_with_policies(tmp_path)
    temp = tmp_path / "tmp"
    temp.mkdir()
    code = textwrap.dedent("""
        import os, signal, sys
        from policy_dsl.language import sources
        real = sources._extract
        def extract(root, blobs, dest):
            real(root, blobs[:3], dest)
            os.kill(os.getpid(), signal.SIGTERM)
        sources._extract = extract
        from policy_dsl.face.cli import main
        sys.exit(main(["applies", "--date", "2022-04-01", "--region", "济南", "--rev", "HEAD"]))
    """)
    for env in ({"POLICY_DSL_CACHE_DIR": str(tmp_path / "cache")}, {"POLICY_DSL_NO_CACHE": "1"}):
        run = _child([], code=code, cwd=repo, env={**env, "TMPDIR": str(temp)})
        assert run.returncode == 128 + signal.SIGTERM, run.stderr
        assert not list(temp.iterdir())
        if (tmp_path / "cache").exists():
            assert not [p for p in (tmp_path / "cache").iterdir() if "rev" in p.name]


# -- the smaller items ---------------------------------------------------------------------------------
def test_control_characters_and_long_values_in_table_output(tmp_path, cli):
    case = tmp_path / "case.json"
    case.write_text(json.dumps({**GOOD_CASE, "id": "\x1b[2J\x07x" + "y" * 2_000_000}), encoding="utf-8")
    run = cli("eval", case)
    assert run.code == 0 and "\x1b" not in run.out + run.err and "\x07" not in run.out
    assert "\\x1b[2J\\x07xyyy" in run.out and len(run.out) < 20_000
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**GOOD_CASE, "id": "\x1b]0;pwned\x07", "paid_on": "x"}), encoding="utf-8")
    run = cli("eval", bad)
    assert run.code == 2 and "\x1b" not in run.err and "\\x1b]0;pwned" in run.err


@pytest.mark.parametrize("args", [["check", "--rev="], ["report", "--out", ""], ["fmt", ""], ["eval", ""],
                                  ["applies", "--date", "2022-04-01", "--region", "济南", "--policies", ""]])
def test_empty_arguments_are_usage_errors(cli, args):
    _assert_coded(cli(*args), "E-USAGE", 2)


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_a_broken_pipe_exits_141_in_every_format(tmp_path, fmt):
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps([{**GOOD_CASE, "id": i} for i in range(300)]), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "policy_dsl", "eval", str(cases), "--format", fmt],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=CHILD_TIMEOUT) == 141, err
    assert "Traceback" not in err and "Exception ignored" not in err


def test_no_temporary_file_is_left_by_a_write(tmp_path):
    from policy_dsl.language.errors import InputError
    from policy_dsl.language.safeio import atomic_write

    target = tmp_path / "a.txt"
    atomic_write(target, "one")
    target.chmod(0o640)
    atomic_write(target, "two")
    assert target.read_text(encoding="utf-8") == "two" and stat.S_IMODE(target.stat().st_mode) == 0o640
    (tmp_path / "dir").mkdir()
    with pytest.raises(InputError) as exc:
        atomic_write(tmp_path / "dir", "x")
    assert exc.value.first.code == "E-WRITE"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "dir"]


# -- case files: read as they go, in one shape -----------------------------------------------------
def test_a_jsonl_that_fails_part_way_is_a_coded_error(tmp_path):
    from policy_dsl.engine.cases import read_cases
    from policy_dsl.language.errors import InputError

    class Failing:  # a file whose reading fails after two lines (a disk, a network file system)
        def __init__(self):
            self.lines = [json.dumps(GOOD_CASE).encode() + b"\n"] * 2

        def readline(self, n=-1):
            if self.lines:
                return self.lines.pop()
            raise OSError(5, "Input/output error")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    _, raws = read_cases("batch.jsonl", body=Failing())
    assert next(raws).where.line == 1 and next(raws).where.line == 2
    with pytest.raises(InputError) as exc:
        next(raws)
    d = exc.value.first
    assert (d.code, str(d.where)) == ("E-CASE-FILE", "batch.jsonl:3") and "Input/output error" in d.message


def test_an_unreadable_jsonl_is_a_coded_error(tmp_path):
    prefix = _without_file_permissions_override()
    unreadable = tmp_path / "case.jsonl"
    unreadable.write_text(json.dumps(GOOD_CASE) + "\n", encoding="utf-8")
    unreadable.chmod(0o000)
    _assert_coded(_child(["eval", unreadable, "--format", "json"], prefix=prefix), "E-CASE-FILE", 2)
    (tmp_path / "folder.jsonl").mkdir()
    _assert_coded(_child(["eval", tmp_path / "folder.jsonl"]), "E-CASE-FILE", 2)


def test_json_list_positions_and_flat_memory(tmp_path, cli, policy):
    """Each case of a JSON list is placed at its own line and column; the answers are written as
    they come, so the memory of a run does not grow with the number of cases."""
    import tracemalloc

    bad = {**GOOD_CASE, "paid_on": "never"}
    path = tmp_path / "list.json"
    path.write_text("[\n" + ",\n".join(["  " + json.dumps(GOOD_CASE)] * 3 + ["   " + json.dumps(bad)]) + "\n]\n",
                    encoding="utf-8")
    got = cli("eval", path, "--format", "json").json
    assert got[3]["error"]["where"].endswith("list.json:5:4") and "error" not in got[2]
    from policy_dsl.face.api import CaseAnswers, eval_json

    class Sink:  # standard output thrown away (the test runner's capture would hold it all)
        def write(self, text):
            return len(text)

        def flush(self):
            pass

        buffer = None

    sink = Sink()
    sink.buffer = type("Bytes", (), {"write": lambda self, b: len(b), "flush": lambda self: None})()
    for explain in (False, True):
        peaks = []
        for n in (1000, 3000):  # more than the writer's buffers hold (a few hundred answers)
            path.write_text(json.dumps([{**GOOD_CASE, "id": i} for i in range(n)]), encoding="utf-8")
            answers = CaseAnswers(policy)
            eval_json(answers, [path], sink, explain)  # warm: plans and caches
            tracemalloc.start()
            assert not eval_json(CaseAnswers(policy, evaluator=answers.evaluator, validator=answers.validator), [path],
                                 sink, explain)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        assert peaks[1] - peaks[0] < 2 * 1024 * 1024, (explain, peaks)  # 2 000 more answers: ~2 MB, with their traces ~20 MB, if held


def test_stdin_in_any_form(tmp_path):
    cases = [{**GOOD_CASE, "id": i} for i in range(3)]
    lines = "".join(json.dumps(c) + "\n" for c in cases).encode()
    for body, check in (
        (lines, lambda out: [json.loads(x)["id"] for x in out.splitlines()] == [0, 1, 2]),
        (json.dumps(cases, indent=2).encode(), lambda out: [x["id"] for x in json.loads(out)] == [0, 1, 2]),
        (json.dumps(cases[0]).encode() + b"\n", lambda out: json.loads(out)["id"] == 0),
        (json.dumps(cases[0], indent=2).encode(), lambda out: json.loads(out)["id"] == 0),
        ("kind: arrears\nregion: \"370100\"\nworker: flexible\nlast_paid_month: 2022-06\npaid_on: 2022-10-20\n"
         "id: y\n".encode(), lambda out: json.loads(out)["id"] == "y"),
    ):
        run = _child(["eval", "-", "--format", "json"], stdin=body)
        assert run.returncode == 0, run.stderr
        assert check(run.stdout.decode()), run.stdout[:500]


def test_mixed_sources_one_shape_in_order(tmp_path, cli):
    one = tmp_path / "one.yaml"
    one.write_text("kind: arrears\nregion: \"370100\"\nworker: flexible\nlast_paid_month: 2022-06\n"
                   "paid_on: 2022-10-20\nid: first\n", encoding="utf-8")
    batch = tmp_path / "b.jsonl"
    batch.write_text("".join(json.dumps({**GOOD_CASE, "id": i}) + "\n" for i in range(2)), encoding="utf-8")
    listed = tmp_path / "l.json"
    listed.write_text(json.dumps([{**GOOD_CASE, "id": "x"}]), encoding="utf-8")
    run = cli("eval", one, batch, listed, "--format", "json")
    assert run.code == 0
    assert [json.loads(x)["id"] for x in run.out.splitlines()] == ["first", 0, 1, "x"]  # JSON Lines, in order
    run = cli("eval", one, listed, "--format", "json")
    assert [x["id"] for x in run.json] == ["first", "x"]  # no JSON Lines: one list
    run = cli("eval", one, tmp_path / "missing.json", listed, "--format", "json")
    assert run.code == 2 and [x.get("id", x.get("source")) for x in run.json] == ["first", str(tmp_path / "missing.json"), "x"]
    assert run.json[1]["error"]["code"] == "E-CASE-FILE"


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_eval_out_under_a_file_size_limit_leaves_the_file_whole(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps({**GOOD_CASE, "id": i}) + "\n" for i in range(2000)), encoding="utf-8")
    out = tmp_path / f"answers{suffix}"
    out.write_bytes(b"old answers")
    run = _child(["eval", cases, "--out", out], preexec=_file_size_limit(50_000 if suffix == ".jsonl" else 4_000))
    text = _assert_coded(run, "E-WRITE", 2)
    assert "文件大小限制" in text
    assert out.read_bytes() == b"old answers" and not _temps(tmp_path)


def test_impact_out_is_never_a_link(tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(GOOD_CASE) + "\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").symlink_to(elsewhere)
    _assert_coded(_child(["impact", REPO / "policies", REPO / "policies", "--cases", cases, "--out", tmp_path / "out"]),
                  "E-WRITE", 2)
    assert not list(elsewhere.iterdir())


@pytest.mark.parametrize("change, where, code", [
    (("      benefit_start: start(month(paid_on) + 1)\n", "      benefit_start: start(month_of(0, 1))\n"),
     (0, 22), "E-CHECK-PROBE"),
    (('    when: worker == "flexible" and gap_months <= 3\n', '    when: worker == "flexible" and [1, 2][0 - 1] <= 3\n'),
     (0, 11), "E-CHECK-PROBE"),
    (('  in_force:\n    from: "2022-03-08"\n', '  in_force:\n    from: "0001-01-01"\n'), (1, 11), "E-DATE"),
])
def test_an_expression_that_fails_on_a_probe_is_a_check_error(policies_copy, cli, change, where, code):
    f = policies_copy / "jn-2022-2.yaml"
    text = f.read_text(encoding="utf-8")
    assert change[0] in text
    f.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    out = _assert_coded(cli("check", policies_copy), code, 1)
    lines_below, column = where  # the place: lines below the changed text's first line, and the column
    line = text[:text.index(change[0])].count("\n") + 1 + lines_below
    assert f"jn-2022-2.yaml:{line}:{column}: {code}" in out
    if code == "E-CHECK-PROBE":
        assert "无法计算" in out and '"kind":' in out  # the probe that fails it
