"""evaluate runs on Windows: no POSIX-only module at import, a lock that works with
``msvcrt``, explicit encodings and newlines, and the Windows failures (no hard
links, files open in Excel, no right to make links) as clear errors.

There is no Windows CI; these tests run Windows' code paths here with Windows'
rules emulated (``msvcrt.locking`` by ``flock``, "an open file cannot be
removed"), and scan the source for text I/O that would use the system encoding.
"""

from __future__ import annotations

import ast
import errno
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import evaluate.report.output as output
from evaluate.cli import _say
from evaluate.errors import OutputError
from evaluate.report.output import MANIFEST, publish, read_manifest
from evaluate.spec import load_spec
from evaluate.starter import new_spec

ROOT = Path(__file__).parents[2]

POSIX_ONLY = ("fcntl", "resource", "pwd", "grp", "termios", "tty")


# --- the lock's Windows branch ------------------------------------------------------
@pytest.fixture
def windows(monkeypatch):
    """output's Windows branch on this system: ``msvcrt.locking`` emulated with flock
    (both refuse a lock to every other open file), ``fcntl`` unavailable, and Windows'
    rule that a file open anywhere cannot be removed.  Returns the call log."""
    fcntl = pytest.importorskip("fcntl")
    log: list[tuple] = []
    open_files: dict[int, tuple[int, int]] = {}

    def locking(fd: int, mode: int, nbytes: int) -> None:
        log.append(("locking", mode, os.lseek(fd, 0, os.SEEK_CUR), nbytes))
        if mode == msvcrt.LK_NBLCK:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OSError(errno.EACCES, "Permission denied") from None
        elif mode == msvcrt.LK_UNLCK:
            fcntl.flock(fd, fcntl.LOCK_UN)

    msvcrt = SimpleNamespace(LK_UNLCK=0, LK_LOCK=1, LK_NBLCK=2, LK_RLCK=3, LK_NBRLCK=4)
    msvcrt.locking = locking
    real_open, real_close, real_unlink = os.open, os.close, os.unlink

    def fake_open(path, flags, mode=0o777, *, dir_fd=None):  # noqa: ANN001, ANN202
        fd = real_open(path, flags, mode, dir_fd=dir_fd)
        found = os.fstat(fd)
        open_files[fd] = (found.st_dev, found.st_ino)
        return fd

    def fake_close(fd: int) -> None:
        log.append(("close", fd))
        open_files.pop(fd, None)
        real_close(fd)

    def fake_unlink(path, *, dir_fd=None) -> None:  # noqa: ANN001
        found = os.stat(path)  # FileNotFoundError as unlink gives it
        if (found.st_dev, found.st_ino) in open_files.values():
            raise PermissionError(errno.EACCES, "being used by another process", str(path))
        real_unlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(output, "_WINDOWS", True)
    monkeypatch.setitem(sys.modules, "msvcrt", msvcrt)
    monkeypatch.setitem(sys.modules, "fcntl", None)
    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "close", fake_close)
    monkeypatch.setattr(os, "unlink", fake_unlink)
    return log


def test_windows_lock_refuses_a_second_run_and_is_removed_after(tmp_path, windows):
    out, lock = tmp_path / "out", tmp_path / ".out.lock"
    with output._locked(out):
        assert lock.is_file()
        for _ in range(2):  # a refused run removes nothing and leaves the lock held
            with pytest.raises(OutputError, match="Another run is writing"), output._locked(out):
                pass
            assert lock.is_file()
    assert not lock.exists(), "removed after its descriptor was closed"
    locks = [entry for entry in windows if entry[0] == "locking"]
    assert {(position, nbytes) for _, _, position, nbytes in locks} == {(0, 1)}
    assert [kind for kind, *_ in windows[-2:]] == ["locking", "close"]
    assert windows[-2][1] == 0, "unlocked (LK_UNLCK) before it was closed"
    with output._locked(out):  # and the next run takes it
        pass
    assert not lock.exists()


def test_windows_lock_file_stays_while_another_run_has_it_open(tmp_path, windows):
    out, lock = tmp_path / "out", tmp_path / ".out.lock"
    with output._locked(out):
        other = os.open(lock, os.O_RDWR)  # a second run between its open and its lock
    assert lock.is_file(), "it could not be removed: no error, the file stays"
    os.close(other)
    with output._locked(out):
        pass
    assert not lock.exists()


