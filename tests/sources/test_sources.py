"""StatBank and Jobindsats clients against answers served from 127.0.0.1.

The answers in ``recorded/`` are in the APIs' shape (see its README); the server
below plays the API: it routes by path, can answer 429 a given number of times,
and records every request (path, body, headers) so the tests can check what the
clients send, and that a token never leaves the Authorization header.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from evaluate.cli import main
from evaluate.errors import (
    DataError,
    MissingTokenError,
    RateLimitError,
    SourceError,
    SourceHTTPError,
    UnknownTableError,
)
from evaluate.sources import fetch, read_snapshot
from evaluate.sources._http import MAX_WAIT, Http
from evaluate.sources.jobindsats import Jobindsats
from evaluate.sources.statbank import StatBank, parse_jsonstat

RECORDED = Path(__file__).parent / "recorded"
TOKEN = "s3cret-token-value-123"


class _Api:
    """Routes: path -> (status, body bytes, headers); ``busy`` 429s before each answer."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.busy: dict[str, int] = {}
        self.requests: list[dict] = []

    def handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                api.requests.append(
                    {"path": self.path, "body": body, "headers": dict(self.headers)}
                )
                if api.busy.get(self.path, 0) > 0:
                    api.busy[self.path] -= 1
                    self.send_response(429)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status, payload, headers = api.routes.get(
                    self.path, (404, b'{"message": "no such path"}', {})
                )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        return Handler


@pytest.fixture
def api():
    state = _Api()
    server = ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def _statbank_routes(api: _Api) -> None:
    info = (RECORDED / "statbank_tableinfo_kom01.json").read_bytes()
    api.routes["/v1/tableinfo"] = (200, info, {})
    api.routes["/v1/data"] = (200, (RECORDED / "statbank_data_kom01.csv").read_bytes(), {})


def _no_sleep(log: list[float]) -> Http:
    return Http("StatBank", retries=2, backoff=1.0, sleep=log.append)


def test_statbank_fetch_writes_a_snapshot_with_its_sidecar(api, tmp_path):
    _statbank_routes(api)
    sb = StatBank(base_url=f"{api.url}/v1")
    side = fetch("statbank", "KOM01", {"område": "*", "Tid": "2024M01,2024M02"},
                 tmp_path / "s" / "kom01.parquet", client=sb)  # fmt: skip
    meta = json.loads(side.read_text(encoding="utf-8"))
    assert meta["table"] == "KOM01" and meta["provider"].startswith("Danmarks Statistik")
    assert meta["url"] == f"{api.url}/v1/data"
    assert meta["title"] == "Fuldtidspersoner efter område, ydelse og tid"
    # the variable id is spelled as the table spells it, values split on commas
    assert meta["query"]["variables"] == [
        {"code": "OMRÅDE", "values": ["*"]},
        {"code": "Tid", "values": ["2024M01", "2024M02"]},
    ]
    sent = json.loads(api.requests[-1]["body"])
    assert sent["format"] == "CSV" and sent["table"] == "KOM01"
    snap = read_snapshot(tmp_path / "s" / "kom01.parquet")
    assert snap.meta["sha256"] == snap.sha256
    frame = snap.frame
    assert list(frame.columns) == ["OMRÅDE", "YDELSE", "TID", "INDHOLD"]
    # decimal comma parsed, ".." is missing
    assert frame["INDHOLD"].tolist()[:2] == [101.5, 99.0]
    assert frame["INDHOLD"].isna().tolist() == [False, False, True, False]
    assert len(snap.retrieved_date) == 10


def test_jsonstat_is_parsed_like_the_csv():
    frame = parse_jsonstat((RECORDED / "statbank_data_kom01.jsonstat.json").read_bytes())
    csv = pd.read_csv(RECORDED / "statbank_data_kom01.csv", sep=";", encoding="utf-8-sig")
    assert frame["OMRÅDE"].tolist() == ["320", "320", "360", "360"]
    assert frame["Tid"].tolist() == csv["TID"].tolist()
    assert frame["INDHOLD"].tolist()[:2] == [101.5, 99.0]
    labelled = parse_jsonstat(
        (RECORDED / "statbank_data_kom01.jsonstat.json").read_bytes(), labels=True
    )
    assert labelled["OMRÅDE"].tolist()[0] == "Faxe"


def test_unknown_table_and_unknown_variable_are_named(api):
    api.routes["/v1/tableinfo"] = (
        400, (RECORDED / "statbank_error_unknown_table.json").read_bytes(), {}
    )  # fmt: skip
    sb = StatBank(base_url=f"{api.url}/v1")
    with pytest.raises(UnknownTableError, match="NOPE1.*findes ikke"):
        sb.tableinfo("NOPE1")
    _statbank_routes(api)
    with pytest.raises(SourceError, match="no variable 'KOMMUNE'; it has OMRÅDE, YDELSE, Tid"):
        sb.data("KOM01", {"KOMMUNE": "*"})


