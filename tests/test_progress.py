"""evaluate.progress: a bar for a person, silence in CI and in logs."""

import io

import pytest

from evaluate.progress import progress, progress_enabled


class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        if self.closed:  # as a real closed stream does
            raise ValueError("I/O operation on closed file")
        return self._tty


def _stderr(monkeypatch, *, tty: bool, ci: str | None = None) -> _Stream:
    """Replace stderr inside the test body: pytest's capture re-installs its own
    sys.stderr between fixture setup and the test call, so a fixture cannot."""
    stream = _Stream(tty=tty)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    monkeypatch.setattr("sys.stderr", stream)
    return stream


def test_items_pass_through_unchanged_and_in_order(monkeypatch):
    _stderr(monkeypatch, tty=True)
    items = ["a", "b", "c"]
    assert list(progress(items, enabled=False)) == items
    assert list(progress(items, enabled=True)) == items
    assert list(progress((x for x in items), desc="gen")) == items  # no len()


def test_bar_is_drawn_on_a_terminal(monkeypatch):
    terminal = _stderr(monkeypatch, tty=True)
    assert progress_enabled() is True
    assert sum(progress(range(50), desc="bootstrap")) == sum(range(50))
    drawn = terminal.getvalue()
    assert "bootstrap" in drawn and "/50" in drawn  # total taken from len()


def test_total_for_a_generator(monkeypatch):
    terminal = _stderr(monkeypatch, tty=True)
    list(progress((i for i in range(7)), total=7, desc="draws"))
    assert "/7" in terminal.getvalue()


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_silent_in_ci(monkeypatch, value):
    terminal = _stderr(monkeypatch, tty=True, ci=value)
    assert progress_enabled() is False
    assert list(progress(range(5), desc="placebo")) == list(range(5))
    assert terminal.getvalue() == ""


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_ci_switched_off_by_value(monkeypatch, value):
    _stderr(monkeypatch, tty=True, ci=value)
    assert progress_enabled() is True


def test_silent_when_stderr_is_not_a_terminal(monkeypatch):
    stream = _stderr(monkeypatch, tty=False)
    assert progress_enabled() is False
    list(progress(range(5), desc="monte carlo"))
    assert stream.getvalue() == ""


def test_enabled_overrides_the_environment(monkeypatch):
    stream = _stderr(monkeypatch, tty=False, ci="true")
    list(progress(range(5), desc="forced", enabled=True))
    assert "forced" in stream.getvalue()
    assert progress_enabled(False) is False


def test_closed_stderr_counts_as_no_terminal(monkeypatch):
    _stderr(monkeypatch, tty=True).close()
    assert progress_enabled() is False
