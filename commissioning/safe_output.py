"""Write outputs so that they never destroy what isn't theirs and never show half a result.

A run folder carries a marker file (`.commissioning-run`, JSON: format, tool, version and the
files the run wrote). A folder is replaced only when it is missing, empty, or a run folder whose
every file the marker lists (or a 0.1.0 run folder, which had no marker but only known files);
anything else is refused with `OutputRefused` and left exactly as it was. There is deliberately
no "force": a mistyped `--out ~/Documents` must never delete anything.

Replacing a run folder is atomic. The new run is written into a hidden sibling,
`.NAME.staging-<random>`, which is then swapped with NAME by `renameat2(RENAME_EXCHANGE)`: one
system call that exchanges the two names, so at every instant NAME is the complete old run or the
complete new run. The old run, now under the staging name, is then deleted. Two alternatives were
rejected: a pair of renames (NAME away, staging in) leaves an instant where NAME does not exist;
keeping NAME as a symlink to a versioned sibling would be atomic too, but turns the user's folder
into a link that copying, zipping or `rm -r` treat surprisingly, and leaves the real files in a
hidden folder. A folder that does not exist yet gets a plain rename, which is atomic on its own.
Where RENAME_EXCHANGE is unavailable (not Linux, or a filesystem without it such as NFS) the rename
pair is the fallback, with that brief window.

A `kill -9` can leave a staging sibling behind; the next write to the same name removes it. A
writer holds an advisory lock (flock) on its staging entry while it works, so a cleaner never
removes the staging of a writer that is still alive. Single files (workbooks) are written the
same way: to `.NAME.staging-<random>` beside them, then `os.replace`d over NAME.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from commissioning import __version__

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locks, leftovers are simply removed
    fcntl = None  # type: ignore[assignment]

MARKER = ".commissioning-run"
RUN_FORMAT = 1
STAGING = ".staging-"
RETIRED = ".old-"
# What 0.1.0 wrote into a run folder, before folders were marked: such a folder may be replaced.
UNMARKED_RUN_FILES = frozenset(
    {
        "targets.csv",
        "need.csv",
        "allocations.csv",
        "coverage.csv",
        "pots.csv",
        "commitments.csv",
        "grants.csv",
        "bids.csv",
        "workbook.xlsx",
        "summary.json",
        "timing.json",
        "scenario.json",
    }
)
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputRefused(OSError):
    """An output place that holds something this tool did not write; nothing was changed.

    An OSError, so code that already handles a place it cannot write handles this too.
    """


# -- run folders ----------------------------------------------------------------------------


def check_run_folder(out: str | Path) -> None:
    """Raise OutputRefused unless `out` is missing, empty, or a run folder holding only its own
    files (so writing a run there cannot destroy anything else)."""
    out = Path(out)
    if not os.path.lexists(out):
        return
    if not out.is_dir():
        raise OutputRefused(
            f"cannot write a run to {out}: it is a file, not a folder (nothing was changed); "
            "choose a new or empty folder"
        )
    entries = sorted(os.listdir(out))
    if not entries:
        return
    own = _files_of_run(out, entries)
    if own is None:
        raise OutputRefused(
            f"cannot write a run to {out}: the folder is not empty and is not a run folder "
            f"written by commissioning (it holds {_some(entries)}); nothing was changed: "
            "choose a new or empty folder"
        )
    foreign = [name for name in entries if name not in own]
    if foreign:
        raise OutputRefused(
            f"cannot replace the run in {out}: it also holds {_some(foreign)}, which the run did "
            "not write; nothing was changed: move those out or choose another folder"
        )


def replace_run_folder(out: str | Path, fill: Callable[[Path], object]) -> Path:
    """Let `fill` write a run into a fresh folder, mark it, and swap it in as `out` atomically."""
    out = Path(out).resolve()
    check_run_folder(out)
    parent = out.parent
    parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(parent, out.name)
    staging, lock = _new_staging(parent, out.name, folder=True)
    swapped = False
    try:
        fill(staging)
        _write_marker(staging)
        _sync_folder(staging)
        os.chmod(staging, 0o755)
        # The folder may have changed while the run was solved and written: look again.
        check_run_folder(out)
        if os.path.lexists(out):
            _exchange(staging, out)
            swapped = True
        else:
            os.rename(staging, out)
        _fsync(parent)
    except BaseException:
        # Before the swap this is the half-written new run; after it, the complete old one.
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        os.close(lock)
    if swapped:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _files_of_run(folder: Path, entries: list[str]) -> set[str] | None:
    """The files a run wrote into `folder`, or None when it is not a run folder."""
    if MARKER in entries:
        try:
            marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
            files = marker["files"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            return None
        return {*files, MARKER}
    names = set(entries)
    if {"summary.json", "scenario.json"} <= names <= UNMARKED_RUN_FILES:
        return names
    return None


def _write_marker(staging: Path) -> None:
    files = sorted(os.listdir(staging))
    marker = {"format": RUN_FORMAT, "tool": "commissioning", "version": __version__}
    text = json.dumps({**marker, "files": files}, indent=2) + "\n"
    (staging / MARKER).write_text(text, encoding="utf-8")


def _some(names: list[str], shown: int = 5) -> str:
    listed = ", ".join(names[:shown])
    return listed + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _exchange(staging: Path, out: Path) -> None:
    """Swap the two folders' names in one step (the old run ends up under `staging`)."""
    if _renameat2(staging, out):
        return
    retired = out.with_name(f".{out.name}{RETIRED}{secrets.token_hex(6)}")
    os.rename(out, retired)
    os.rename(staging, out)
    os.rename(retired, staging)


