"""A sample video from scikit-image's bundled photos (no download), some with masks drawn on.

    python examples/mask-detection/sample_video.py sample.mp4

Five scenes of one second each (5 frames a second, 512x512, MPEG-4):

1. the astronaut (Eileen Collins), no mask;
2. the same photo with a light-blue surgical mask drawn on;
3. two faces side by side: the astronaut, and her mirror image with a white mask;
4. the cameraman (grey-scale), no mask;
5. a cup of coffee: no face.

``SCENES`` says which faces each scene holds, left to right, and which of them wear a mask.
"""

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from skimage import data

FPS = 5
SECONDS_PER_SCENE = 1
SIZE = 512
ASTRONAUT_FACE = (179, 57, 271, 177)  # x0, y0, x1, y1, where OpenCV's res10 detector finds it
SURGICAL_BLUE, WHITE = (235, 206, 135), (245, 245, 245)  # BGR


def draw_mask(image: np.ndarray, face: tuple[int, int, int, int], colour: tuple[int, ...]) -> None:
    """A mask over nose, mouth and chin: from 45 % of the face box's height down to its end."""
    x0, y0, x1, y1 = face
    w, h = x1 - x0, y1 - y0
    outline = [
        (0.05, 0.55), (0.3, 0.45), (0.7, 0.45), (0.95, 0.55),
        (0.85, 0.95), (0.5, 1.05), (0.15, 0.95),
    ]  # fmt: skip
    points = np.array([(x0 + fx * w, y0 + fy * h) for fx, fy in outline], np.int32)
    cv2.fillPoly(image, [points], colour)


def astronaut() -> np.ndarray:
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def astronaut_masked() -> np.ndarray:
    image = astronaut()
    draw_mask(image, ASTRONAUT_FACE, SURGICAL_BLUE)
    return image


def two_faces() -> np.ndarray:
    """The astronaut's middle half, next to its mirror image wearing a white mask."""
    plain, masked = astronaut(), astronaut()
    draw_mask(masked, ASTRONAUT_FACE, WHITE)
    left, right = plain[:, 97:353], masked[:, 97:353][:, ::-1]
    return np.ascontiguousarray(np.concatenate([left, right], axis=1))


def cameraman() -> np.ndarray:
    return cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)


def coffee() -> np.ndarray:
    return cv2.resize(cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR), (SIZE, SIZE))


@dataclass(frozen=True)
class Scene:
    name: str
    image: Callable[[], np.ndarray]
    masks: tuple[bool, ...]  # one per face, left to right


SCENES = (
    Scene("astronaut", astronaut, (False,)),
    Scene("astronaut-masked", astronaut_masked, (True,)),
    Scene("two-faces", two_faces, (False, True)),
    Scene("cameraman", cameraman, (False,)),
    Scene("coffee", coffee, ()),
)


def scene_at(time: float) -> Scene:
    """The scene shown at ``time`` seconds into the video."""
    return SCENES[min(int(time // SECONDS_PER_SCENE), len(SCENES) - 1)]


def write_video(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (SIZE, SIZE))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write an MPEG-4 video to {path}")
    try:
        for scene in SCENES:
            image = scene.image()
            for _ in range(FPS * SECONDS_PER_SCENE):
                writer.write(image)
    finally:
        writer.release()
    return path


if __name__ == "__main__":
    print(write_video(Path(sys.argv[1] if len(sys.argv) > 1 else "sample.mp4")))
