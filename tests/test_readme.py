"""The README's Python examples run as written (reports go to a temp folder)."""

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_quickstart_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(README.parent)
    code = _blocks()[0].replace('"reports/faxe_fleksjob"', repr(str(tmp_path)))
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    assert namespace["case"].net_gain > 0
    assert (tmp_path / "report.html").is_file()


def test_readme_did_example_runs():
    namespace: dict = {}
    exec(compile(_blocks()[1], str(README), "exec"), namespace)
    assert abs(namespace["cs"].estimate - -0.0399512752) < 1e-8
