"""Trivial handlers for the benchmarks: the platform's cost, with almost no work of their own.

Imported by warm workers (``handler: trivial:copy_input``, ``pythonpath: [bench/handlers]``),
and called directly by the benchmarks' baselines. Standard library only.
"""

import shutil
from pathlib import Path


def copy_input(input_path: str, output_dir: str) -> None:
    """Copy the input file into the output folder (what the copy script does)."""
    shutil.copyfile(input_path, Path(output_dir) / Path(input_path).name)


def echo(input_path: str, output_dir: str) -> bytes:
    """Return the input as the response, writing no file."""
    return Path(input_path).read_bytes()
