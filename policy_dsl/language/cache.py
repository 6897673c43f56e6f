"""A cache of what is slow to build and never changes for the same inputs: the checked policy set,
the region registry, the case vocabulary, the files of a ``--rev``, the message catalogs as
parsed, what ``applies`` learnt of a set (analysis/conflicts.py) and the text of its answers
(face/api.py ``applies_text``). Kept in the user's cache folder (``$POLICY_DSL_CACHE_DIR``, else
``$XDG_CACHE_HOME/policy-dsl``, else ``~/.cache/policy-dsl``), never inside the package;
``POLICY_DSL_NO_CACHE=1`` turns it off.

An entry's key is a hash of everything it was built from: the input files' names and bytes, the
grammar's text, and the package itself (its version, and the size and modification time of each
of its source, data and catalog files, so that a changed interpreter never reads an older one's
entries), the Python version and this format's number. An entry is a pickle the tool wrote itself: the
file holds the BLAKE2b hash of the pickle and is read only if that matches, from a folder that
belongs to the user and that no one else may write to.

The cache is only a cache: an entry is read only if it is a regular file (opened without
following a link and without blocking: a link, a pipe, a folder in its place is a miss), of at
most LIMITS["cache_entry"] bytes, whose hash matches and whose object is of the type expected;
anything else — missing, short, corrupt, foreign, too large, the wrong object — is a miss, and
the entry is built again and replaces what was there. Writing is atomic (a temporary file
renamed into place, the old entry removed just before), so two processes never see half an entry. The folder is kept bounded:
entries unused for ``MAX_AGE_DAYS`` are removed, and the least recently used beyond
``MAX_ENTRIES`` or ``MAX_TOTAL_BYTES``. Nothing here raises: a cache that cannot be used is no
cache."""

from __future__ import annotations

import os
import stat
import sys
import time

from policy_dsl.language.errors import PolicyDslError  # what atomic_write may raise

try:  # BLAKE2b from CPython's own module: hashlib would load OpenSSL first, a few ms at every start
    from _blake2 import blake2b as _hash
except ImportError:  # pragma: no cover - another Python
    from hashlib import blake2b as _hash

FORMAT = b"policy-dsl-cache 2\n"
MAX_ENTRY_BYTES = 64 * 1024 * 1024  # = safeio.LIMITS["cache_entry"]
MAX_ENTRIES = 200  # files in the folder (entries and --rev trees)
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_AGE_DAYS = 30  # an entry not used for this long is removed
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
    modification time of every source, grammar, data and compiled catalog file of the package (a reinstall or an
    edit changes them; reading them all at every start would cost more than the cache saves)."""
    global _code_key
    if _code_key is None:
        from policy_dsl import __version__

        h = _hash(FORMAT + f"{__version__}\n{sys.version}\n".encode())
        _hash_tree(h, _PACKAGE, "")
        from policy_dsl.language import resources

        try:
            h.update(resources.grammar_text().encode())
        except OSError:
            pass
        _code_key = h.hexdigest()
    return _code_key


_KEYED = (".py", ".yaml", ".json", ".lark", ".tsv", ".mo")  # .mo: the words kept texts are made of


def _hash_tree(h, folder: str, rel: str) -> None:
    """Add to ``h`` the relative name, size and modification time of each file of ``folder`` with
    a name ending in ``_KEYED``, sub-folders (not ``__pycache__``) included, in name order."""
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        h.update(folder.encode() + b"\1")
        return
    for e in entries:
        name = rel + e.name
        try:
            if e.is_dir(follow_symlinks=False):  # a linked folder is not entered (no loops)
                if e.name != "__pycache__":
                    _hash_tree(h, e.path, name + os.sep)
            elif e.name.endswith(_KEYED):
                st = e.stat()
                h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(e.path.encode() + b"\1")


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


def usable_directory() -> str | None:
    """The cache folder, created if missing, if it can be used (ours, and no one else may write
    to it); else None."""
    folder = directory()
    if folder is None:
        return None
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return folder if _usable(folder) else None


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


def load(name: str, entry_key: str, expect: type | tuple = object):
    """The object stored under (name, key) if it is an instance of ``expect``, or None."""
    path = _path(name, entry_key)
    if path is None or not _usable(os.path.dirname(path)):
        return None
    data = _read_entry(path)
    if data is None:
        return None
    head = FORMAT + entry_key.encode() + b"\n"
    if not data.startswith(head) or len(data) < len(head) + 129:
        return None
    digest, payload = data[len(head):len(head) + 128], data[len(head) + 129:]
    if _hash(payload).hexdigest().encode() != digest:
        return None
    import gc

    try:  # the C unpickler alone: the module pickle (its Python classes, struct…) is not needed to read
        from _pickle import UnpicklingError, loads
    except ImportError:  # pragma: no cover - another Python
        from pickle import UnpicklingError, loads

    paused = gc.isenabled()
    gc.disable()  # unpickling makes many objects that all live on: the cyclic collector would walk them again and again
    try:
        obj = loads(payload)
    except (UnpicklingError, EOFError, AttributeError, ImportError, IndexError, KeyError, TypeError,
            ValueError, RecursionError):  # an entry of an older interpreter's classes is a miss
        return None
    finally:
        if paused:
            gc.enable()
    if not isinstance(obj, expect):
        return None
    try:  # used now: the least recently used entries go first when the folder is pruned
        os.utime(path)
    except OSError:
        pass
    return obj


def _read_entry(path: str) -> bytes | None:
    """The bytes of the entry at ``path`` if it is a regular file of ours, of at most
    MAX_ENTRY_BYTES, that no one else may write; None otherwise (a link, a pipe, a folder…)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_ENTRY_BYTES:
            return None
        if (hasattr(os, "getuid") and st.st_uid != os.getuid()) or st.st_mode & 0o022:
            return None
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as fh:
            fd = None
            data = fh.read(st.st_size + 1)  # not more: a buffer of the limit would be allocated whole
        return data if len(data) == st.st_size else None
    except OSError:
        return None
    finally:
        if fd is not None:
            os.close(fd)


