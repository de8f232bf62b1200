"""Request bodies are bounded (413 in the one error format, before the body is read) and no
upload, however malformed, makes the server answer 500 or stall other requests."""

from __future__ import annotations

import io
import socket
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType

import httpx
import openpyxl
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from routeplanner.io.tables import read_table_bytes
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.web.app import create_app
from tests.browser.conftest import LiveServer
from tests.conftest import add_user, log_in

SMALL = {"max_request_bytes": 10_000, "max_upload_bytes": 100_000}


@pytest.fixture
def small_limits(settings: Settings, store: Store) -> Iterator[TestClient]:
    """A manager's client of an app with small body limits."""
    limited = settings.model_copy(update=SMALL)
    add_user(store, "boss")
    with TestClient(create_app(limited)) as client:
        log_in(client, "boss")
        yield client


def test_an_upload_over_the_limit_gets_413_in_the_error_format(
    small_limits: TestClient, store: Store
) -> None:
    before = store.accounts.all()
    files = {"file": ("big.csv", b"id,name\n" + b"A,b\n" * 50_000, "text/csv")}
    page = small_limits.post("/accounts/import", files=files)
    assert page.status_code == 413
    assert "<h1>Error 413</h1>" in page.text
    assert "100,000 bytes" in page.text
    api = small_limits.post("/accounts/import", files=files, headers={"Accept": "application/json"})
    assert api.status_code == 413
    assert api.json() == {
        "error": "request body larger than 100,000 bytes",
        "errors": [],
    }
    assert store.accounts.all() == before


def test_a_json_body_over_the_limit_gets_413(small_limits: TestClient) -> None:
    body = b'{"weeks": 1, "padding": "' + b"x" * 20_000 + b'"}'
    response = small_limits.post(
        "/api/v1/plans", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "request body larger than 10,000 bytes"


def test_a_chunked_body_is_counted_as_it_arrives(small_limits: TestClient) -> None:
    """No Content-Length: the limit holds on the bytes actually received."""

    def chunks() -> Iterator[bytes]:
        yield b'{"weeks": 1, "padding": "'
        for _ in range(30):
            yield b"x" * 1000
        yield b'"}'

    response = small_limits.post(
        "/api/v1/plans", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "request body larger than 10,000 bytes"


def test_413_comes_before_the_body_is_sent(settings: Settings, store: Store) -> None:
    """A client declaring 50 MB gets its answer without sending a byte of the body."""
    with (
        LiveServer(settings) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
    ):
        sock.sendall(
            b"POST /accounts/import HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n"
            b"Content-Length: 50000000\r\nAccept: application/json\r\n\r\n"
        )
        answer = b""
        while chunk := sock.recv(65536):  # the server closes: the body it did not read
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"error":"request body larger than' in answer


def test_a_huge_single_line_csv_is_a_422_naming_file_and_row(client: TestClient) -> None:
    """Python's csv refuses fields over 128 KB; that is an import problem, not a 500."""
    data = b"id,name,lat,lon,frequency\nA9," + b"x" * 300_000 + b",49.4,8.7,weekly\n"
    response = client.post("/accounts/import", files={"file": ("long.csv", data, "text/csv")})
    assert response.status_code == 422
    assert "long.csv:2:" in response.text


def _xlsx(rows: int) -> bytes:
    book = openpyxl.Workbook(write_only=True)  # streams rows: the same file, made faster
    sheet = book.create_sheet()
    sheet.append(["id", "name", "lat", "lon", "frequency", "visit_minutes"])
    for i in range(rows):
        sheet.append([f"X{i}", f"Konto {i}", 49.41, 8.69, "weekly", "notaminute"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _parsing() -> bool:
    """Is a thread of this process reading an uploaded table right now?"""
    reader = read_table_bytes.__code__
    for frame in sys._current_frames().values():
        caller: FrameType | None = frame
        while caller is not None:
            if caller.f_code is reader:
                return True
            caller = caller.f_back
    return False


def test_parsing_an_upload_does_not_stall_other_requests(settings: Settings, store: Store) -> None:
    """While a large workbook is being parsed, the health check still answers at once."""
    add_user(store, "boss")
    data = _xlsx(15_000)  # about a second of parsing: the health check is sent meanwhile
    shared = settings.model_copy(update={"secret_key": "one key for both apps"})
    finished: dict[str, float] = {}
    with LiveServer(shared) as server, TestClient(create_app(shared)) as login:
        log_in(login, "boss")
        cookie = login.cookies.get("rp_session")
        token = login.headers["X-CSRF-Token"]

        def upload() -> None:
            httpx.post(
                f"{server.url}/accounts/import",
                files={"file": ("big.xlsx", data)},
                headers={"X-CSRF-Token": token},
                cookies={"rp_session": cookie or ""},
                timeout=120,
            )
            finished["upload"] = time.monotonic()

        worker = threading.Thread(target=upload)
        worker.start()
        while not _parsing():  # the server runs in this process: wait until it parses
            assert worker.is_alive(), "the upload was answered before its parsing was seen"
            time.sleep(0.001)
        health = httpx.get(f"{server.url}/api/health", timeout=120)
        finished["health"] = time.monotonic()
        worker.join(timeout=120)
    assert health.status_code == 200
    assert finished["health"] < finished["upload"]


UPLOADS = [
    ("/accounts/import", "file"),
    ("/rules/upload", "file"),
    ("/rules/upload", "areas"),
]


@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    target=st.sampled_from(UPLOADS),
    body=st.one_of(
        st.binary(max_size=2000),
        st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.integers(1, 5000).map(lambda n: b"[" * n),
        st.integers(1, 3000).map(lambda n: b'id,name\n"' + b"a" * n),
        st.just(b"PK\x03\x04" + b"\x00" * 100),
    ),
)
def test_no_upload_yields_a_500(client: TestClient, target: tuple[str, str], body: bytes) -> None:
    path, field = target
    files = {field: ("upload.bin", body, "application/octet-stream")}
    if field == "areas":
        files["file"] = ("rules.json", b'{"rules": []}', "application/json")
    response = client.post(path, files=files)
    assert response.status_code < 500, response.text[:500]


def test_json_nested_too_deep_is_not_a_500(client: TestClient) -> None:
    deep = b"[" * 50_000 + b"]" * 50_000
    response = client.put(
        "/api/v1/rules", content=deep[:9000], headers={"Content-Type": "application/json"}
    )
    assert response.status_code < 500
    files = {"file": ("rules.json", b'{"rules": ' + b"[" * 5000, "application/json")}
    assert client.post("/rules/upload", files=files).status_code == 422
