"""A warm handler for the Kubernetes tests: ``load`` runs once per worker (its pid and count
are in every answer), ``handle`` upper-cases its input into ``<name>.upper`` (a file job) or
its answer (a ``/run`` call); an input starting with crash, sleep N or fail does that."""

import os
import time
from pathlib import Path

LOADS = []


def load():
    LOADS.append(os.getpid())
    return {"pid": os.getpid()}


def handle(input_path, output_dir, state):
    data = Path(input_path).read_text()
    if data.startswith("crash"):
        os._exit(3)
    if data.startswith("sleep"):
        time.sleep(float(data.split()[1]))
    if data.startswith("fail"):
        raise ValueError("asked to fail")
    greeting = os.environ.get("GREETING", "")
    answer = f"{data.upper()} worker={state['pid']} loads={len(LOADS)} greeting={greeting}"
    if Path(input_path).name != "input":  # a file job's (a /run call's input is "input")
        Path(output_dir, Path(input_path).name + ".upper").write_text(answer)
    return answer