def store(name: str, entry_key: str, obj) -> None:
    """Keep ``obj`` under (name, key), replacing whatever is there; quietly nothing if the folder
    cannot be used or the entry would be over MAX_ENTRY_BYTES."""
    path = _path(name, entry_key)
    if path is None:
        return
    folder = os.path.dirname(path)
    try:
        try:  # the C pickler alone, as ``load`` reads (the module pickle is not needed)
            from _pickle import PicklingError, dumps
        except ImportError:  # pragma: no cover - an interpreter without it
            from pickle import PicklingError, dumps

        payload = dumps(obj, protocol=-1)  # the highest protocol
        if len(payload) > MAX_ENTRY_BYTES - 400:
            return
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if not _usable(folder):
            return
        data = FORMAT + entry_key.encode() + b"\n" + _hash(payload).hexdigest().encode() + b"\n" + payload
        _clear(path)
        from policy_dsl.language.safeio import atomic_write

        atomic_write(path, data, mode=0o600, sync=False)  # an entry is read only if its hash matches: no need to sync
        prune(folder)
    except (OSError, PicklingError, TypeError, AttributeError, RecursionError, PolicyDslError):  # no cache, no harm
        return


def _clear(path: str) -> None:
    """Remove what is not a regular file at ``path`` (a link, a pipe, an empty folder): the entry
    written next replaces it."""
    try:
        st = os.lstat(path)
    except OSError:
        return
    try:
        if stat.S_ISDIR(st.st_mode):
            os.rmdir(path)
        elif not stat.S_ISREG(st.st_mode):
            os.unlink(path)
    except OSError:
        pass


def prune(folder: str | None = None, now: float | None = None) -> None:
    """Keep the cache folder bounded: remove entries (and ``--rev`` trees, and temporary files a
    killed process left) unused for MAX_AGE_DAYS, then the least recently used beyond
    MAX_ENTRIES or MAX_TOTAL_BYTES. Only names the cache writes are touched."""
    folder = folder or directory()
    if folder is None or not _usable(folder):
        return
    now = time.time() if now is None else now
    items = []
    try:
        with os.scandir(folder) as it:
            for e in it:
                if not (e.name.endswith((".pickle", ".tmp")) or e.name.startswith(("rev-", ".rev-"))):
                    continue
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                items.append((st.st_mtime, e.name, st.st_size, e.is_dir(follow_symlinks=False)))
    except OSError:
        return
    items.sort(reverse=True)  # the most recently used first
    total = kept = 0
    for mtime, name, size, is_dir in items:
        temp = name.endswith(".tmp") or name.startswith(".rev-")
        stale = now - mtime > (3600 if temp else MAX_AGE_DAYS * 86400)
        if not temp and not stale:
            total += size
            kept += 1
            if kept <= MAX_ENTRIES and total <= MAX_TOTAL_BYTES:
                continue
        elif not stale:
            continue
        path = os.path.join(folder, name)
        try:
            if is_dir:
                import shutil

                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def cached(name: str, parts, build, expect: type | tuple = object):
    """``build()``, or the object a previous ``build()`` stored for the same ``parts`` (if it is
    an instance of ``expect``)."""
    entry_key = key(*parts)
    obj = load(name, entry_key, expect)
    if obj is None:
        obj = build()
        store(name, entry_key, obj)
    return obj
