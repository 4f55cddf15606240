"""Trained models → ONNX graphs whose input is the scaled, masked float32 feature vector.

* Random forests (``rf``, ``rf-compact``): :mod:`iotad.offline.models.forest_onnx`, built from
  the trees' arrays with only the non-zero leaf weights (skl2onnx needs tens of GB for the
  study's forest on the real data).
* Other scikit-learn models: skl2onnx, without the ZipMap (the graph returns a ``probabilities``
  tensor, or a Perceptron's decision scores under the same name).
* Linear models (``lr``, ``perceptron``) compute in float64: the graph takes the same float32
  input as every other bundle, casts it up, and returns float64 scores. A Perceptron's margins
  grow with the training set (thousands on millions of rows); in float32 two dot products summed
  in different orders (scikit-learn's BLAS, onnxruntime's), or the margins' own rounding, then
  differ by more than the parity gate's 1e-4 after the softmax. In float64 the native model
  (scored in float64 too) and the graph agree to rounding, for the cost of a 40 x 34 product.
* Keras: tf2onnx ``convert.from_function`` on a ``tf.function`` with an input signature
  (``convert.from_keras`` does not handle Keras 3); the graph returns ``scores``.

Tree ensembles from skl2onnx (AdaBoost's stumps) get the same **sparse leaf encoding** as the
forests: skl2onnx writes, for every leaf, one weight per class, zeros included. The
``TreeEnsembleClassifier`` operator adds the listed weights of the leaf reached and treats an
unlisted class as 0, so dropping the zero entries changes no output (export's parity check proves
it on every held-out row) while making the file smaller and scoring faster.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from iotad.offline.models.forest_onnx import MAX_ONNX_BYTES, forest_to_onnx
from iotad.offline.models.scoring import LINEAR, output_kind
from iotad.offline.types import ModelKind, TrainedModel
from iotad.schemas.outputs import ScoreKind

logger = logging.getLogger(__name__)

INPUT_NAME = "features"
SKLEARN_SCORES = "probabilities"
KERAS_SCORES = "scores"
_TREE_OPS = frozenset({"TreeEnsembleClassifier"})
FORESTS = frozenset({ModelKind.RF, ModelKind.RF_COMPACT})
_LEAF_ENTRY_ATTRS = ("class_treeids", "class_nodeids", "class_ids")


@dataclass(frozen=True)
class OnnxGraph:
    """A serialised ONNX model and how to call it."""

    model: bytes
    input_name: str
    scores_output: str
    output_kind: ScoreKind
    opset: int

    @property
    def size_bytes(self) -> int:
        """Size of the serialised graph."""
        return len(self.model)


def to_onnx(
    model: TrainedModel, n_features: int, opset: int, *, max_forest_bytes: int = MAX_ONNX_BYTES
) -> OnnxGraph:
    """Convert a trained model (scikit-learn or Keras) to ONNX.

    Raises
    ------
    ModelLoadError
        if a forest's graph would exceed ``max_forest_bytes`` or protobuf's 2 GiB.
    """
    if model.kind is ModelKind.DNN:
        proto = keras_to_onnx(model.estimator, n_features, opset)
        scores = KERAS_SCORES
    elif model.kind in FORESTS:
        proto = forest_to_onnx(
            model.estimator,
            n_features,
            opset,
            INPUT_NAME,
            SKLEARN_SCORES,
            max_bytes=max_forest_bytes,
        )
        scores = SKLEARN_SCORES
    elif model.kind in LINEAR:
        proto = linear_to_onnx(model.estimator, n_features, opset)
        scores = SKLEARN_SCORES
    else:
        proto = sklearn_to_onnx(model.estimator, n_features, opset)
        scores = SKLEARN_SCORES
        dropped = sparse_leaf_weights(proto)
        if dropped:
            logger.info("%s: dropped %d zero leaf weights", model.kind.value, dropped)
    serialised = proto.SerializeToString()
    logger.info("%s: ONNX graph of %.1f MB", model.kind.value, len(serialised) / 1e6)
    return OnnxGraph(serialised, INPUT_NAME, scores, output_kind(model.kind), opset)


def sklearn_to_onnx(estimator: Any, n_features: int, opset: int, *, double: bool = False) -> Any:
    """skl2onnx conversion with an input named :data:`INPUT_NAME` (float, or double when
    ``double``) and no ZipMap."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    tensor_type = DoubleTensorType if double else FloatTensorType
    return convert_sklearn(
        estimator,
        initial_types=[(INPUT_NAME, tensor_type([None, n_features]))],
        options={id(estimator): {"zipmap": False}},
        target_opset=opset,
    )


