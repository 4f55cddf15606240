"""The contract between iotad.offline and iotad.stream: feature layouts, labels, message
schemas, the model bundle manifest and the raw → scaled → masked feature transform."""

from iotad.schemas.features import (
    ALL_FEATURES,
    FEATURES_39,
    FEATURES_46,
    LAYOUT_FEATURES,
    FeatureLayout,
    detect_layout,
)
from iotad.schemas.labels import (
    BENIGN_LABEL,
    CATEGORIES,
    LABELS,
    Category,
    Task,
    canonical_label,
    category_of,
    category_of_class,
    label_from_path,
    target_of,
    task_classes,
)
from iotad.schemas.manifest import (
    BundleManifest,
    CanaryFile,
    FeatureMaskFile,
    ScalerFile,
)
from iotad.schemas.messages import (
    Alert,
    ClassProbability,
    DeadLetter,
    DeadLetterCode,
    Flow,
    FlowBatch,
    ModelRef,
    Severity,
    SourceRef,
)
from iotad.schemas.transform import FeatureTransform

__all__ = [
    "ALL_FEATURES",
    "BENIGN_LABEL",
    "CATEGORIES",
    "FEATURES_39",
    "FEATURES_46",
    "LABELS",
    "LAYOUT_FEATURES",
    "Alert",
    "BundleManifest",
    "CanaryFile",
    "Category",
    "ClassProbability",
    "DeadLetter",
    "DeadLetterCode",
    "FeatureLayout",
    "FeatureMaskFile",
    "FeatureTransform",
    "Flow",
    "FlowBatch",
    "ModelRef",
    "ScalerFile",
    "Severity",
    "SourceRef",
    "Task",
    "canonical_label",
    "category_of",
    "category_of_class",
    "detect_layout",
    "label_from_path",
    "target_of",
    "task_classes",
]
