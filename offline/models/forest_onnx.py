"""Random forests → one ONNX ``TreeEnsembleClassifier``, built from the trees' numpy arrays.

skl2onnx converts a forest node by node into Python lists and writes one weight per class for
every leaf. For the study's fully grown forest on the real data (hundreds of thousands of rows,
29–34 classes: some 10 million leaves) that takes tens of GB of memory and hundreds of MB of
mostly-zero weights. This converter works tree by tree on the arrays scikit-learn already holds
and writes only the non-zero leaf weights (the operator counts an unlisted class as 0), so memory
stays near the size of the result and the graph is 3–7× smaller. It is checked against
scikit-learn's ``predict_proba`` by export's parity gate on every held-out row.

Semantics match scikit-learn exactly for finite inputs:

* a row goes left when ``x <= threshold``; scikit-learn compares the float32 feature with a
  float64 threshold, the graph compares float32 with float32, so each threshold is rounded *down*
  to the largest float32 not above it (the two comparisons then agree for every float32 ``x``);
* a leaf contributes its class fractions divided by the number of trees, and the operator sums
  them: the mean of the trees' probabilities, as ``predict_proba``.

**Size cap.** Before building anything the converter estimates the graph's size from the node
and non-zero leaf weight counts (:func:`estimated_onnx_bytes`) and refuses a forest over the
caller's cap. Building and verifying a graph takes several times its size in memory on top of
the forest itself: the study's 34-class forest on 2.3 M synthetic rows (37 M nodes, over 1 GB
of graph by this estimate) was killed by the kernel at 23 GiB while being exported; a refusal
with a reason replaces that.

Two classes use the operator's binary form, as skl2onnx does: the leaves list only the second
class's weight (under class id 0) and onnxruntime returns ``[1 - p, p]``. Every class id in use
is listed at least once (with a zero weight if need be), so onnxruntime's choice between the
binary and the multiclass form is fixed. Inputs must be finite (the stream refuses NaN).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from iotad.errors import ModelLoadError

ML_DOMAIN = "ai.onnx.ml"
ML_OPSET = 3
IR_VERSION = 8
#: protobuf cannot serialise a message of 2 GiB or more, so no ONNX file can be that large.
MAX_ONNX_BYTES = 2**31 - 1
#: Serialised bytes per node (ids, feature, children, threshold, mode string) and per listed
#: leaf weight (tree, node and class ids, weight), measured on forests of 2 to 34 classes.
_BYTES_PER_NODE = 27.0
_BYTES_PER_WEIGHT = 12.5


def estimated_onnx_bytes(forest: Any) -> int:
    """About how many bytes :func:`forest_to_onnx` would write for ``forest`` (within ~10 %)."""
    total = 0.0
    binary = int(forest.n_classes_) == 2
    for estimator in forest.estimators_:
        _, weights = leaf_weights(estimator.tree_, len(forest.estimators_), binary=binary)
        total += int(estimator.tree_.node_count) * _BYTES_PER_NODE
        total += int(np.count_nonzero(weights)) * _BYTES_PER_WEIGHT
    return int(total)


def leaf_weights(
    tree: Any, n_trees: int, *, binary: bool
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """A tree's leaves and the weight each adds per class (its class fractions / ``n_trees``).

    For two classes only the second class's column: the operator returns ``[1 - p, p]``.
    """
    leaves = np.flatnonzero(tree.children_left == -1)
    counts = np.asarray(tree.value[leaves, 0, :], dtype=np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    totals[totals == 0] = 1.0
    weights = counts / totals / n_trees
    return leaves, weights[:, 1:] if binary else weights


def float32_at_or_below(threshold: NDArray[np.float64]) -> NDArray[np.float32]:
    """The largest float32 ≤ each threshold: ``x <= t`` ⇔ ``x <= result`` for float32 ``x``."""
    rounded = threshold.astype(np.float32)
    above = rounded.astype(np.float64) > threshold
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded


def forest_to_onnx(
    forest: Any,
    n_features: int,
    opset: int,
    input_name: str,
    scores: str,
    *,
    max_bytes: int = MAX_ONNX_BYTES,
) -> Any:
    """An ONNX model with input ``input_name`` ``[N, n_features]`` and outputs ``label`` and
    ``scores`` (``[N, n_classes]`` class probabilities) for a fitted ``RandomForestClassifier``.

    Raises
    ------
    ModelLoadError
        if the graph would exceed ``max_bytes`` (estimated before building it) or protobuf's
        2 GiB limit: a smaller forest is needed.
    """
    from onnx import TensorProto, helper

    estimate = estimated_onnx_bytes(forest)
    if estimate > max_bytes:
        nodes = sum(int(e.tree_.node_count) for e in forest.estimators_)
        raise ModelLoadError(
            f"the forest's ONNX graph would be about {estimate / 1e6:,.1f} MB "
            f"({nodes:,} nodes in {len(forest.estimators_)} trees), over the export cap of "
            f"{max_bytes / 1e6:,.1f} MB; building and verifying it needs several times that "
            "in memory besides the forest",
            hint="serve the compact forest (rf-compact), or raise offline.max_forest_onnx_mb "
            "(IOTAD_OFFLINE__MAX_FOREST_ONNX_MB) on a machine with the memory for it",
        )
    n_classes = int(forest.n_classes_)
    columns = _Columns(binary=n_classes == 2)
    trees = [estimator.tree_ for estimator in forest.estimators_]
    for tree_id, tree in enumerate(trees):
        columns.add_tree(tree_id, tree, len(trees))
    columns.list_every_class(1 if columns.binary else n_classes)
    node = helper.make_node(
        "TreeEnsembleClassifier",
        [input_name],
        ["label", scores],
        domain=ML_DOMAIN,
        name="forest",
        classlabels_int64s=list(range(n_classes)),
        post_transform="NONE",
    )
    node.attribute.extend(columns.attributes())
    graph = helper.make_graph(
        [node],
        "random_forest",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [None, n_features])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info(scores, TensorProto.FLOAT, [None, n_classes]),
        ],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(ML_DOMAIN, ML_OPSET)],
        producer_name="iotad",
        ir_version=IR_VERSION,
    )
    size = model.ByteSize()
    if size >= MAX_ONNX_BYTES:
        raise ModelLoadError(
            f"the forest's ONNX graph would be {size / 2**30:.1f} GiB, over protobuf's 2 GiB limit",
            hint="serve the compact forest (rf-compact) or limit tree size (SklearnConfig)",
        )
    return model


class _Columns:
    """The operator's attribute arrays, gathered tree by tree."""

    def __init__(self, *, binary: bool) -> None:
        self.binary = binary
        self.nodes: dict[str, list[NDArray[Any]]] = {
            name: [] for name in ("treeids", "nodeids", "featureids", "truenodeids", "falsenodeids")
        }
        self.values: list[NDArray[np.float32]] = []
        self.is_leaf: list[NDArray[np.bool_]] = []
        self.classes: dict[str, list[NDArray[Any]]] = {
            name: [] for name in ("treeids", "nodeids", "ids", "weights")
        }

    def add_tree(self, tree_id: int, tree: Any, n_trees: int) -> None:
        left, right = tree.children_left, tree.children_right
        leaf = left == -1
        count = int(tree.node_count)
        self.nodes["treeids"].append(np.full(count, tree_id, dtype=np.int64))
        self.nodes["nodeids"].append(np.arange(count, dtype=np.int64))
        self.nodes["featureids"].append(np.where(leaf, 0, tree.feature).astype(np.int64))
        self.nodes["truenodeids"].append(np.where(leaf, 0, left).astype(np.int64))
        self.nodes["falsenodeids"].append(np.where(leaf, 0, right).astype(np.int64))
        self.values.append(np.where(leaf, np.float32(0), float32_at_or_below(tree.threshold)))
        self.is_leaf.append(leaf)
        leaves, weights = leaf_weights(tree, n_trees, binary=self.binary)
        rows, class_ids = np.nonzero(weights)
        self.classes["treeids"].append(np.full(len(rows), tree_id, dtype=np.int64))
        self.classes["nodeids"].append(leaves[rows].astype(np.int64))
        self.classes["ids"].append(class_ids.astype(np.int64))
        self.classes["weights"].append(weights[rows, class_ids].astype(np.float32))

    def list_every_class(self, n_ids: int) -> None:
        present = np.unique(np.concatenate(self.classes["ids"]))
        missing = np.setdiff1d(np.arange(n_ids), present)
        if len(missing):
            first_leaf = int(np.flatnonzero(self.is_leaf[0])[0])
            self.classes["treeids"].append(np.zeros(len(missing), dtype=np.int64))
            self.classes["nodeids"].append(np.full(len(missing), first_leaf, dtype=np.int64))
            self.classes["ids"].append(missing.astype(np.int64))
            self.classes["weights"].append(np.zeros(len(missing), dtype=np.float32))

    def attributes(self) -> Iterable[Any]:
        for name, parts in self.nodes.items():
            yield _ints(f"nodes_{name}", np.concatenate(parts))
        yield _floats("nodes_values", np.concatenate(self.values))
        leaf = np.concatenate(self.is_leaf)
        yield _strings("nodes_modes", [b"LEAF" if end else b"BRANCH_LEQ" for end in leaf.tolist()])
        for name in ("treeids", "nodeids", "ids"):
            yield _ints(f"class_{name}", np.concatenate(self.classes[name]))
        yield _floats("class_weights", np.concatenate(self.classes["weights"]))


def _ints(name: str, values: NDArray[np.int64]) -> Any:
    from onnx import AttributeProto

    attribute = AttributeProto(name=name, type=AttributeProto.INTS)
    attribute.ints.extend(values)
    return attribute


def _floats(name: str, values: NDArray[np.float32]) -> Any:
    from onnx import AttributeProto

    attribute = AttributeProto(name=name, type=AttributeProto.FLOATS)
    attribute.floats.extend(values)
    return attribute


def _strings(name: str, values: list[bytes]) -> Any:
    from onnx import AttributeProto

    attribute = AttributeProto(name=name, type=AttributeProto.STRINGS)
    attribute.strings.extend(values)
    return attribute


__all__ = [
    "MAX_ONNX_BYTES",
    "estimated_onnx_bytes",
    "float32_at_or_below",
    "forest_to_onnx",
    "leaf_weights",
]
