"""Reading and writing files without trusting them.

Reading: every file the tool reads — policies, cases, tests, sources, cache entries, blobs of a
``--rev`` — goes through ``read_limited`` (or ``open_regular`` for a file read as it goes, like
JSON Lines): the name is checked with ``stat`` before the file is opened (a regular file, not a
folder, a device, a pipe or a socket; not bigger than its limit in ``LIMITS``), the file is opened
without blocking and checked again on the open descriptor, and at most the limit is read. A name
that cannot be read — missing, a symbolic link to nothing or a loop of them, a name too long,
no permission — is said in words. Every refusal is a Diagnostic with a code (docs/errors.md),
never a traceback.

Writing: every file the tool writes — ``fmt``, ``report``, ``timeline --svg``, ``eval --out``,
``impact --out``, the cache — goes through ``atomic_write`` (one file), ``AtomicFile`` (one file
written as it goes) or ``OutputFolder`` (files in a folder): the bytes go to a temporary file in
the same folder, are flushed and synced, and the temporary file is renamed over the target; on
any failure (a full disk, a file-size limit, a read-only folder, a signal) the target is
untouched and the temporary file removed (E-WRITE). A symbolic link where a file is written is
replaced, never followed.

Text echoed back in messages is clipped, and control characters in it are shown escaped."""

from __future__ import annotations

import datetime as dt
import errno
import os
import stat
import sys

from policy_dsl.language.errors import Diagnostic, InputError, Where, printable  # noqa: F401 - printable is used from here too
from policy_dsl.language.messages import N_, t

TYPE_CHECKING = False
if TYPE_CHECKING:  # pathlib is imported where a folder is written (OutputFolder), never at start-up
    from pathlib import Path

# Dates a case or a command line may give. Outside them the answer would be fiction (and date
# arithmetic would leave the calendar Python knows: year 10000).
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2199, 12, 31)
ECHO_CHARS = 80  # at most this much of a user's text is repeated in a message

MiB = 1024 * 1024
# The most the tool reads of each kind of file (docs/errors.md, "Reading files"): the same limits
# for a file on disk, a file given on standard input and a blob of a git revision.
LIMITS = {
    "policy": 2 * MiB,  # one policy file
    "case_json": 32 * MiB,  # a JSON case file (one case or a list)
    "case_yaml": 8 * MiB,  # a YAML case file (YAML is slower to read: JSON or JSON Lines for big batches)
    "case_line": 1 * MiB,  # one JSON Lines line
    "test": 8 * MiB,  # a policy test file
    "source": 16 * MiB,  # a source text (policies/sources/)
    "cache_entry": 64 * MiB,  # one cache entry
}