_RUN_WITHOUT_POSIX = textwrap.dedent(
    """
    import errno, os, sys
    import subprocess  # before the fake msvcrt below, which would make it think it is on Windows
    for name in {blocked!r}:
        sys.modules[name] = None  # as on Windows: importing it fails
    held = set()

    def locking(fd, mode, nbytes):  # msvcrt.locking, within this one process
        key = os.fstat(fd).st_ino
        if mode == 2 and key in held:
            raise OSError(errno.EACCES, "Permission denied")
        (held.add if mode == 2 else held.discard)(key)

    class msvcrt:
        LK_UNLCK, LK_NBLCK = 0, 2
        locking = staticmethod(locking)

    sys.modules["msvcrt"] = msvcrt
    import evaluate.cli
    import evaluate.report.output as output
    from evaluate.errors import OutputError
    from evaluate.study import run_study

    output._WINDOWS = True
    out = sys.argv[2]
    run_study(sys.argv[1], out)
    from pathlib import Path
    with output._locked(Path(out).absolute()):
        try:
            with output._locked(Path(out).absolute()):
                print("not refused")
        except OutputError:
            print("refused")
    print("done")
    """
)


def test_a_report_is_written_without_fcntl_and_other_posix_modules(tmp_path):
    spec = tmp_path / "study.toml"
    spec.write_text(
        '[study]\ntitle = "Ærø"\n\n[[effect]]\nname = "stated"\n'
        'design = "stated_expectation"\nobserved_change = -0.08\nexpected_change = 0.18\n\n'
        '[report]\nformats = ["html", "md", "xlsx", "docx"]\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    code = _RUN_WITHOUT_POSIX.format(blocked=POSIX_ONLY)
    done = subprocess.run(
        [sys.executable, "-c", code, str(spec), str(out)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["refused", "done"]
    assert {"report.html", "report.md", "report.xlsx", "report.docx"} <= read_manifest(out)
    assert "Ærø" in (out / "report.md").read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".out.*")), "no lock file or staging folder left"


# --- publishing where Windows (or a USB stick) says no ---------------------------
def _write(text: str):  # noqa: ANN202
    def write(staging: Path) -> None:
        (staging / "report.md").write_text(text, encoding="utf-8", newline="\n")

    return write


def test_users_files_are_copied_where_hard_links_fail(tmp_path, monkeypatch):
    out = tmp_path / "out"
    publish(out, _write("# first\n"))
    (out / "notes.txt").write_bytes(b"mine")

    def no_links(*_args, **_kwargs) -> None:  # FAT/exFAT, some network shares
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    publish(out, _write("# second\n"))
    assert (out / "notes.txt").read_bytes() == b"mine"
    assert (out / "report.md").read_bytes() == b"# second\n"
    assert read_manifest(out) == {"report.md"}


def test_a_report_file_open_in_excel_is_a_clear_error(tmp_path, monkeypatch):
    out = tmp_path / "out"
    publish(out, _write("# first\n"))
    rename = os.rename

    def refuse_busy(src, dst) -> None:  # noqa: ANN001 - Windows: a file inside is open
        if Path(src) == out.absolute():
            raise PermissionError(errno.EACCES, "Access is denied", str(src))
        rename(src, dst)

    monkeypatch.setattr(os, "rename", refuse_busy)
    with pytest.raises(OutputError, match="open in another program"):
        publish(out, _write("# second\n"))
    assert (out / "report.md").read_bytes() == b"# first\n"
    assert (out / MANIFEST).is_file()
    assert not list(tmp_path.glob(".out.*"))


def test_a_link_that_cannot_be_made_again_is_a_clear_error(tmp_path, monkeypatch):
    out = tmp_path / "out"
    publish(out, _write("# first\n"))
    (out / "data").symlink_to(tmp_path)

    def no_privilege(*_args, **_kwargs) -> None:  # Windows without Developer Mode
        raise OSError(errno.EPERM, "A required privilege is not held by the client")

    monkeypatch.setattr(os, "symlink", no_privilege)
    with pytest.raises(OutputError, match="link the report cannot carry over"):
        publish(out, _write("# second\n"))
    assert (out / "report.md").read_bytes() == b"# first\n" and (out / "data").is_symlink()


def test_a_junction_inside_out_is_refused(tmp_path, monkeypatch):
    out = tmp_path / "out"
    publish(out, _write("# first\n"))
    (out / "elsewhere").mkdir()
    monkeypatch.setattr(os.path, "isjunction", lambda p: Path(p).name == "elsewhere", raising=False)
    with pytest.raises(OutputError, match="is a junction inside --out"):
        publish(out, _write("# second\n"))
    assert (out / "report.md").read_bytes() == b"# first\n"


# --- text: encodings, byte-order marks, drives, consoles --------------------------
def test_a_spec_saved_with_a_byte_order_mark_loads(tmp_path):
    spec = tmp_path / "study.toml"
    text = '[study]\ntitle = "Håndholdt indsats"\n\n[[effect]]\nname = "x"\n'
    text += 'design = "stated_expectation"\nobserved_change = -0.08\nexpected_change = 0.18\n'
    spec.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))  # Notepad
    assert load_spec(spec).study.title == "Håndholdt indsats"


