"""Fetch Quick Draw files into the download cache: cached, resumable, atomic, validated.

Usage: ``python -m training download [--source URL_OR_DIR] [--categories ...]
[--raw-dir data/raw] [--formats numpy_bitmap simplified]``

The source is Google's public bucket unless ``--source`` or ``$QUICKDRAW_SOURCE`` names
another URL or a local folder laid out like it (``numpy_bitmap/<category>.npy``,
``simplified/<category>.ndjson``). A file is written to ``<name>.part`` and moved into
place only once it validates, so the cache never holds half a file under its real name;
an interrupted download resumes from the ``.part`` file with an HTTP Range request.
Files already in the cache and valid are not fetched again.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from training import dataset
from training.categories import DEFAULT_CATEGORIES, all_categories, validate_categories
from training.sources import check_numpy_bitmap

DEFAULT_SOURCE = "https://storage.googleapis.com/quickdraw_dataset/full"
EXTENSIONS: dict[str, str] = {"numpy_bitmap": ".npy", "simplified": ".ndjson"}
REQUIRED_FORMAT = "numpy_bitmap"  # The build needs bitmaps; the simplified strokes are optional.
TIMEOUT_SECONDS = 30
CHUNK_BYTES = 1 << 20
RETRY_DELAY_SECONDS = 2.0  # Doubles after each failed attempt.


class DownloadError(ValueError):
    """A download that cannot succeed as asked; the message says what to do."""


class MissingAtSource(DownloadError):
    """The source has no such file (HTTP 404, or absent from a local folder)."""


class Interrupted(DownloadError):
    """The transfer stopped before the end; the ``.part`` file lets a rerun resume."""


def default_source() -> str:
    """``$QUICKDRAW_SOURCE`` when set, else Google's bucket."""
    return os.environ.get("QUICKDRAW_SOURCE") or DEFAULT_SOURCE


def is_url(source: str) -> bool:
    """Whether the source is fetched over HTTP(S) rather than copied from a folder."""
    return urllib.parse.urlparse(source).scheme in ("http", "https")


def file_url(source: str, fmt: str, category: str) -> str:
    """The URL of one file; category names are quoted ("The Eiffel Tower" -> "The%20Eiffel%20Tower")."""
    return f"{source.rstrip('/')}/{fmt}/{urllib.parse.quote(category)}{EXTENSIONS[fmt]}"


def validate_npy(path: Path, name: str) -> int:
    """Check a numpy_bitmap file without loading it (header, dtype, shape, length); return its row count."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version not in readers:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, fortran_order, dtype = readers[version](handle)
            data_offset = handle.tell()
    except (ValueError, OSError, SyntaxError, TypeError) as error:
        raise DownloadError(f"{name} is not a valid .npy file ({error})") from error
    check_numpy_bitmap(dtype, shape, name)
    if fortran_order:
        raise DownloadError(f"{name} is stored in Fortran order, unlike Quick Draw's files")
    expected = data_offset + shape[0] * shape[1]
    actual = path.stat().st_size
    if actual != expected:
        raise DownloadError(f"{name} is truncated or padded: {actual} bytes, expected {expected}")
    return int(shape[0])


def validate_ndjson(path: Path, name: str) -> int:
    """Check that every line of a simplified file is a drawing record; return the number of drawings."""
    count = 0
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DownloadError(f"{name} line {number} is not JSON ({error.msg})") from error
            if not isinstance(record, dict) or not isinstance(record.get("drawing"), list):
                raise DownloadError(f"{name} line {number} has no \"drawing\" list")
            count += 1
    if count == 0:
        raise DownloadError(f"{name} holds no drawings")
    return count


def validate(path: Path, fmt: str, name: str | None = None) -> int:
    """Validate a cached or downloaded file of ``fmt`` (called ``name`` in messages); return its drawing count."""
    name = name or path.name
    try:
        return validate_npy(path, name) if fmt == "numpy_bitmap" else validate_ndjson(path, name)
    except UnicodeDecodeError as error:
        raise DownloadError(f"{name} is not UTF-8 text ({error.reason})") from error
    except ValueError as error:
        raise DownloadError(str(error)) from error


def _progress(total: int | None, initial: int, label: str) -> tqdm:
    """A byte progress bar on stderr."""
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
                desc=label, leave=False, file=sys.stderr, disable=None)


def _copy_local(source: str, fmt: str, category: str, part: Path) -> None:
    """Copy a file from a local folder laid out like the bucket."""
    root = Path(urllib.parse.urlparse(source).path if source.startswith("file:") else source)
    if not root.is_dir():
        raise DownloadError(f"the Quick Draw source {source} is neither a URL nor an existing folder")
    origin = root / fmt / f"{category}{EXTENSIONS[fmt]}"
    if not origin.is_file():
        raise MissingAtSource(f"{category!r} is not at the source: no {origin}")
    shutil.copyfile(origin, part)


def _fetch_http(url: str, part: Path, category: str, label: str) -> None:
    """Download ``url`` into ``part``, resuming from the bytes already there when the server allows."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "fashion-doodles-download"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise MissingAtSource(f"{category!r} is not at the source (HTTP 404 for {url})") from error
        if error.code == 416 and have:
            return  # Nothing left to send: the .part file is complete (validation decides).
        raise DownloadError(f"the source answered HTTP {error.code} for {url}") from error
    except OSError as error:  # URLError: refused, unknown host, timeout.
        reason = getattr(error, "reason", error)
        raise DownloadError(
            f"cannot reach the Quick Draw source ({reason}) for {url}: check the network, "
            "or set --source / QUICKDRAW_SOURCE to a local mirror"
        ) from error
    with response:
        # 206 continues the .part file; 200 means the server ignored the Range: start again.
        resuming = response.status == 206 and have > 0
        if resuming and not response.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
            resuming = False
        length = response.headers.get("Content-Length")
        remaining = int(length) if length and length.isdigit() else None
        start = have if resuming else 0
        total = start + remaining if remaining is not None else None
        with open(part, "ab" if resuming else "wb") as out, _progress(total, start, label) as bar:
            try:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    bar.update(len(chunk))
            except (http.client.IncompleteRead, OSError) as error:  # Resets, timeouts, early closes.
                raise Interrupted(f"download of {url} was interrupted ({error})") from error
    if total is not None and part.stat().st_size < total:
        raise Interrupted(f"download of {url} stopped at {part.stat().st_size} of {total} bytes")