def clip(text, n: int = ECHO_CHARS) -> str:
    """``text`` (anything) as one line of at most ``n`` characters, control characters escaped."""
    text = str(text)
    if len(text) > 4 * n:
        text = text[: 4 * n]
    text = " ".join(text.split()) if any(c in text for c in "\n\r\t") else text
    text = printable(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def date_in_range(d: dt.date) -> bool:
    return DATE_MIN <= d <= DATE_MAX


def range_error(code: str, what: str, d, where: Where, hint: str | None = None) -> InputError:
    return InputError(Diagnostic(code, t("safeio.out_of_range", what=what, value=d, first=DATE_MIN.year, last=DATE_MAX.year),
                                 where, hint or t("safeio.out_of_range.hint")))


def read_limited(path: Path | str, max_bytes: int, display: str | None = None, cls=InputError,
                 code: str = "E-FILE") -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes``; otherwise ``cls``
    (E-INPUT-SIZE for a file too big, ``code`` for anything else, saying why: missing, a link to
    nothing, a loop of links, a folder, a device, a pipe, no permission…) — decided by ``stat``
    before opening, so a 100 MB file, /dev/zero or a named pipe cost nothing and never block."""
    with open_regular(path, display, cls, code, max_bytes) as fh:
        size = os.fstat(fh.fileno()).st_size
        raw = fh.read(size + 1)  # read(n) allocates n bytes first: the size, not the limit
        while len(raw) > size and len(raw) <= max_bytes:  # it grew between stat and read
            more = fh.read(min(max_bytes + 1 - len(raw), 1 << 20))
            if not more:
                break
            raw += more
    if len(raw) > max_bytes:
        raise cls(_too_big(_name(path, display), len(raw), max_bytes, at_least=True))
    return raw


def read_text(path: Path | str, max_bytes: int, display: str | None = None, cls=InputError,
              code: str = "E-FILE") -> str:
    """``read_limited`` and ``decode``: the UTF-8 text of a regular file of at most ``max_bytes``."""
    name = _name(path, display)
    return decode(read_limited(path, max_bytes, name, cls, code), name, max_bytes, cls)


def open_regular(path: Path | str, display: str | None = None, cls=InputError, code: str = "E-FILE",
                 max_bytes: int | None = None):
    """``path`` opened for reading in binary, if it is a regular file (of at most ``max_bytes``
    when given); otherwise ``cls`` as ``read_limited`` raises it. The file is checked with
    ``stat`` before it is opened and again with ``fstat`` once open (opened without blocking: a
    pipe that appears in between is refused, not waited on). The caller bounds its reads."""
    name = _name(path, display)
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        raise cls(_unreadable(path, name, exc, code)) from None
    _check_regular(st, name, cls, code, max_bytes)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as exc:
        raise cls(_unreadable(path, name, exc, code)) from None
    try:
        st = os.fstat(fd)
        _check_regular(st, name, cls, code, max_bytes)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _name(path, display: str | None) -> str:
    return clip(display or str(path), 200)


def _check_regular(st: os.stat_result, name: str, cls, code: str, max_bytes: int | None) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise cls(Diagnostic(code, t("safeio.folder"), Where(name), t("safeio.name_a_file")))
    if not stat.S_ISREG(st.st_mode):
        what = N_("safeio.fifo") if stat.S_ISFIFO(st.st_mode) else N_("safeio.socket") if stat.S_ISSOCK(
            st.st_mode) else N_("safeio.device")
        raise cls(Diagnostic(code, t("safeio.not_regular", what=t(what)), Where(name), t("safeio.name_a_file_on_disk")))
    if max_bytes is not None and st.st_size > max_bytes:
        raise cls(_too_big(name, st.st_size, max_bytes))


def why_unreadable(path, exc: BaseException) -> tuple[str, str]:
    """(what is wrong, a hint) for an OSError or ValueError met when opening ``path``."""
    if isinstance(exc, ValueError):
        return t("safeio.nul_byte"), t("safeio.check_path")
    number = getattr(exc, "errno", None)
    if number == errno.ENOENT:
        try:
            if os.path.islink(path):
                return t("safeio.dangling_link", target=clip(os.readlink(path), 120)), t("safeio.fix_link")
        except (OSError, ValueError):
            pass
        return t("safeio.no_such_file"), t("safeio.check_path")
    if number == errno.ELOOP:
        return t("safeio.link_loop"), t("safeio.fix_link")
    if number == errno.ENAMETOOLONG:
        return t("safeio.name_too_long"), t("safeio.check_path")
    if number in (errno.EACCES, errno.EPERM):
        return t("safeio.permission_denied"), t("safeio.check_permissions")
    if number == errno.ENOTDIR:
        return t("safeio.not_a_folder_in_path"), t("safeio.check_path")
    return t("safeio.cannot_read", reason=clip(getattr(exc, "strerror", None) or exc, 120)), t("safeio.check_path")


def _unreadable(path, name: str, exc: BaseException, code: str) -> Diagnostic:
    what, hint = why_unreadable(path, exc)
    return Diagnostic(code, what, Where(name), hint)


def read_stdin_limited(max_bytes: int, display: str = "-") -> bytes:
    """Standard input, refused once it passes ``max_bytes`` (never read further)."""
    raw = sys.stdin.buffer.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise InputError(_too_big(display, len(raw), max_bytes, at_least=True))
    return raw


def _too_big(name: str, size: int, max_bytes: int, at_least: bool = False) -> Diagnostic:
    message = (t("safeio.too_big_at_least", limit=f"{max_bytes:,}") if at_least
               else t("safeio.too_big", size=f"{size:,}", limit=f"{max_bytes:,}"))
    return Diagnostic("E-INPUT-SIZE", message, Where(name), t("safeio.too_big.hint"))


def decode(raw: bytes, file: str, max_bytes: int = 2 * 1024 * 1024, cls=InputError) -> str:
    """UTF-8 text of ``raw`` without a BOM; refuses oversized or undecodable input."""
    if len(raw) > max_bytes:
        raise cls(_too_big(file, len(raw), max_bytes))
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise cls(Diagnostic("E-INPUT-UTF8", t("safeio.bad_utf8", byte=f"0x{raw[exc.start]:02x}"), Where(file, line, col),
                             t("safeio.bad_utf8.hint"))) from None


# -- writing -------------------------------------------------------------------------------------
_PENDING: set = set()  # (folder descriptor, temporary name) being written: removed if SIGTERM ends the process


def atomic_write(path: Path | str, data: bytes | str, display: str | None = None, cls=InputError,
                 mode: int | None = None, sync: bool = True) -> None:
    """Write ``data`` (text is written as UTF-8) to ``path`` so that ``path`` holds either its old
    bytes or all of the new ones, whatever happens: a temporary file in the same folder, flushed
    and synced, renamed over ``path``, and the folder synced. A symbolic link at ``path`` is
    replaced, not followed; the file gets ``mode`` if given, else keeps its permission bits (a new
    one: 0o666 less the umask); a read-only file or a folder at ``path`` is refused. On any
    failure — a full disk, a file-size limit, a read-only folder, a signal — nothing at ``path``
    changes, the temporary file is removed, and ``cls`` is raised with E-WRITE. (``AtomicFile``
    is the same for a file written as it goes.) ``sync=False`` skips the two syncs: after a crash
    ``path`` may then hold neither version whole — only for a file whose reader checks its bytes
    (the cache, which checks each entry's hash and counts a missing one as a miss); the old file is
    removed just before the new one is renamed in (a reader in between finds none), since ext4
    writes a file renamed over another out to disk before the rename returns; nor is a handler for
    SIGTERM installed to remove the temporary file (the cache removes those a killed process left:
    ``cache.prune``)."""
    with AtomicFile(path, display, cls, mode, sync=sync) as out:
        out.write(data)


def _unlink_quietly(name: str, dir_fd: int) -> None:
    """Remove the file ``name`` in the folder ``dir_fd`` if there is one (a folder is left: the
    rename that follows refuses it)."""
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass


class AtomicFile:
    """A file written as it goes and put in place only when complete (``eval --out``, ``impact
    --out``): ``write`` (or ``fh``, a binary file object, for a library that writes to one),
    then ``commit`` — or ``abort``, which leaves the target as it was. As a context manager it
    commits on success and aborts on any exception. The guarantees and errors of ``atomic_write``:
    the bytes go to a temporary file in the target's folder (``.NAME.XXXXXXXX.tmp``), synced and
    renamed over the target; a write that fails (a full disk, a file-size limit) raises ``cls``
    E-WRITE and removes the temporary file."""

    def __init__(self, path: Path | str, display: str | None = None, cls=InputError, mode: int | None = None,
                 dir_fd: int | None = None, sync: bool = True):
        path = os.fspath(path)
        self.sync = sync
        self.path, self.cls = path, cls
        self.shown = _name(path, display)
        folder, self.name = os.path.split(path) if dir_fd is None else ("", path)
        if not self.name or self.name in (".", ".."):
            raise cls(Diagnostic("E-WRITE", t("safeio.write_not_a_name"), Where(self.shown), t("safeio.name_a_file")))
        self._own_dir = dir_fd is None
        if dir_fd is None:
            try:
                dir_fd = os.open(folder or ".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
            except (OSError, ValueError) as exc:
                what, hint = why_unreadable(folder or ".", exc)
                raise cls(Diagnostic("E-WRITE", t("safeio.write_folder", what=what), Where(self.shown), hint)) from None
        self.dir_fd = dir_fd
        self.temp = None
        self._buffer = bytearray()
        try:
            self.mode = self._check_target(mode)
            self._fd = self._create_temp()
        except BaseException:
            self._close_dir()
            raise
        self.fh = _GuardedFile(self)

    def _check_target(self, mode: int | None) -> int:
        """The mode the file gets; refuses a folder or a read-only file at the target."""
        keep_mode = mode is None
        if mode is None:
            mode = 0o666 & ~_umask()
        try:
            st = os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return mode
        except OSError as exc:
            raise self._error(exc, unchanged=False) from None
        if stat.S_ISDIR(st.st_mode):
            raise self.cls(Diagnostic("E-WRITE", t("safeio.write_folder_named"), Where(self.shown), t("safeio.name_a_file")))
        if stat.S_ISREG(st.st_mode):
            if keep_mode:
                mode = stat.S_IMODE(st.st_mode)
            if not os.access(self.name, os.W_OK, dir_fd=self.dir_fd,
                             effective_ids=os.access in os.supports_effective_ids):
                raise self.cls(Diagnostic("E-WRITE", t("safeio.read_only"), Where(self.shown), t("safeio.read_only.hint")))
        return mode

    def _create_temp(self) -> int:
        for _ in range(100):
            temp = f".{self.name[:200]}.{os.urandom(4).hex()}.tmp"  # as secrets.token_hex(4), without importing random
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                             | getattr(os, "O_CLOEXEC", 0), 0o600, dir_fd=self.dir_fd)
            except FileExistsError:
                continue
            except OSError as exc:
                raise self._error(exc, unchanged=True) from None
            self.temp = temp
            _PENDING.add((self.dir_fd, temp))
            if self.sync:  # not for the cache (sync=False): it removes the temporary files a killed process left
                _install_terminate()
            return fd
        raise self._error(FileExistsError(errno.EEXIST, "no free temporary name"), unchanged=True)  # pragma: no cover

    def write(self, data: bytes | str) -> None:
        """Append ``data`` (text as UTF-8); E-WRITE (and the temporary file removed) if it fails."""
        self._buffer += data.encode("utf-8") if isinstance(data, str) else data
        if len(self._buffer) >= 1 << 18:
            self._flush()

    def _flush(self) -> None:
        try:
            view = memoryview(self._buffer)
            while view:
                view = view[os.write(self._fd, view):]
            del view
            self._buffer.clear()
        except OSError as exc:
            self.abort()
            raise self._error(exc, unchanged=True) from None

    def commit(self) -> None:
        """Put the file in place: synced, renamed over the target, the folder synced."""
        self._flush()
        try:
            os.fchmod(self._fd, self.mode)
            if self.sync:
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
            if not self.sync:  # the old file goes first: ext4 writes out a file renamed over another
                _unlink_quietly(self.name, self.dir_fd)  # before the rename returns (auto_da_alloc), 3-4 ms of waiting
            os.replace(self.temp, self.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
            _PENDING.discard((self.dir_fd, self.temp))
            self.temp = None
            try:
                if self.sync:
                    os.fsync(self.dir_fd)
            except OSError:  # some file systems cannot sync a folder; the rename is done
                pass
        except OSError as exc:
            self.abort()
            raise self._error(exc, unchanged=True) from None
        finally:
            self._close_dir()

    def abort(self) -> None:
        """Remove the temporary file; the target is as it was."""
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None
        if self.temp is not None:
            _PENDING.discard((self.dir_fd, self.temp))
            try:
                os.unlink(self.temp, dir_fd=self.dir_fd)
            except OSError:
                pass
            self.temp = None
        self._close_dir()

    def _close_dir(self) -> None:
        if self._own_dir and self.dir_fd is not None:
            os.close(self.dir_fd)
            self.dir_fd = None

    def _error(self, exc: OSError, unchanged: bool):
        if unchanged:
            message = t("safeio.cannot_write_unchanged", reason=_write_reason(exc))
        else:
            message = t("safeio.cannot_write", reason=_write_reason(exc))
        return self.cls(Diagnostic("E-WRITE", message, Where(self.shown), _write_hint(exc)))

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None and self.temp is not None:
            self.commit()
        else:
            self.abort()


class _GuardedFile:
    """The binary file object of an AtomicFile (for a library that writes to a file object)."""

    def __init__(self, owner: AtomicFile):
        self._owner = owner

    def write(self, data) -> int:
        self._owner.write(bytes(data) if not isinstance(data, (bytes, str)) else data)
        return len(data)

    def flush(self) -> None:
        pass

    def tell(self) -> int:
        return os.lseek(self._owner._fd, 0, os.SEEK_CUR) + len(self._owner._buffer)

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return self._owner._fd is None

    def close(self) -> None:  # the owner commits or aborts
        pass


class OutputFolder:
    """A folder the tool writes files into (``report --out``, ``impact --out``, every writer of
    several files). The folder is created if missing; a file, or a symbolic link, where the folder
    should be is refused (E-WRITE): an output folder never follows a link the tool did not create.
    Each file is written with ``atomic_write``'s guarantees (``write``, or ``open`` for a file
    written as it goes), by name inside the folder (no ``/``, no ``..``), through a descriptor of
    the folder itself: a link placed inside it is replaced, never followed. Use as a context
    manager, or call ``close``."""

    def __init__(self, path: Path | str, cls=InputError):
        from pathlib import Path

        self.path = Path(path)
        self.cls = cls
        self.fd = None
        shown = _name(path, None)
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            st = None
        except (OSError, ValueError) as exc:
            what, hint = why_unreadable(self.path, exc)
            raise cls(Diagnostic("E-WRITE", t("safeio.write_into_folder", what=what), Where(shown), hint)) from None
        if st is not None and stat.S_ISLNK(st.st_mode):
            raise cls(Diagnostic("E-WRITE", t("safeio.out_is_link"), Where(shown),
                                 t("safeio.out_is_link.hint", target=clip(os.path.realpath(self.path), 120))))
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise cls(Diagnostic("E-WRITE", t("safeio.out_not_folder"), Where(shown), t("safeio.out_not_folder.hint")))
        try:
            if st is None:
                os.makedirs(self.path, exist_ok=True)
            self.fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
                              | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise cls(Diagnostic("E-WRITE", t("safeio.out_cannot_open", reason=_write_reason(exc)), Where(shown),
                                 _write_hint(exc))) from None

    def open(self, name: str) -> AtomicFile:
        """The file ``name`` inside the folder, to be written as it goes (``AtomicFile``)."""
        if not name or "/" in name or "\0" in name or name in (".", "..") or (os.sep != "/" and os.sep in name):
            raise ValueError(f"not a plain file name: {name!r}")
        return AtomicFile(name, _name(self.path / name, None), self.cls, dir_fd=self.fd)

    def write(self, name: str, data: bytes | str) -> Path:
        """Write the file ``name`` inside the folder (atomically); its path."""
        with self.open(name) as out:
            out.write(data)
        return self.path / name

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_WRITE_REASONS = {errno.ENOSPC: N_("safeio.disk_full"), errno.EDQUOT: N_("safeio.quota"),
                  errno.EFBIG: N_("safeio.file_size_limit"), errno.EROFS: N_("safeio.read_only_fs"),
                  errno.EACCES: N_("safeio.permission_denied"), errno.EPERM: N_("safeio.permission_denied"),
                  errno.ENAMETOOLONG: N_("safeio.name_too_long"), errno.ENOENT: N_("safeio.no_such_folder"),
                  errno.ENOTDIR: N_("safeio.not_a_folder_in_path"), errno.ELOOP: N_("safeio.link_loop_in_path")}


def _write_reason(exc: OSError) -> str:
    reason = _WRITE_REASONS.get(exc.errno)
    return t(reason) if reason else clip(exc.strerror or exc, 120)


def _write_hint(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return t("safeio.free_space")
    if exc.errno == errno.EFBIG:
        return t("safeio.raise_limit")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return t("safeio.write_elsewhere")
    return t("safeio.check_path")


_TERMINATE_INSTALLED = False
_CLEANUPS: list = []  # functions run when SIGTERM ends the process (then exit 143, as the signal would)


def on_terminate(cleanup) -> None:
    """Run ``cleanup()`` if SIGTERM ends the process (as atexit does on a normal exit): temporary
    files and folders are removed on SIGTERM as on success. Installs a SIGTERM handler, only in
    the main thread and only where none is installed."""
    if cleanup not in _CLEANUPS:
        _CLEANUPS.append(cleanup)
    _install_terminate()


def _install_terminate() -> None:
    global _TERMINATE_INSTALLED
    if _TERMINATE_INSTALLED:
        return
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return
    signal.signal(signal.SIGTERM, _terminated)
    _TERMINATE_INSTALLED = True


def _terminated(signum, frame) -> None:
    """SIGTERM: remove what is half-written and the temporary folders, then end as the signal
    would have (exit 128 + 15)."""
    for dir_fd, temp in list(_PENDING):
        try:
            os.unlink(temp, dir_fd=dir_fd)
        except OSError:
            pass
    _PENDING.clear()
    for cleanup in _CLEANUPS:
        try:
            cleanup()
        except Exception:  # noqa: BLE001 - ending anyway
            pass
    os._exit(128 + signum)
