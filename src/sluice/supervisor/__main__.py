"""Run one file job's attempt on its own, outside the manager (inside a Kubernetes pod, say)::

    python -m sluice.supervisor job --task task.json --store store.json --work-dir /tmp/work

``task.json`` is a ``JobTask`` as JSON; ``store.json`` the object store ``minio.default`` names
(endpoint, access_key, secret_key, region, verify). The job's input is downloaded, its script
runs as a local process, its outputs are uploaded, and the report is printed as one JSON line
(``succeeded``, ``exit_code``, ``reason``, ``log``). The exit status is 0 when the job succeeded.
"""

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from sluice.domain.parts import MinIOProvider
from sluice.runtimes.process import ProcessRuntime
from sluice.storage.resolver import StorageResolver
from sluice.supervisor.run import run_job
from sluice.supervisor.task import JobTask

DEFAULT_LOG_CAP = 1_048_576


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sluice.supervisor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    job = commands.add_parser("job", help="run one attempt of a file job")
    job.add_argument("--task", type=Path, required=True, help="the JobTask as JSON")
    job.add_argument("--store", type=Path, required=True, help="minio.default as JSON")
    job.add_argument("--work-dir", type=Path, required=True, help="where the job's folder goes")
    job.add_argument("--log-cap", type=int, default=DEFAULT_LOG_CAP, help="bytes of log kept")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    arguments = _arguments(argv)
    task = JobTask.from_json(json.loads(arguments.task.read_text()))
    store = MinIOProvider.model_validate(json.loads(arguments.store.read_text()))
    arguments.work_dir.mkdir(parents=True, exist_ok=True)
    report = run_job(
        task,
        StorageResolver(store),
        ProcessRuntime(),
        arguments.work_dir,
        log_cap=arguments.log_cap,
    )
    print(json.dumps(asdict(report)))
    return 0 if report.succeeded else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