def _renameat2(a: Path, b: Path) -> bool:
    """renameat2(a, b, RENAME_EXCHANGE); False where the system or filesystem lacks it."""
    import ctypes  # only writers need it

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.renameat2
    except (OSError, AttributeError):
        return False
    call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if call(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


# -- single files ---------------------------------------------------------------------------


@contextlib.contextmanager
def staged_file(path: str | Path) -> Iterator[BinaryIO]:
    """A binary handle whose bytes replace `path` only once complete: readers see the old file
    or the new one, never part of one."""
    path = Path(path)
    if path.is_dir():
        raise OutputRefused(f"cannot write {path}: it is a folder (nothing was changed)")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path.parent, path.name)
    temp, fd = _new_staging(path.parent, path.name, folder=False)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            # Still open, so still locked: no cleaner can take the file before it is in place.
            os.replace(temp, path)
        _fsync(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise


# -- staging and leftovers ------------------------------------------------------------------


def _new_staging(parent: Path, name: str, folder: bool) -> tuple[Path, int]:
    """A new staging entry beside `name`, locked; returns its path and the locked descriptor."""
    while True:
        path = parent / f".{name}{STAGING}{secrets.token_hex(6)}"
        try:
            if folder:
                os.mkdir(path, 0o700)
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
            else:
                # 0o666 lets the umask decide permissions, as for any ordinary new file.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except (FileExistsError, FileNotFoundError):
            continue
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False))
        except FileNotFoundError:
            same = False
        if same:
            return path, fd
        # A cleaner took it between creating and locking: make another.
        os.close(fd)


def remove_leftovers(parent: str | Path, name: str) -> int:
    """Remove what interrupted writes of `name` left in `parent`; returns how many."""
    prefixes = (f".{name}{STAGING}", f".{name}{RETIRED}")
    return _remove_unused(Path(parent), lambda entry: entry.startswith(prefixes))


def remove_output_leftovers(data_dir: str | Path) -> int:
    """At API server start: every interrupted write in the server's own run and export folders.

    Those folders belong to the server, so any hidden entry there is a leftover (including the
    temporary names the export cache uses).
    """
    data_dir = Path(data_dir)
    folders = [data_dir / "runs"]
    exports = data_dir / "exports"
    if exports.is_dir():
        folders += sorted(p for p in exports.iterdir() if p.is_dir() and not p.is_symlink())
    return sum(_remove_unused(folder, lambda entry: entry.startswith(".")) for folder in folders)


def _remove_unused(folder: Path, chosen: Callable[[str], bool]) -> int:
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return 0
    removed = 0
    for name in names:
        if chosen(name) and _remove_unless_in_use(folder / name):
            removed += 1
    return removed


def _remove_unless_in_use(path: Path) -> bool:
    """Remove a leftover unless a live writer still holds its lock."""
    try:
        if path.is_symlink():  # never ours: never follow it
            path.unlink()
            return True
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return True
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    """Flush every file of the new run to disk before it is swapped in (power cuts, not kills)."""
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            _fsync(Path(entry.path), directory=False)
    _fsync(folder)


def _fsync(path: Path, directory: bool = True) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # pragma: no cover - some filesystems refuse to open folders
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
