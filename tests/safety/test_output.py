"""Issue 16, item 6: reports appear whole or not at all, with a manifest, under a lock."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from evaluate.errors import OutputError
from evaluate.report.output import MANIFEST, _locked, manifest_text, read_manifest
from evaluate.study import run_study

ROOT = Path(__file__).parents[2]

SPEC = """
[study]
title = "{title}"

[[effect]]
name = "{name}"
design = "stated_expectation"
observed_change = -0.08
expected_change = 0.18
"""


def _spec(folder: Path, *, title: str = "First", name: str = "stated") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(SPEC.format(title=title, name=name), encoding="utf-8")
    return path


def _complete(out: Path) -> bool:
    """True if ``out`` holds exactly the files its manifest lists, with those hashes."""
    manifest = (out / MANIFEST).read_text(encoding="utf-8")
    return manifest == manifest_text(out)


def test_the_manifest_lists_every_file_and_is_reproducible(tmp_path):
    spec = _spec(tmp_path)
    run_study(spec, tmp_path / "a")
    run_study(spec, tmp_path / "b")
    first = (tmp_path / "a" / MANIFEST).read_bytes()
    assert first == (tmp_path / "b" / MANIFEST).read_bytes()
    listed = read_manifest(tmp_path / "a")
    assert {"report.html", "report.md", "report.xlsx", "figures/effect-stated.png"} <= listed
    assert _complete(tmp_path / "a")
    assert not list(tmp_path.glob(".a.*")), "no staging folder or lock is left behind"


def test_stale_report_files_go_but_the_users_files_stay(tmp_path):
    out = tmp_path / "out"
    run_study(_spec(tmp_path, name="old_effect"), out)
    assert (out / "figures" / "effect-old-effect.png").exists()
    (out / "notes.txt").write_text("mine")
    (out / "figures" / "my-sketch.png").write_bytes(b"mine too")
    (out / "empty").mkdir()
    inode = (out / "notes.txt").stat().st_ino
    run_study(_spec(tmp_path, name="new_effect"), out)
    assert not (out / "figures" / "effect-old-effect.png").exists()  # listed before, not now
    assert (out / "figures" / "effect-new-effect.png").exists()
    assert (out / "notes.txt").read_text() == "mine" and (out / "notes.txt").stat().st_ino == inode
    assert (out / "figures" / "my-sketch.png").read_bytes() == b"mine too"
    assert (out / "empty").is_dir()
    assert _complete_except(out, {"notes.txt", "figures/my-sketch.png"})


def _complete_except(out: Path, users: set[str]) -> bool:
    listed = read_manifest(out)
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    return files - {MANIFEST} == listed | users and not (listed & users)


def test_files_of_a_folder_without_manifest_are_never_removed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "figures").mkdir()
    (out / "figures" / "effect-other.png").write_bytes(b"not ours")
    run_study(_spec(tmp_path), out)
    assert (out / "figures" / "effect-other.png").read_bytes() == b"not ours"


def test_symlinks_inside_out_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.html").write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").symlink_to(outside / "precious.html")
    (out / "link-to-outside").symlink_to(outside)
    run_study(_spec(tmp_path), out)
    assert (outside / "precious.html").read_text() == "precious"
    assert sorted(p.name for p in outside.iterdir()) == ["precious.html"]
    assert not (out / "report.html").is_symlink() and (out / "report.html").is_file()
    assert (out / "link-to-outside").is_symlink()  # the user's link is kept, as a link


def test_a_second_concurrent_run_fails_clearly(tmp_path):
    out = tmp_path / "out"
    with _locked(out.absolute()), pytest.raises(OutputError, match="Another run is writing"):
        run_study(_spec(tmp_path), out)
    run_study(_spec(tmp_path), out)  # the lock is released with its holder
    assert _complete(out)


_KILLABLE = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import evaluate.report.output as output
    {patch}
    from evaluate.study import run_study
    run_study(sys.argv[1], sys.argv[2])
    """
)

_HANG_IN_EXCEL = """
import evaluate.report.excel as excel
def write_excel(result, path):
    Path(path).write_bytes(b"PK half a workbook")
    Path(sys.argv[3]).touch()
    time.sleep(60)
excel.write_excel = write_excel
"""

_HANG_BETWEEN_RENAMES = """
rename = os.rename
def slow_rename(src, dst):
    rename(src, dst)
    if Path(dst).name == "previous":
        Path(sys.argv[3]).touch()
        time.sleep(60)
output.os.rename = slow_rename
"""


def _run_and_kill(tmp_path: Path, spec: Path, out: Path, patch: str) -> None:
    signal_file = tmp_path / "reached"
    signal_file.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    code = _KILLABLE.format(patch=textwrap.indent(patch, "").strip())
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(spec), str(out), str(signal_file)], env=env, cwd=ROOT
    )
    try:
        for _ in range(600):
            if signal_file.exists() or process.poll() is not None:
                break
            time.sleep(0.1)
        assert signal_file.exists(), "the run never reached the point to kill it at"
        process.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
    finally:
        process.wait()


def test_a_run_killed_while_writing_leaves_the_previous_report(tmp_path):
    out = tmp_path / "out"
    run_study(_spec(tmp_path, title="Previous"), out)
    before = (out / MANIFEST).read_bytes()
    _run_and_kill(tmp_path, _spec(tmp_path, title="Next"), out, _HANG_IN_EXCEL)
    assert (out / MANIFEST).read_bytes() == before and _complete(out)
    assert "Previous" in (out / "report.md").read_text(encoding="utf-8")
    run_study(_spec(tmp_path, title="Next"), out)  # the next run cleans up and succeeds
    assert _complete(out) and not list(tmp_path.glob(".out.*"))


def test_a_first_run_killed_while_writing_leaves_no_report(tmp_path):
    out = tmp_path / "out"
    _run_and_kill(tmp_path, _spec(tmp_path), out, _HANG_IN_EXCEL)
    assert not out.exists()


def test_a_run_killed_between_the_renames_leaves_none_then_recovers(tmp_path):
    out = tmp_path / "out"
    run_study(_spec(tmp_path, title="Previous"), out)
    (out / "notes.txt").write_text("mine")
    _run_and_kill(tmp_path, _spec(tmp_path, title="Next"), out, _HANG_BETWEEN_RENAMES)
    assert not out.exists()  # none, never a mix
    run_study(_spec(tmp_path, title="Next"), out)
    assert _complete_except(out, {"notes.txt"})
    assert (out / "notes.txt").read_text() == "mine"
    assert "Next" in (out / "report.md").read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".out.*"))


def test_out_pointing_at_a_file_fails_before_fitting(tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        run_study(_spec(tmp_path), tmp_path / "out")
