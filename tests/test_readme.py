"""The README's Python example runs as written (the report goes to a temp folder)."""

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_readme_example_runs(tmp_path, monkeypatch):
    code = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)[0]
    monkeypatch.chdir(README.parent)
    code = code.replace('"reports/faxe_fleksjob"', repr(str(tmp_path)))
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    assert namespace["case"].net_gain > 0
    assert (tmp_path / "report.html").is_file()
