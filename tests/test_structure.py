"""The package's structure, read from its source (AST, never by importing it):

- no import cycles, counting every import wherever it is written (a function-local import is an
  import too) and the packages an import runs;
- the layers of docs/architecture.md: each part imports only the parts below it;
- no handler catches every exception (``except Exception``, ``except BaseException``, a bare
  ``except``) unless it re-raises, outside the front ends' top-level handlers of a bug of ours
  (the CLI's ``main``, the service's) and the SIGTERM handler's cleanup."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "policy_dsl"

# part -> the parts it may import (docs/architecture.md)
LAYERS = {
    "language": {"language"},
    "engine": {"engine", "language"},
    "fast": {"fast", "engine", "language"},
    "analysis": {"analysis", "engine", "language"},
    "tools": {"tools", "analysis", "engine", "language"},
    "face": {"face", "tools", "analysis", "engine", "fast", "language"},
}
# the handlers of a bug of ours at a front end's top (file, function), and the SIGTERM handler that
# cleans up whatever happens before the process ends
TOP_LEVEL_HANDLERS = {("face/cli.py", "main"), ("face/service.py", "_reload"), ("face/service.py", "_answer"),
                      ("language/safeio.py", "_terminated")}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path, modules: dict) -> set[str]:
    """The package modules ``name`` imports, with the packages each import runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        for target in targets:
            while target and target not in modules:  # `import policy_dsl.x.y` names a module or a package
                target = target.rpartition(".")[0]
            while target.startswith("policy_dsl"):
                found.add(target)
                target = target.rpartition(".")[0]
    found.discard(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        n = stack.pop()
                        on.discard(n)
                        comp.append(n)
                        if n == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else None


def test_each_part_imports_only_the_parts_below_it():
    wrong = []
    for name, deps in _graph().items():
        part = _part(name)
        if part not in LAYERS:
            continue
        for dep in deps:
            other = _part(dep)
            if other is not None and other not in LAYERS[part]:
                wrong.append(f"{name} imports {dep}")
    assert wrong == []


def _catches_everything(handler: ast.ExceptHandler) -> bool:
    names = []
    if handler.type is None:
        return True
    for t in (handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]):
        if isinstance(t, ast.Name):
            names.append(t.id)
    return bool({"Exception", "BaseException"} & set(names))


def _reraises(handler: ast.ExceptHandler) -> bool:
    return bool(handler.body) and isinstance(handler.body[-1], ast.Raise) and handler.body[-1].exc is None


def test_no_handler_catches_every_exception():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        stack = [(tree, "<module>")]
        while stack:  # each handler with the function it is written in
            node, fn = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                fn = node.name
            if isinstance(node, ast.ExceptHandler) and _catches_everything(node) and not _reraises(node):
                if (rel, fn) not in TOP_LEVEL_HANDLERS:
                    found.append(f"{rel}:{node.lineno} in {fn}")
            stack.extend((child, fn) for child in ast.iter_child_nodes(node))
    assert sorted(found) == []
