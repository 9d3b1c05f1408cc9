"""SLUICE_SCRATCH_DIR on a real ``sluice up``: running jobs keep their folders there, not in the
data dir; sandboxed jobs still see only their own folder (the scratch dir is a folder of this
test's, not ``/dev/shm``, which the sandbox's own ``/dev`` would hide anyway), and nothing of a
job is left behind once it ends."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.helpers import held_input, keys_under, s3_client, wait_for
from tests.sluice_process import SluiceProcess

PROBE = """
echo "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/input-path.txt"
ls "$SCRATCH/jobs" > "$TMP_OUTPUT_DIR/jobs.txt"
if [ -e "$OTHER" ]; then echo visible; else echo hidden; fi > "$TMP_OUTPUT_DIR/other.txt"
"""


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scratch")
    folder.chmod(0o711)  # the job user passes through to its own folder
    return folder / "sluice"


@pytest.fixture(scope="module")
def sluice_env(scratch: Path) -> dict[str, str]:
    return {"SLUICE_SCRATCH_DIR": str(scratch)}


def test_jobs_run_in_the_scratch_dir_and_see_only_their_own_folder(
    http: httpx.Client, sluice_server: SluiceProcess, scratch: Path
) -> None:
    s3: Any = s3_client(http)
    running = scratch / "jobs"
    other = held_input(http, s3, running)
    probe = {
        "name": "probe",
        "script": PROBE,
        "environment": {"variables": {"SCRATCH": str(scratch), "OTHER": str(other)}},
        "input": [{"storage_provider": "minio.default", "path": "probe/in"}],
        "output": [{"storage_provider": "minio.default", "path": "probe/out"}],
    }
    assert http.post("/system/services", json=probe).status_code == 201
    s3.put_object(Bucket="probe", Key="in/go.txt", Body=b"go")
    wait_for(lambda: len(keys_under(s3, "probe", "out/")) == 3, what="the probe's outputs")

    def output(name: str) -> str:
        return str(s3.get_object(Bucket="probe", Key=f"out/{name}")["Body"].read().decode())

    input_path = Path(output("input-path.txt").strip())
    assert input_path.is_relative_to(scratch / "jobs") and input_path.name == "go.txt"
    [own] = output("jobs.txt").split()
    assert own == input_path.parent.parent.name and own.startswith("probe-")
    assert output("other.txt").strip() == "hidden"
    assert not (sluice_server.data_dir / "jobs").exists()  # nothing of a job on the data disk
    wait_for(lambda: not list(running.glob("probe-*")), what="the probe's folder gone")