def test_http_errors_are_typed_with_their_status(api):
    api.routes["/v1/tables"] = (503, b"Service Unavailable", {})
    with pytest.raises(SourceHTTPError, match="HTTP 503") as err:
        StatBank(base_url=f"{api.url}/v1").tables()
    assert err.value.status == 503


def test_429_is_retried_with_backoff_then_answered(api):
    _statbank_routes(api)
    api.busy["/v1/tableinfo"] = 2
    waits: list[float] = []
    info = StatBank(base_url=f"{api.url}/v1", http=_no_sleep(waits)).tableinfo("KOM01")
    assert info["id"] == "KOM01"
    assert waits == [1.0, 2.0]  # backoff doubles; the test never sleeps


def test_429_gives_up_after_the_bounded_retries(api):
    _statbank_routes(api)
    api.busy["/v1/tableinfo"] = 10
    waits: list[float] = []
    with pytest.raises(RateLimitError, match="after 2 retries") as err:
        StatBank(base_url=f"{api.url}/v1", http=_no_sleep(waits)).tableinfo("KOM01")
    assert err.value.status == 429
    assert waits == [1.0, 2.0]
    assert sum(r["path"] == "/v1/tableinfo" for r in api.requests) == 3


def test_retry_after_is_honoured_and_capped():
    http = Http("x", backoff=1.0)
    assert http._wait(1, "5") == 5.0
    assert http._wait(1, "100000") == MAX_WAIT
    assert http._wait(3, "soon") == 4.0


def test_jobindsats_needs_its_token_and_never_writes_it(api, tmp_path, monkeypatch):
    api.routes["/v2/data/y01a02/json"] = (
        200, (RECORDED / "jobindsats_data_y01a02.json").read_bytes(), {}
    )  # fmt: skip
    monkeypatch.delenv("JOBINDSATS_TOKEN", raising=False)
    js = Jobindsats(base_url=f"{api.url}/v2")
    with pytest.raises(MissingTokenError, match="JOBINDSATS_TOKEN"):
        js.data("y01a02", {"area": "*", "period": "2024M01,2024M02"})
    assert api.requests == []  # nothing was sent without a token
    monkeypatch.setenv("JOBINDSATS_TOKEN", TOKEN)
    out = tmp_path / "y01a02.parquet"
    side = fetch("jobindsats", "y01a02", {"area": "*", "period": "2024M01,2024M02"}, out,
                 client=js)  # fmt: skip
    request = api.requests[-1]
    assert request["headers"]["Authorization"] == TOKEN
    assert json.loads(request["body"]) == {"area": "*", "period": ["2024M01", "2024M02"]}
    assert TOKEN not in request["path"]
    for written in (out, side):
        assert TOKEN.encode() not in written.read_bytes()
    assert TOKEN not in repr(js)
    frame = read_snapshot(out).frame
    assert list(frame.columns) == ["Område", "Periode", "Ydelsesgrupper", "Fuldtidspersoner"]
    assert frame["Fuldtidspersoner"].tolist() == [101, 99, 88, 87]


def test_jobindsats_unknown_table_error_hides_the_token(api, monkeypatch):
    monkeypatch.setenv("JOBINDSATS_TOKEN", TOKEN)
    js = Jobindsats(base_url=f"{api.url}/v2")
    with pytest.raises(UnknownTableError, match="no table 'nope'") as err:
        js.data("nope", {"area": "*"})
    assert TOKEN not in str(err.value)


def test_a_changed_snapshot_is_refused(api, tmp_path):
    _statbank_routes(api)
    out = tmp_path / "k.parquet"
    fetch("statbank", "KOM01", {"OMRÅDE": "*"}, out, client=StatBank(base_url=f"{api.url}/v1"))
    pd.DataFrame({"x": [1]}).to_parquet(out)
    with pytest.raises(DataError, match="does not match its sidecar"):
        read_snapshot(out)
    out.with_suffix(".json").unlink()
    with pytest.raises(DataError, match="no sidecar"):
        read_snapshot(out)


def test_the_fetch_command(api, tmp_path, capsys):
    _statbank_routes(api)
    out = tmp_path / "snapshots" / "kom01.parquet"
    code = main(["fetch", "statbank", "KOM01", "OMRÅDE=*", "Tid=*", "--out", str(out),
                 "--base-url", f"{api.url}/v1"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert out.is_file() and out.with_suffix(".json").is_file()
    assert main(["fetch", "statbank", "KOM01", "OMRÅDE", "--out", str(out),
                 "--base-url", f"{api.url}/v1"]) == 2  # fmt: skip
    assert "VARIABLE=VALUES" in capsys.readouterr().err
