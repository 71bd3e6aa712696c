"""Writing a report folder atomically, with a manifest, under a lock.

A report is built in a staging folder beside ``out`` and takes ``out``'s place
only when it is complete: the old folder is renamed aside, the staging folder is
renamed to ``out``, and the old one is deleted.  Each rename is atomic, so a run
that is killed leaves ``out`` holding either the previous complete report or
nothing (for the instant between the two renames); the next run puts a previous
report that was renamed aside back before it starts.

Every report folder holds :data:`MANIFEST`: one line ``<sha256>  <path>`` per file
written, sorted (the format ``sha256sum -c`` checks), without timestamps, so the
same report gives the same manifest.  A file in ``out`` that the previous
manifest lists and the new report does not write is removed; every other file in
``out`` (the user's own) is carried over unchanged, as a hard link, into the new
folder.  Symbolic links in ``out`` are carried over as links, never followed.

A lock file beside ``out`` (``.<name>.lock``) makes a second run into the same
folder fail at once with an :class:`~evaluate.errors.OutputError` instead of mixing
two reports.  It is an operating-system lock (``flock`` on POSIX, ``msvcrt.locking``
on Windows), so a killed run releases it, and the file is removed after the run.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from evaluate.errors import OutputError

__all__ = ["MANIFEST", "check_output_folder", "manifest_text", "publish", "read_manifest"]

MANIFEST = "MANIFEST.sha256"
"""File name of the manifest at the top of every report folder."""


def check_output_folder(out: Path) -> None:
    """Fail early, before any fitting, if a report cannot be written to ``out``."""
    if out.exists() and not out.is_dir():
        raise OutputError(
            f"--out {str(out)!r} is a file; give a folder for the report "
            "(it is created if missing)."
        )
    ancestor = out.absolute()
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(
            f"--out {str(out)!r} cannot be created: {str(ancestor)!r} is a file, not a folder."
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"--out {str(out)!r}: no permission to write in {str(ancestor)!r}.")


# --- manifest -------------------------------------------------------------------
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> list[str]:
    """Relative POSIX paths of the regular files under ``folder``, sorted."""
    found = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root, name)
            if path.is_file() and not path.is_symlink():
                found.append(path.relative_to(folder).as_posix())
    return sorted(found)


def manifest_text(folder: Path) -> str:
    """The manifest of every file under ``folder`` (except a manifest already there)."""
    lines = [f"{_sha256(folder / rel)}  {rel}\n" for rel in _files(folder) if rel != MANIFEST]
    return "".join(lines)


def read_manifest(folder: Path) -> set[str]:
    """The paths an earlier manifest in ``folder`` lists (none without a manifest)."""
    path = folder / MANIFEST
    if path.is_symlink() or not path.is_file():
        return set()
    listed = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        digest, sep, rel = line.partition("  ")
        parts = PurePosixPath(rel).parts
        if sep and len(digest) == 64 and rel and ".." not in parts and not rel.startswith("/"):
            listed.add(rel)
    return listed


# --- lock -----------------------------------------------------------------------
# A small shim rather than the `filelock` package: filelock leaves the lock file in
# place on POSIX after release (by design), and a report folder's lock must go with
# its run.  The platform modules are imported inside the functions, so this module
# imports on every system.
_WINDOWS = os.name == "nt"
_HELD = frozenset({errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK})
"""errno of a non-blocking lock that another process holds (msvcrt.locking gives
EACCES, or EDEADLOCK, which is EDEADLK)."""


def _try_lock(fd: int) -> bool:
    """Lock the open file ``fd`` exclusively without waiting: False if it is held."""
    try:
        if _WINDOWS:
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)  # msvcrt locks bytes from the file position
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in _HELD:
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    """Release the lock on ``fd`` before it is closed (Windows releases the locks of a
    closed file only "when resources allow"; flock ends with the descriptor)."""
    if _WINDOWS:
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _busy(out: Path, lock: Path) -> OutputError:
    return OutputError(
        f"Another run is writing a report to {str(out)!r} (lock {str(lock)!r}). "
        "Wait for it to finish, or write to another --out folder."
    )


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    lock = out.parent / f".{out.name}.lock"
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except PermissionError:  # another user's lock, or (Windows) one being deleted
            raise OutputError(
                f"Cannot open the lock file {str(lock)!r} of --out {str(out)!r}: another "
                "run may be finishing, or the file belongs to another user. Try again; if "
                "no run is writing to that folder, delete the lock file."
            ) from None
        try:
            taken = _try_lock(fd)
        except BaseException:
            os.close(fd)
            raise
        if not taken:
            os.close(fd)
            raise _busy(out, lock)
        if _WINDOWS:  # an open file cannot be removed there, so the path is still ours
            break
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        _unlock(fd)
        os.close(fd)  # the file was removed by the run that held it: lock the new one
    try:
        yield
    finally:
        # POSIX: unlink while holding the lock, so a run that opened the old file sees
        # (by its inode check) that it is gone.  Windows cannot unlink an open file:
        # close first, then unlink unless another run has opened it meanwhile (then
        # the file stays, harmless: the next run locks it).
        still_open = False
        try:
            os.unlink(lock)
        except FileNotFoundError:
            pass
        except PermissionError:
            still_open = True
        _unlock(fd)
        os.close(fd)
        if still_open:
            with contextlib.suppress(FileNotFoundError, PermissionError):
                os.unlink(lock)


# --- leftovers of killed runs ---------------------------------------------------
def _recover(out: Path) -> None:
    """Undo what a killed run left beside ``out``: put a previous report that was
    renamed aside back (if ``out`` is missing) and delete staging folders."""
    parent = out.parent
    for aside in sorted(parent.glob(f".{out.name}.old-*")):
        previous = aside / "previous"
        if previous.is_dir() and not out.exists() and not out.is_symlink():
            os.rename(previous, out)
        shutil.rmtree(aside)
    for staging in parent.glob(f".{out.name}.partial-*"):
        shutil.rmtree(staging)


# --- publishing -------------------------------------------------------------------
def _carry_over(old: Path, new: Path, owned: set[str]) -> None:
    """Link every entry of ``old`` that no report owns into ``new``, unchanged."""
    for root, dirs, names in os.walk(old):
        rel_root = Path(root).relative_to(old)
        mounted = [d for d in dirs if os.path.ismount(Path(root, d))]
        if mounted:  # its files could not be linked, and the old folder is deleted
            raise OutputError(
                f"{str(Path(root, mounted[0]))!r} is a mount point inside --out; "
                "write the report to a folder without one."
            )
        joined = [d for d in dirs if _is_junction(Path(root, d))]
        if joined:  # a Windows junction is not a symlink to os.walk: it would be entered
            raise OutputError(
                f"{str(Path(root, joined[0]))!r} is a junction inside --out; "
                "write the report to a folder without one."
            )
        for name in [*names, *[d for d in dirs if Path(root, d).is_symlink()]]:
            rel = (rel_root / name).as_posix()
            if rel in owned or rel == MANIFEST:
                continue
            source, target = old / rel, new / rel
            if target.exists() or target.is_symlink():
                if source.is_file() and not source.is_symlink() and target.is_file():
                    continue  # a file named like a report file: the new report's wins
                raise OutputError(
                    f"{str(source)!r} is not from an earlier report (no manifest lists it) "
                    "and stands where this report writes; move it out of the folder."
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                _copy_link(source, target)
            else:
                try:
                    os.link(source, target)
                except OSError:  # FAT/exFAT sticks and some network shares have no hard links
                    shutil.copy2(source, target)
        dirs[:] = [d for d in dirs if not Path(root, d).is_symlink()]
    for root, dirs, _names in os.walk(old):
        for d in dirs:  # the user's empty folders stay too
            path = Path(root, d)
            if not path.is_symlink() and not any(path.iterdir()):
                (new / path.relative_to(old)).mkdir(parents=True, exist_ok=True)


def _is_junction(path: Path) -> bool:
    isjunction = getattr(os.path, "isjunction", None)  # Python 3.12+; only Windows has them
    return bool(isjunction and isjunction(path))


def _copy_link(source: Path, target: Path) -> None:
    """Make ``target`` a symbolic link like ``source`` (never following it)."""
    try:
        os.symlink(os.readlink(source), target, target_is_directory=source.is_dir())
    except OSError as err:  # Windows allows links only in Developer Mode or as administrator
        raise OutputError(
            f"{str(source)!r} is a link the report cannot carry over ({err.strerror}); "
            "move it out of the --out folder."
        ) from None


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def publish(out: Path, write: Callable[[Path], None]) -> list[str]:
    """Call ``write(staging)`` to build a report, then move it into ``out`` whole.

    Returns the relative paths written (the manifest included).
    """
    check_output_folder(out)
    if out.is_symlink():
        out = out.resolve()  # the folder the user pointed to; links inside are not followed
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        _recover(out)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        aside = None
        try:
            write(staging)
            written = _files(staging)
            (staging / MANIFEST).write_text(manifest_text(staging), encoding="utf-8", newline="\n")
            mode = stat.S_IMODE(out.stat().st_mode) if out.is_dir() else _umask_mode()
            os.chmod(staging, mode)
            try:
                if out.is_dir():
                    _carry_over(out, staging, read_manifest(out) | set(written))
                    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
                    os.rename(out, aside / "previous")
                os.rename(staging, out)
            except PermissionError as err:
                raise OutputError(
                    f"Cannot replace the report in {str(out)!r} ({err.strerror}): on "
                    "Windows a file in it that is open in another program (Excel, Word, "
                    "a PDF viewer) blocks this. Close it and run again."
                ) from None
        finally:
            if aside is not None and not out.exists():  # failed between the renames
                os.rename(aside / "previous", out)
            if staging.exists():
                shutil.rmtree(staging)
            if aside is not None:
                shutil.rmtree(aside)
    return sorted([*written, MANIFEST])
