"""A cache of what is slow to build and never changes for the same inputs: the checked policy set,
the region registry, the case vocabulary. Kept in the user's cache folder
(``$POLICY_DSL_CACHE_DIR``, else ``$XDG_CACHE_HOME/policy-dsl``, else ``~/.cache/policy-dsl``),
never inside the package; ``POLICY_DSL_NO_CACHE=1`` turns it off.

An entry's key is a hash of everything it was built from: the input files' names and bytes, the
grammar's text, and the package itself (its version, and the size and modification time of each
of its source and data files, so that a changed interpreter never reads an older one's entries),
the Python version and this format's number. An entry is a pickle the tool wrote itself: the file holds the BLAKE2b hash of the pickle and
is read only if that matches, from a folder that belongs to the user and that no one else may
write to; anything else — a missing, short, corrupt or foreign file — is a miss, and the entry is
built again. Writing is atomic (a temporary file renamed over the entry), so two processes never
see half an entry. Nothing here raises: a cache that cannot be used is no cache."""

from __future__ import annotations

import os
import sys

try:  # BLAKE2b from CPython's own module: hashlib would load OpenSSL first, a few ms at every start
    from _blake2 import blake2b as _hash
except ImportError:  # pragma: no cover - another Python
    from hashlib import blake2b as _hash

FORMAT = b"policy-dsl-cache 2\n"
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # policy_dsl/
_code_key: str | None = None


def directory() -> str | None:
    """The cache folder, or None when caching is off."""
    if os.environ.get("POLICY_DSL_NO_CACHE"):
        return None
    base = os.environ.get("POLICY_DSL_CACHE_DIR")
    if base:
        return base
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = xdg if xdg and os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "policy-dsl")


def code_key() -> str:
    """A hash of the interpreter: its version, the Python running it, and the name, size and
    modification time of every source, grammar and data file of the package (a reinstall or an
    edit changes them; reading them all at every start would cost more than the cache saves)."""
    global _code_key
    if _code_key is None:
        from policy_dsl import __version__

        h = _hash(FORMAT + f"{__version__}\n{sys.version}\n".encode())
        for root, dirs, files in os.walk(_PACKAGE):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".py", ".yaml", ".json", ".lark")):
                    path = os.path.join(root, name)
                    try:
                        st = os.stat(path)
                        h.update(f"{os.path.relpath(path, _PACKAGE)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
                    except OSError:
                        h.update(path.encode() + b"\1")
        from policy_dsl.language import resources

        try:
            h.update(resources.grammar_text().encode())
        except OSError:
            pass
        _code_key = h.hexdigest()
    return _code_key


def key(*parts: bytes | str) -> str:
    """The key of an entry built from ``parts`` (file names and contents, in order) by this code."""
    return digest(code_key(), *parts)


def digest(*parts: bytes | str) -> str:
    """A BLAKE2b digest of ``parts`` in order (each length-prefixed, so no two lists share one)."""
    h = _hash()
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "big") + b)
    return h.hexdigest()


def _usable(folder: str) -> bool:
    """The folder is ours and no one else may write to it."""
    try:
        st = os.stat(folder)
    except OSError:
        return False
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return False
    return not st.st_mode & 0o022


def _path(name: str, entry_key: str) -> str | None:
    folder = directory()
    if folder is None:
        return None
    return os.path.join(folder, f"{name}-{entry_key[:40]}.pickle")


def load(name: str, entry_key: str):
    """The object stored under (name, key), or None."""
    path = _path(name, entry_key)
    if path is None or not _usable(os.path.dirname(path)):
        return None
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if (hasattr(os, "getuid") and st.st_uid != os.getuid()) or st.st_mode & 0o022:
                return None
            data = fh.read()
    except OSError:
        return None
    head = FORMAT + entry_key.encode() + b"\n"
    if not data.startswith(head) or len(data) < len(head) + 129:
        return None
    digest, payload = data[len(head):len(head) + 128], data[len(head) + 129:]
    if _hash(payload).hexdigest().encode() != digest:
        return None
    try:
        import pickle

        return pickle.loads(payload)
    except Exception:  # noqa: BLE001 - a stale or broken entry is a miss
        return None


def store(name: str, entry_key: str, obj) -> None:
    """Keep ``obj`` under (name, key); quietly nothing if the folder cannot be used."""
    path = _path(name, entry_key)
    if path is None:
        return
    folder = os.path.dirname(path)
    try:
        import pickle

        payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if not _usable(folder):
            return
        data = FORMAT + entry_key.encode() + b"\n" + _hash(payload).hexdigest().encode() + b"\n" + payload
        tmp = f"{path}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except Exception:  # noqa: BLE001 - no cache, no harm
        return


def cached(name: str, parts, build):
    """``build()``, or the object a previous ``build()`` stored for the same ``parts``."""
    entry_key = key(*parts)
    obj = load(name, entry_key)
    if obj is None:
        obj = build()
        store(name, entry_key, obj)
    return obj
