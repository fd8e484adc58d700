"""`python -m training download`: cached, resumable, atomic and validated, against a local server."""

from __future__ import annotations

import http.server
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from training import download
from training.__main__ import main


@dataclass
class Mirror:
    """A tiny bucket served over HTTP, with switches for misbehaving."""

    root: Path
    url: str = ""
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    break_once: set[str] = field(default_factory=set)  # Paths whose next answer stops halfway.
    honour_range: bool = True


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves the mirror's files, honouring Range requests like Google's bucket does."""

    mirror: Mirror

    def do_GET(self) -> None:  # noqa: N802 (the http.server naming)
        mirror = self.server.mirror
        range_header = self.headers.get("Range")
        mirror.requests.append((self.path, range_header))
        path = mirror.root / urllib.parse.unquote(self.path.lstrip("/"))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        if range_header and mirror.honour_range:
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in mirror.break_once:
            mirror.break_once.discard(self.path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)  # The connection drops mid-file.
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""


def bitmap_rows(count: int, seed: int) -> np.ndarray:
    """A numpy_bitmap-shaped array of random pixels (the download never looks at them)."""
    return np.random.default_rng(seed).integers(0, 256, size=(count, 784), dtype=np.uint8)


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    """Files laid out like the bucket: two good bitmap files (one with spaces), a corrupt one, strokes."""
    root = tmp_path / "bucket"
    (root / "numpy_bitmap").mkdir(parents=True)
    (root / "simplified").mkdir()
    np.save(root / "numpy_bitmap" / "bowtie.npy", bitmap_rows(3000, 0))  # About 2 MB: several chunks.
    np.save(root / "numpy_bitmap" / "The Eiffel Tower.npy", bitmap_rows(5, 1))
    (root / "numpy_bitmap" / "purse.npy").write_bytes(b"\x93NUMPY this is not a real header")
    np.save(root / "numpy_bitmap" / "lipstick.npy", bitmap_rows(4, 2).astype(np.float32))
    (root / "simplified" / "bowtie.ndjson").write_text('{"word": "bowtie", "drawing": [[[0, 9], [0, 9]]]}\n')
    return root


@pytest.fixture
def server(bucket: Path) -> Iterator[Mirror]:
    """The bucket served on a free local port for the duration of a test."""
    mirror = Mirror(root=bucket)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MirrorHandler)
    httpd.mirror = mirror
    mirror.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield mirror
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def no_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries happen at once in tests."""
    monkeypatch.setattr(download, "RETRY_DELAY_SECONDS", 0.0)


