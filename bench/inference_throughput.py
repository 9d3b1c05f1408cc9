"""Benchmark: N images through the file-triggered path, against a plain Python loop.

The face-blurring handler service (warm workers, the model loaded once, batches) and the same
code as a script service (one process per file, the model loaded every time) each process N
uploaded images; the baseline blurs the same images in a loop in one process.

    .venv/bin/python bench/inference_throughput.py --images 60
"""

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from common import FACES, conditions, report, running_sluice
from tests.e2e.helpers import keys_under, s3_client

TIMEOUT = 300


def image_files(count: int) -> list[Path]:
    from sample_images import write_samples

    samples = write_samples(Path(tempfile.mkdtemp()))
    return [samples[i % len(samples)] for i in range(count)]


def baseline(images: list[Path]) -> float:
    import blur

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        detector = blur.load()
        for index, image in enumerate(images):
            target = Path(tmp) / str(index)
            target.mkdir()
            blur.blur(str(image), str(target), detector)
        return time.perf_counter() - start


def through_sluice(s3: Any, folder: str, images: list[Path]) -> float:
    start = time.perf_counter()
    for index, image in enumerate(images):
        s3.upload_file(str(image), "faces", f"{folder}in/{index:04d}-{image.name}")
    expected = 2 * len(images)  # each image and its .faces.json
    while len(keys_under(s3, "faces", f"{folder}out/")) < expected:
        if time.perf_counter() - start > TIMEOUT:
            raise SystemExit(f"{folder or 'handler '}outputs incomplete after {TIMEOUT} s")
        time.sleep(0.1)
    return time.perf_counter() - start


def services() -> list[dict[str, Any]]:
    common = {"pythonpath": [str(FACES)], "memory": "512Mi", "cpu": "0.5"}
    return [
        {
            "name": "blur",
            "handler": "blur:blur",
            "init": "blur:load",
            "batch_size": 4,
            "batch_wait_ms": 50,
            "synchronous": {"min_scale": 2, "max_scale": 2},
            "input": [{"path": "faces/in"}],
            "output": [{"path": "faces/out"}],
            **common,
        },
        {
            "name": "blur-script",
            "script": 'exec python3 -m blur "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR"',
            "input": [{"path": "faces/script-in"}],
            "output": [{"path": "faces/script-out"}],
            **common,
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=60)
    args = parser.parse_args()
    images = image_files(args.images)
    load = conditions()
    result: dict[str, Any] = {"images": args.images}
    with running_sluice() as server, server.client() as http:
        for service in services():
            http.post("/system/services", json=service).raise_for_status()
        s3 = s3_client(http)
        time.sleep(2)  # let the two warm workers load the model
        result["handler_service_s"] = through_sluice(s3, "", images)
        result["script_service_s"] = through_sluice(s3, "script-", images)
    result["python_loop_s"] = baseline(images)
    for kind in ("handler_service", "script_service", "python_loop"):
        result[f"{kind}_images_per_s"] = args.images / result[f"{kind}_s"]
    result["handler_vs_loop"] = (
        result["handler_service_images_per_s"] / result["python_loop_images_per_s"]
    )
    result["handler_vs_script"] = (
        result["handler_service_images_per_s"] / result["script_service_images_per_s"]
    )
    report(result, load)


if __name__ == "__main__":
    main()