def test_new_spec_for_data_on_another_drive(tmp_path, monkeypatch):
    data = tmp_path / "series.csv"
    pd.DataFrame(
        {"month": [f"2019-{m:02d}" for m in range(1, 13)], "recipients": np.arange(12.0)}
    ).to_csv(data, index=False)

    def other_drive(path, start=None) -> str:  # noqa: ANN001 - what ntpath.relpath raises
        raise ValueError("path is on mount 'D:', start on mount 'C:'")

    monkeypatch.setattr(os.path, "relpath", other_drive)
    text = new_spec(data, spec_dir=tmp_path / "studies")
    expected = f"path = {data.resolve().as_posix()!r}".replace("'", '"')
    assert expected in text and "outside the spec's folder" in text


def test_terminal_text_survives_a_cp1252_stream():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="cp1252", newline="\n")  # a redirected console
    _say("effekt −8 fuldtidspersoner (≥ 5) i Ærø", file=stream)
    stream.flush()
    assert raw.getvalue().decode("cp1252") == "effekt ?8 fuldtidspersoner (? 5) i Ærø\n"


_TEMP_FILES = ("NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile")


def text_io_problems(source: str, name: str = "<source>") -> list[str]:
    """Text I/O in ``source`` that depends on the system: a text open, read or write
    without ``encoding`` (cp1252 on Windows), a text write without ``newline`` or a
    ``to_csv`` without ``lineterminator`` (CRLF on Windows), a subprocess in text mode
    without ``encoding``."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
        keywords = {k.arg for k in node.keywords}
        where = f"{name}:{node.lineno}"
        if called in ("open", "read_text", "write_text", *_TEMP_FILES) and owner != "os":
            mode = _mode(node, called)
            if mode is not None and "b" in mode:
                continue
            if "encoding" not in keywords:
                problems.append(f"{where}: {called}() without encoding=")
            if (mode is None or set(mode) & set("wax+")) and "newline" not in keywords:
                problems.append(f"{where}: {called}() writes text without newline=")
        elif called == "to_csv" and "lineterminator" not in keywords:
            problems.append(f"{where}: to_csv() without lineterminator=")
        elif called in ("run", "Popen", "check_output") and owner == "subprocess":
            text = keywords & {"text", "universal_newlines"}
            if text and "encoding" not in keywords:
                problems.append(f"{where}: subprocess in text mode without encoding=")
    return problems


def _mode(node: ast.Call, called: str) -> str | None:
    """The mode of an open-like call (its default when left out), None if not a literal."""
    if called in ("read_text", "write_text"):
        return called[0]
    modes = [k.value for k in node.keywords if k.arg == "mode"]
    position = 1 if called == "open" and isinstance(node.func, ast.Name) else 0
    if not modes and len(node.args) > position:
        modes = [node.args[position]]
    if not modes:
        return "w+b" if called in _TEMP_FILES else "r"
    return modes[0].value if isinstance(modes[0], ast.Constant) else None


def test_the_scan_finds_what_it_looks_for():
    bad = textwrap.dedent(
        """
        open(p)
        open(p, "w", encoding="utf-8")
        path.read_text()
        path.write_text(t, encoding="utf-8")
        path.open("w")
        frame.to_csv(p)
        tempfile.NamedTemporaryFile("w")
        subprocess.run(cmd, text=True)
        """
    )
    assert len(text_io_problems(bad)) == 10, text_io_problems(bad)
    good = textwrap.dedent(
        """
        open(p, "rb")
        path.open("rb")
        os.open(p, flags)
        path.read_text(encoding="utf-8")
        path.write_text(t, encoding="utf-8", newline="\\n")
        open(p, "w", encoding="utf-8", newline="\\n")
        frame.to_csv(p, lineterminator="\\n")
        tempfile.NamedTemporaryFile()
        subprocess.run(cmd)
        """
    )
    assert text_io_problems(good) == []


def test_every_text_read_and_write_names_its_encoding_and_newline():
    problems = []
    for folder in ("evaluate", "studies", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            problems += text_io_problems(path.read_text(encoding="utf-8"), rel)
    assert problems == []
