"""Model factories: the study's estimators per task, the Keras DNN, the gateway-grade forest.

Also the model-side plumbing shared by training, evaluation and export: class encoding,
native scoring and conversion to ONNX. Heavy libraries (scikit-learn, TensorFlow, skl2onnx,
tf2onnx) are imported inside the functions that need them.
"""
