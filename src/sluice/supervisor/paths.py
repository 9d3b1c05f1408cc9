"""File names from object keys and walking a job's output folder, never leaving the job dir."""

import os
import re
from collections.abc import Iterator
from pathlib import Path

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
MAX_NAME_BYTES = 200


def safe_file_name(key: str, fallback: str = "input") -> str:
    """The last segment of an object key as a plain file name: no '..', no '/', no controls."""
    name = _UNSAFE.sub("_", key.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if name in ("", ".", ".."):
        return fallback
    while len(name.encode()) > MAX_NAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[:-1]}{dot}{ext}" if dot and len(stem) > 1 else name[:-1]
    return name


def output_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Regular files under ``root`` with their relative POSIX names. Links are skipped: a job
    must not be able to upload files from outside its own folder."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        dirs[:] = sorted(d for d in dirs if not (base / d).is_symlink())
        for name in sorted(files):
            path = base / name
            if path.is_symlink() or not path.is_file():
                continue
            yield path, path.relative_to(root).as_posix()