def linear_to_onnx(estimator: Any, n_features: int, opset: int) -> Any:
    """skl2onnx conversion in float64 behind a float32 input (scores stay float64)."""
    from onnx import TensorProto, helper

    proto = sklearn_to_onnx(estimator, n_features, opset, double=True)
    graph = proto.graph
    wide_input = f"{INPUT_NAME}_f64"
    for node in graph.node:
        node.input[:] = [wide_input if name == INPUT_NAME else name for name in node.input]
    graph.node.insert(
        0, helper.make_node("Cast", [INPUT_NAME], [wide_input], to=TensorProto.DOUBLE)
    )
    graph.input[0].type.tensor_type.elem_type = TensorProto.FLOAT
    return proto


def keras_to_onnx(model: Any, n_features: int, opset: int) -> Any:
    """tf2onnx conversion of a Keras model through a ``tf.function`` with an input signature."""
    import tensorflow as tf
    import tf2onnx

    signature = (tf.TensorSpec((None, n_features), tf.float32, name=INPUT_NAME),)

    @tf.function(input_signature=signature, autograph=False)  # type: ignore[untyped-decorator]
    def serve(features: Any) -> dict[str, Any]:
        return {KERAS_SCORES: model(features, training=False)}

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=signature, opset=opset)
    return proto


def sparse_leaf_weights(proto: Any) -> int:
    """Drop the zero leaf weights of every tree-ensemble classifier in ``proto`` (in place).

    The first entry of each class id is always kept, so the set of classes the operator sees,
    and with it onnxruntime's binary/multiclass mode, does not change. Optional node attributes
    that only repeat their defaults (hit rates of 1, missing values tracking false) are dropped
    too. Returns the number of weights dropped.
    """
    from onnx import helper

    dropped = 0
    for node in proto.graph.node:
        if node.op_type not in _TREE_OPS:
            continue
        attrs = {a.name: a for a in node.attribute}
        if "class_weights" not in attrs:
            continue
        weights = np.asarray(attrs["class_weights"].floats, dtype=np.float32)
        class_ids = np.asarray(attrs["class_ids"].ints, dtype=np.int64)
        keep = weights != 0
        keep[np.unique(class_ids, return_index=True)[1]] = True
        replaced = {
            name: helper.make_attribute(name, np.asarray(attrs[name].ints)[keep].tolist())
            for name in _LEAF_ENTRY_ATTRS
        }
        replaced["class_weights"] = helper.make_attribute("class_weights", weights[keep].tolist())
        kept = [replaced.get(a.name, a) for a in node.attribute if not _only_defaults(a)]
        del node.attribute[:]
        node.attribute.extend(kept)
        dropped += int((~keep).sum())
    return dropped


def _only_defaults(attribute: Any) -> bool:
    if attribute.name == "nodes_hitrates":
        return all(v == 1.0 for v in attribute.floats)
    if attribute.name == "nodes_missing_value_tracks_true":
        return not any(attribute.ints)
    return False


__all__ = [
    "FORESTS",
    "INPUT_NAME",
    "KERAS_SCORES",
    "SKLEARN_SCORES",
    "OnnxGraph",
    "keras_to_onnx",
    "linear_to_onnx",
    "sklearn_to_onnx",
    "sparse_leaf_weights",
    "to_onnx",
]
