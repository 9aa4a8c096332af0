"""Cache directory, downloads and integrity checks for the public datasets.

Archives are fetched only when a loader is called with ``download=True``, from
the publisher's URL, into the cache directory (``cache_dir=``, else the
``REELREC_DATA`` environment variable, else ``~/.cache/reelrec``). Each
download is hashed while it streams and must match the SHA-256 below (and
GroupLens' own MD5 where it publishes one) before it is unpacked; a mismatch
deletes the file and raises. Nothing is ever downloaded implicitly.

Checksums (:data:`ARCHIVES`)
----------------------------
GroupLens publishes an MD5 next to each stable MovieLens archive
(``<archive>.md5``) but no SHA-256. The SHA-256 values here are of the
official archives as pinned independently by several public projects whose
MD5 matched the published one (archive sizes where known: ml-100k 4,924,029
bytes; ml-20m 198,702,078; ml-25m 261,978,986). ``ml-latest-small`` is the
September 2018 build (GroupLens may rebuild it; a new build then fails the
check and must be placed by hand). The HetRec 2011 Last.fm archive's MD5 and
SHA-256 come from public loaders (one source each). For ml-100k the files
inside the archive are checked too (u.data, u.item, u.user, as recorded with
the project's reference copy of the data).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Archive", "ARCHIVES", "default_cache_dir", "resolve_dir", "fetch"]

_ML = "https://files.grouplens.org/datasets/movielens/"


@dataclass(frozen=True)
class Archive:
    """A published archive: where it is and how to check it."""

    name: str  # folder the archive unpacks to
    url: str
    sha256: str | None
    md5: str | None = None
    size: int | None = None
    # member path inside the archive -> SHA-256 of its bytes
    members: dict[str, str] = field(default_factory=dict)
    # whether the archive's files sit at its root instead of inside `name/`
    flat: bool = False


ARCHIVES: dict[str, Archive] = {
    "ml-100k": Archive(
        "ml-100k",
        _ML + "ml-100k.zip",
        sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        md5="0e33842e24a9c977be4e0107933c0723",
        size=4_924_029,
        members={
            "ml-100k/u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
            "ml-100k/u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
            "ml-100k/u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
        },
    ),
    "ml-1m": Archive(
        "ml-1m",
        _ML + "ml-1m.zip",
        sha256="a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        md5="c4d9eecfca2ab87c1945afe126590906",
    ),
    "ml-20m": Archive(
        "ml-20m",
        _ML + "ml-20m.zip",
        sha256="96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3",
        md5="cd245b17a1ae2cc31bb14903e1204af3",
        size=198_702_078,
    ),
    "ml-25m": Archive(
        "ml-25m",
        _ML + "ml-25m.zip",
        sha256="8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa",
        md5="6b51fb2759a8657d3bfcbfc42b592ada",
        size=261_978_986,
    ),
    "ml-latest-small": Archive(
        "ml-latest-small",
        _ML + "ml-latest-small.zip",
        sha256="696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
    ),
    "hetrec2011-lastfm-2k": Archive(
        "hetrec2011-lastfm-2k",
        "https://files.grouplens.org/datasets/hetrec2011/hetrec2011-lastfm-2k.zip",
        sha256="6738f48195667ff03caaab4d32ca9a3133d8cc026b7c3cdaf6ce1010e913c59c",
        md5="296d61afe4e8632b173fc2dd3be20ce2",
        flat=True,
    ),
}


def default_cache_dir() -> Path:
    """``$REELREC_DATA`` if set, else ``~/.cache/reelrec``."""
    env = os.environ.get("REELREC_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "reelrec"


def resolve_dir(path: Any, required: tuple[str, ...], archive: Archive) -> Path | None:
    """The folder holding ``required`` files: ``path`` itself or ``path/<archive.name>``."""
    base = Path(path).expanduser()
    for candidate in (base, base / archive.name):
        if all((candidate / f).is_file() for f in required):
            return candidate
    return None


def _missing_message(
    label: str, where: Path, required: tuple[str, ...], archive: Archive, explicit: bool
) -> str:
    files = ", ".join(required)
    msg = f"{label}: files not found: expected {files} in {where}"
    if not explicit:
        msg += f" (or in {where / archive.name})"
    msg += (
        f". Download {archive.url} and unzip it there, pass path= to a folder that holds the files, "
        "or call with download=True to fetch and verify it into the cache "
        "(cache_dir=, $REELREC_DATA or ~/.cache/reelrec)."
    )
    return msg


def _hash_file(path: Path) -> tuple[str, str]:
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.hexdigest()


def verify_archive(path: Path, archive: Archive) -> None:
    """Raise ``OSError`` unless ``path`` matches the archive's published digests."""
    sha, md5 = _hash_file(path)
    if archive.sha256 is not None and sha != archive.sha256:
        raise OSError(
            f"{path.name}: SHA-256 mismatch: expected {archive.sha256}, got {sha}; the download is corrupt "
            "or the publisher changed the archive. The file was removed; place a verified copy by hand."
        )
    if archive.md5 is not None and md5 != archive.md5:
        raise OSError(f"{path.name}: MD5 mismatch: expected {archive.md5} (published), got {md5}")


def _extract(zip_path: Path, target: Path, archive: Archive) -> None:
    """Unpack safely (no absolute paths or '..'), checking pinned member hashes."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            parts = Path(info.filename).parts
            if info.filename.startswith(("/", "\\")) or ".." in parts:
                raise OSError(
                    f"{zip_path.name}: refusing to extract unsafe member {info.filename!r}"
                )
        for member, digest in archive.members.items():
            got = hashlib.sha256(zf.read(member)).hexdigest()
            if got != digest:
                raise OSError(
                    f"{zip_path.name}: member {member} SHA-256 mismatch: expected {digest}, got {got}"
                )
        zf.extractall(target)


def fetch(archive: Archive, cache_dir: Any = None) -> Path:
    """Download, verify and unpack ``archive`` into the cache; return its folder."""
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    folder = root / archive.name
    zip_path = root / Path(archive.url).name
    if not zip_path.is_file():
        fd, tmp_name = tempfile.mkstemp(dir=root, prefix=zip_path.name, suffix=".part")
        tmp = Path(tmp_name)
        try:
            with (
                os.fdopen(fd, "wb") as out,
                urllib.request.urlopen(archive.url, timeout=60) as response,
            ):
                shutil.copyfileobj(response, out, 1 << 20)
            verify_archive(tmp, archive)
            tmp.replace(zip_path)
        except (urllib.error.URLError, OSError) as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, urllib.error.URLError):
                raise OSError(
                    f"could not download {archive.url} ({exc.reason}); if this machine is offline, "
                    f"download it elsewhere and unzip it into {root} (giving {folder}), or pass path="
                ) from exc
            raise
    else:
        try:
            verify_archive(zip_path, archive)
        except OSError:
            zip_path.unlink()
            raise
    _extract(zip_path, folder if archive.flat else root, archive)
    return folder
