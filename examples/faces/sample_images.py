"""Write scikit-image's bundled sample photos (no download) as PNG files into a folder.

.venv/bin/python examples/faces/sample_images.py images/
"""

import sys
from pathlib import Path

import cv2
from skimage import data

SAMPLES = {"astronaut": data.astronaut, "coffee": data.coffee, "chelsea": data.chelsea}


def write_samples(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, load in SAMPLES.items():
        path = folder / f"{name}.png"
        cv2.imwrite(str(path), cv2.cvtColor(load(), cv2.COLOR_RGB2BGR))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "images")):
        print(path)