def test_downloads_validates_and_then_uses_the_cache(server: Mirror, bucket: Path, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    messages: list[str] = []
    counts = download.download(server.url, ["bowtie", "The Eiffel Tower"], raw,
                               formats=("numpy_bitmap", "simplified"), log=messages.append)
    assert counts["numpy_bitmap"] == {"bowtie": 3000, "The Eiffel Tower": 5}
    assert (raw / "numpy_bitmap" / "bowtie.npy").read_bytes() == (bucket / "numpy_bitmap" / "bowtie.npy").read_bytes()
    assert (raw / "numpy_bitmap" / "The Eiffel Tower.npy").is_file()
    assert ("/numpy_bitmap/The%20Eiffel%20Tower.npy", None) in server.requests
    assert any("The Eiffel Tower" in message and "optional" in message for message in messages)
    assert not list(raw.rglob("*.part"))

    server.requests.clear()
    messages.clear()
    download.download(server.url, ["bowtie"], raw, log=messages.append)
    assert server.requests == []
    assert messages == [f"{raw / 'numpy_bitmap' / 'bowtie.npy'}: 3000 drawings (cached)"]


def test_an_interrupted_download_resumes_with_a_range_request(server: Mirror, bucket: Path, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    server.break_once.add("/numpy_bitmap/bowtie.npy")
    with pytest.raises(download.DownloadError, match="run the command again to resume"):
        download.download(server.url, ["bowtie"], raw, retries=0, log=lambda message: None)
    final = raw / "numpy_bitmap" / "bowtie.npy"
    part = raw / "numpy_bitmap" / "bowtie.npy.part"
    original = (bucket / "numpy_bitmap" / "bowtie.npy").read_bytes()
    assert not final.exists()
    assert 0 < part.stat().st_size < len(original)

    download.download(server.url, ["bowtie"], raw, retries=0, log=lambda message: None)
    assert server.requests[-1] == ("/numpy_bitmap/bowtie.npy", f"bytes={len(original) // 2}-")
    assert final.read_bytes() == original
    assert not part.exists()


def test_retries_resume_within_one_run(server: Mirror, bucket: Path, tmp_path: Path) -> None:
    server.break_once.add("/numpy_bitmap/bowtie.npy")
    download.download(server.url, ["bowtie"], tmp_path, retries=1, log=lambda message: None)
    assert [header for _, header in server.requests] == [None, f"bytes={(bucket / 'numpy_bitmap' / 'bowtie.npy').stat().st_size // 2}-"]
    assert (tmp_path / "numpy_bitmap" / "bowtie.npy").read_bytes() == (bucket / "numpy_bitmap" / "bowtie.npy").read_bytes()


def test_a_server_that_ignores_range_restarts_the_file(server: Mirror, bucket: Path, tmp_path: Path) -> None:
    server.honour_range = False
    part = tmp_path / "numpy_bitmap" / "bowtie.npy.part"
    part.parent.mkdir()
    part.write_bytes(b"stale bytes that are not the start of the file")
    download.download(server.url, ["bowtie"], tmp_path, log=lambda message: None)
    assert server.requests[0][1] is not None  # It asked to resume, and got the whole file (200).
    assert (tmp_path / "numpy_bitmap" / "bowtie.npy").read_bytes() == (bucket / "numpy_bitmap" / "bowtie.npy").read_bytes()


@pytest.mark.parametrize(("category", "message"), [
    ("purse", "corrupt file from the source: purse.npy is not a valid .npy file"),
    ("lipstick", "corrupt file from the source: lipstick.npy is not a Quick Draw numpy_bitmap file"),
])
def test_a_corrupt_file_is_refused_and_nothing_is_saved(
    server: Mirror, tmp_path: Path, category: str, message: str
) -> None:
    with pytest.raises(download.DownloadError, match=message):
        download.download(server.url, [category], tmp_path, log=lambda message: None)
    assert list((tmp_path / "numpy_bitmap").iterdir()) == []


def test_a_truncated_cached_file_is_fetched_again(server: Mirror, bucket: Path, tmp_path: Path) -> None:
    final = tmp_path / "numpy_bitmap" / "bowtie.npy"
    final.parent.mkdir()
    final.write_bytes((bucket / "numpy_bitmap" / "bowtie.npy").read_bytes()[:1000])
    download.download(server.url, ["bowtie"], tmp_path, log=lambda message: None)
    assert final.read_bytes() == (bucket / "numpy_bitmap" / "bowtie.npy").read_bytes()


def run_cli(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    """Run ``python -m training`` in-process; return the exit status and stderr."""
    status = main(list(arguments))
    return status, capsys.readouterr().err


@pytest.mark.parametrize(("categories", "expected"), [
    (["sock"], "'sock' is not at the source (HTTP 404 for "),  # A real category the mirror lacks.
    (["bowtei"], "unknown Quick Draw category 'bowtei'; did you mean 'bowtie'?"),
])
def test_missing_and_unknown_categories_get_one_clear_message(
    server: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str], categories: list[str], expected: str
) -> None:
    status, stderr = run_cli(capsys, "download", "--source", server.url, "--raw-dir", str(tmp_path),
                             "--categories", *categories)
    assert status == 1
    assert stderr.startswith("error: ")
    assert expected in stderr
    assert "Traceback" not in stderr


def test_an_unreachable_source_gets_one_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # A port that was free a moment ago: nothing listens there.
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    status, stderr = run_cli(capsys, "download", "--source", f"http://127.0.0.1:{port}", "--raw-dir", str(tmp_path))
    assert status == 1
    assert "cannot reach the Quick Draw source" in stderr
    assert "Traceback" not in stderr
    assert not list(tmp_path.rglob("*.npy"))


def test_a_local_folder_works_as_the_source(bucket: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "raw"
    status, _ = run_cli(capsys, "download", "--source", str(bucket), "--raw-dir", str(raw),
                        "--categories", "bowtie", "The Eiffel Tower", "--formats", "numpy_bitmap", "simplified")
    assert status == 0
    assert (raw / "numpy_bitmap" / "bowtie.npy").read_bytes() == (bucket / "numpy_bitmap" / "bowtie.npy").read_bytes()
    assert (raw / "simplified" / "bowtie.ndjson").is_file()
    assert not (raw / "simplified" / "The Eiffel Tower.ndjson").exists()

    status, stderr = run_cli(capsys, "download", "--source", str(bucket), "--raw-dir", str(raw), "--categories", "purse")
    assert status == 1
    assert "corrupt file from the source" in stderr
    assert not (raw / "numpy_bitmap" / "purse.npy").exists()


def test_the_source_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUICKDRAW_SOURCE", "/somewhere/quickdraw")
    assert download.default_source() == "/somewhere/quickdraw"
    monkeypatch.delenv("QUICKDRAW_SOURCE")
    assert download.default_source() == "https://storage.googleapis.com/quickdraw_dataset/full"


def test_simplified_files_are_validated_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "sock.ndjson"
    path.write_text('{"word": "sock", "drawing": [[[0, 1], [0, 1]]]}\n{"word": "sock", "drawi')
    with pytest.raises(download.DownloadError, match="line 2 is not JSON"):
        download.validate(path, "simplified")