def fetch(source: str, fmt: str, category: str, raw_dir: Path, retries: int = 2) -> tuple[Path, int, str]:
    """Make ``raw_dir/fmt/<category>`` a valid copy of the source's file; return (path, drawings, what happened)."""
    final = Path(raw_dir) / fmt / f"{category}{EXTENSIONS[fmt]}"
    if final.is_file():
        try:
            return final, validate(final, fmt), "cached"
        except DownloadError:
            pass  # Replaced below by a fresh copy; only a validated file ever stays in place.
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".part")
    label = f"{fmt}/{category}"
    if is_url(source):
        url = file_url(source, fmt, category)
        for attempt in range(retries + 1):
            try:
                _fetch_http(url, part, category, label)
                break
            except Interrupted:
                if attempt == retries:
                    raise Interrupted(
                        f"download of {url} was interrupted; run the command again to resume "
                        f"from the {part.stat().st_size if part.exists() else 0} bytes kept in {part}"
                    ) from None
                time.sleep(RETRY_DELAY_SECONDS * 2**attempt)
        action = "downloaded"
    else:
        _copy_local(source, fmt, category, part)
        action = "copied"
    try:
        count = validate(part, fmt, final.name)
    except DownloadError as error:
        part.unlink(missing_ok=True)  # A corrupt file must not be resumed either.
        raise DownloadError(f"corrupt file from the source: {error}; nothing was saved") from error
    os.replace(part, final)
    return final, count, action


def download(
    source: str,
    categories: Sequence[str],
    raw_dir: Path,
    formats: Sequence[str] = (REQUIRED_FORMAT,),
    retries: int = 2,
    log: Callable[[str], None] = print,
) -> dict[str, dict[str, int]]:
    """Fetch every format of every category; return drawings per format and category."""
    categories = validate_categories(categories)
    unknown = [fmt for fmt in formats if fmt not in EXTENSIONS]
    if unknown:
        raise ValueError(f"unknown format {unknown[0]!r}; choose from {', '.join(EXTENSIONS)}")
    counts: dict[str, dict[str, int]] = {fmt: {} for fmt in formats}
    for category in categories:
        for fmt in formats:
            try:
                path, count, action = fetch(source, fmt, category, raw_dir, retries)
            except MissingAtSource as error:
                if fmt == REQUIRED_FORMAT:
                    raise
                log(f"warning: {error} (the simplified strokes are optional)")
                continue
            counts[fmt][category] = count
            log(f"{path}: {count} drawings ({action})")
    return counts


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the download command's flags."""
    parser.add_argument("--source", default=default_source(),
                        help="URL or local folder laid out like the bucket "
                             "(default: $QUICKDRAW_SOURCE, else %(default)s)")
    parser.add_argument("--categories", nargs="+", default=list(DEFAULT_CATEGORIES), metavar="NAME",
                        help="Quick Draw category names, or `all` (default: the six accessories)")
    parser.add_argument("--raw-dir", type=Path, default=dataset.default_raw_dir(),
                        help="download cache (default: %(default)s)")
    parser.add_argument("--formats", nargs="+", default=[REQUIRED_FORMAT], choices=list(EXTENSIONS),
                        help="which files to fetch (default: %(default)s; the build renders "
                             "simplified strokes only for categories without bitmaps)")
    parser.add_argument("--retries", type=int, default=2,
                        help="times to resume an interrupted transfer before giving up (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    """Fetch the files and print what the cache holds."""
    categories = all_categories() if args.categories == ["all"] else args.categories
    download(args.source or default_source(), categories, args.raw_dir, args.formats, args.retries)
    return 0
