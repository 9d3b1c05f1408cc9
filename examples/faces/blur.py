"""Blur every face in an image, with OpenCV's pretrained Haar face detector.

The detector ships inside the ``opencv-python-headless`` wheel (versions below 5), so nothing
is downloaded at run time. Used three ways:

- as a Sluice handler service: ``init: blur:load`` loads the detector once per worker and
  ``handler: blur:blur`` processes each input;
- as a script service: ``python3 -m blur "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR"``;
- directly, for the benchmark's baseline: ``load()`` once, then ``blur(...)`` in a loop.
"""

import json
import sys
from pathlib import Path
from typing import Any

import cv2


def load(context: object = None) -> Any:
    """The face detector (the model); loaded once per worker."""
    cascade = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
    detector = cv2.CascadeClassifier(str(cascade))
    if detector.empty():
        raise RuntimeError(f"cannot load the face detector from {cascade}")
    return detector


def blur(input_path: str, output_dir: str, state: Any = None) -> None:
    """Write ``<name>`` with every face blurred and ``<name>.faces.json`` with their boxes."""
    detector = state if state is not None else load()
    image = cv2.imread(input_path)
    if image is None:
        raise ValueError(f"{Path(input_path).name} is not an image OpenCV can read")
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    faces = detector.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5)
    for x, y, w, h in faces:
        region = image[y : y + h, x : x + w]
        image[y : y + h, x : x + w] = cv2.GaussianBlur(region, (0, 0), sigmaX=w / 6)
    name = Path(input_path).name
    if not Path(name).suffix:
        name += ".png"
    out = Path(output_dir)
    cv2.imwrite(str(out / name), image)
    boxes = [[int(v) for v in face] for face in faces]
    (out / f"{name}.faces.json").write_text(json.dumps({"faces": boxes}))


if __name__ == "__main__":
    blur(sys.argv[1], sys.argv[2])
