"""The ONNX graph of a k-th-nearest-neighbour baseline (built with ``onnx.helper``).

Input ``features``: the robust-scaled rows ``z`` ([N, F] float32, the bundle's scaler applied).
Output ``anomaly_score`` ([N, 1] float32)::

    u     = Sign(z) · Log(1 + |z|)
    d²    = Σu² − 2 u·Rᵀ + ΣR²          (R: the reference rows, a constant)
    score = Sqrt(Max(k-th smallest d², D2_FLOOR))

(``D2_FLOOR``: :data:`iotad.baseline.fit.D2_FLOOR`, why in :meth:`KnnBaseline.scores`.)
"""

from __future__ import annotations

import numpy as np

from iotad.baseline.fit import D2_FLOOR, KnnBaseline

INPUT_NAME = "features"
OUTPUT_NAME = "anomaly_score"
OPSET = 17


def knn_to_onnx(model: KnnBaseline) -> bytes:
    """Serialise ``model`` as an ONNX graph (opset :data:`OPSET`)."""
    from onnx import TensorProto, helper, numpy_helper

    refs = np.ascontiguousarray(model.references, dtype=np.float32)
    width = refs.shape[1]
    k = int(model.k)
    constants = {
        "one": np.array(1.0, np.float32),
        "d2_floor": np.array(D2_FLOOR, np.float32),
        "minus_two": np.array(-2.0, np.float32),
        "refs_t": np.ascontiguousarray(refs.T),
        "refs_sq": (refs.astype(np.float64) ** 2)
        .sum(axis=1, dtype=np.float64)[None, :]
        .astype(np.float32),
        "k": np.array([k], np.int64),
        "kth_start": np.array([k - 1], np.int64),
        "kth_end": np.array([k], np.int64),
        "axis1": np.array([1], np.int64),
    }
    initializers = [numpy_helper.from_array(v, name) for name, v in constants.items()]
    node = helper.make_node
    nodes = [
        node("Abs", ["features"], ["abs_z"]),
        node("Add", ["abs_z", "one"], ["abs_z1"]),
        node("Log", ["abs_z1"], ["log_abs"]),
        node("Sign", ["features"], ["sign_z"]),
        node("Mul", ["sign_z", "log_abs"], ["u"]),
        node("ReduceSumSquare", ["u"], ["u_sq"], axes=[1], keepdims=1),
        node("MatMul", ["u", "refs_t"], ["cross"]),
        node("Mul", ["cross", "minus_two"], ["cross2"]),
        node("Add", ["u_sq", "cross2"], ["partial"]),
        node("Add", ["partial", "refs_sq"], ["d2"]),
        node("TopK", ["d2", "k"], ["nearest", "nearest_idx"], axis=1, largest=0, sorted=1),
        node("Slice", ["nearest", "kth_start", "kth_end", "axis1"], ["kth"]),
        node("Max", ["kth", "d2_floor"], ["kth_pos"]),
        node("Sqrt", ["kth_pos"], [OUTPUT_NAME]),
    ]
    graph = helper.make_graph(
        nodes,
        "iotad-baseline-knn",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [None, width])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [None, 1])],
        initializers,
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="iotad"
    )
    proto.ir_version = 8
    return bytes(proto.SerializeToString())


__all__ = ["INPUT_NAME", "OPSET", "OUTPUT_NAME", "knn_to_onnx"]
