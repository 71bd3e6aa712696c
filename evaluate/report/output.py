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

A lock file beside ``out`` (``.<name>.lock``, held with ``flock``, so a killed
run releases it) makes a second run into the same folder fail with an
:class:`~evaluate.errors.OutputError` instead of mixing two reports.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
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
@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    lock = out.parent / f".{out.name}.lock"
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise OutputError(
                f"Another run is writing a report to {str(out)!r} (lock {str(lock)!r}). "
                "Wait for it to finish, or write to another --out folder."
            ) from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the file was removed by the run that held it: lock the new one
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)


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
                os.symlink(os.readlink(source), target)
            else:
                try:
                    os.link(source, target)
                except OSError:
                    shutil.copy2(source, target)
        dirs[:] = [d for d in dirs if not Path(root, d).is_symlink()]
    for root, dirs, _names in os.walk(old):
        for d in dirs:  # the user's empty folders stay too
            path = Path(root, d)
            if not path.is_symlink() and not any(path.iterdir()):
                (new / path.relative_to(old)).mkdir(parents=True, exist_ok=True)


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
            (staging / MANIFEST).write_text(manifest_text(staging), encoding="utf-8")
            mode = stat.S_IMODE(out.stat().st_mode) if out.is_dir() else _umask_mode()
            os.chmod(staging, mode)
            if out.is_dir():
                _carry_over(out, staging, read_manifest(out) | set(written))
                aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
                os.rename(out, aside / "previous")
            os.rename(staging, out)
        finally:
            if aside is not None and not out.exists():  # failed between the renames
                os.rename(aside / "previous", out)
            if staging.exists():
                shutil.rmtree(staging)
            if aside is not None:
                shutil.rmtree(aside)
    return sorted([*written, MANIFEST])
