"""Edge service ``anon-and-split``: a video → sampled frames with the faces' eyes blurred.

    python3 -m anon_and_split VIDEO OUTPUT_DIR

writes ``OUTPUT_DIR/<video>/frame-0001.jpg``, … (one frame every ``1/FRAME_RATE`` seconds of
video), each carrying its face boxes in its JPEG comment (see ``frames.py``).

Settings (environment variables, set in the FDL):

- ``FRAME_RATE``: frames kept per second of video (default 1).
- ``BLUR_TOP``: the top fraction of each face box that is blurred (default 0.45: forehead and
  eyes, what identifies a person). ``1`` blurs the whole face, but then the cloud's mask
  classifier, trained on sharp faces, can no longer tell a mask from none: on the sample's
  faces p(mask) falls from 0.96-0.99 to 0.09-0.22 for masked ones, while unmasked ones rise to
  0.15-0.25 (README.md).
- ``MIN_CONFIDENCE``: the face detector's threshold (default 0.5).
"""

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from frames import MIN_CONFIDENCE, Face, detect_faces, face_detector, write_frame


def sample(video: Path, rate: float) -> Iterator[tuple[float, np.ndarray]]:
    """``(time, frame)`` for one frame every ``1 / rate`` seconds, each from the middle of
    its interval (so a cut between scenes is never the frame kept)."""
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise ValueError(f"{video.name} is not a video OpenCV can read")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    step = 1.0 / rate
    wanted = step / 2
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            time = index / fps
            if time + 0.5 / fps >= wanted:
                yield time, frame
                wanted += step
            index += 1
    finally:
        capture.release()


def blur_faces(image: np.ndarray, faces: list[Face], top: float) -> np.ndarray:
    """``image`` with the top ``top`` fraction of every face box Gaussian-blurred."""
    out = image.copy()
    for face in faces:
        x0, y0, x1, y1 = face.box
        y_end = y0 + max(1, round(top * (y1 - y0)))
        region = out[y0:y_end, x0:x1]
        out[y0:y_end, x0:x1] = cv2.GaussianBlur(region, (0, 0), sigmaX=(x1 - x0) / 6)
    return out


def split(
    video: Path,
    output_dir: Path,
    rate: float = 1.0,
    top: float = 0.45,
    min_confidence: float = MIN_CONFIDENCE,
) -> list[Path]:
    """Write the video's anonymised frames into ``output_dir/<video name>/``."""
    name = video.stem or "video"
    folder = output_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    net = face_detector()
    written = []
    for number, (time, frame) in enumerate(sample(video, rate), start=1):
        faces = detect_faces(net, frame, min_confidence)
        info = {
            "video": name,
            "frame": number,
            "time": round(time, 3),
            "blurred_top": top,
            "faces": [face.to_json() for face in faces],
        }
        path = folder / f"frame-{number:04d}.jpg"
        write_frame(path, blur_faces(frame, faces, top), info)
        print(f"{path.name}: t={time:.2f}s, {len(faces)} face(s)")
        written.append(path)
    return written


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: python3 -m anon_and_split VIDEO OUTPUT_DIR")
    split(
        Path(argv[0]),
        Path(argv[1]),
        rate=float(os.environ.get("FRAME_RATE", "1")),
        top=float(os.environ.get("BLUR_TOP", "0.45")),
        min_confidence=float(os.environ.get("MIN_CONFIDENCE", str(MIN_CONFIDENCE))),
    )


if __name__ == "__main__":
    main(sys.argv[1:])
