"""OSCAR's synchronous response: one output file base64-encoded, several zipped then
base64-encoded, or the script's output as text when it wrote no file."""

import io
import zipfile
from pathlib import Path

import pybase64

from sluice.supervisor.paths import output_files

COMPRESSED = frozenset(
    {
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".webp",
        ".zip",
        ".gz",
        ".bz2",
        ".xz",
        ".zst",
        ".7z",
        ".mp4",
        ".mkv",
        ".webm",
        ".mp3",
        ".ogg",
        ".flac",
        ".npz",
        ".parquet",
        ".avif",
        ".heic",
    }
)


def encode_response(output_dir: Path, text: str) -> bytes:
    files = list(output_files(output_dir))
    if len(files) == 1:
        return pybase64.b64encode(files[0][0].read_bytes())
    if files:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, name in files:
                # Deflating a PNG, a JPEG or a zip again costs time and saves nothing.
                stored = path.suffix.lower() in COMPRESSED
                archive.write(path, name, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
        return pybase64.b64encode(buffer.getvalue())
    return text.encode()
