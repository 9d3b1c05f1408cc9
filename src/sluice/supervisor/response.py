"""OSCAR's synchronous response: one output file base64-encoded, several zipped then
base64-encoded, or the script's output as text when it wrote no file."""

import base64
import io
import zipfile
from pathlib import Path

from sluice.supervisor.paths import output_files


def encode_response(output_dir: Path, text: str) -> bytes:
    files = list(output_files(output_dir))
    if len(files) == 1:
        return base64.b64encode(files[0][0].read_bytes())
    if files:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, name in files:
                archive.write(path, name)
        return base64.b64encode(buffer.getvalue())
    return text.encode()
