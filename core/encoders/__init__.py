"""Encoders: text and photos to unit vectors. The shared pieces (`base`: the spec, errors,
normalising, lazy loading), the registry by name (`registry`), photo encoders (`image`) over the
EfficientNet-Lite networks cut into trunk and tail (`lite`), what runs those networks (`runtime`:
PyTorch or ONNX Runtime; `onnx_export`: exported, quantized, cached), text encoders (`text`) over a plain
torch BERT (`bert`), the project's own fine-tuned weights and their manifests (`own_weights`), and
the on-disk vector cache (`cache`)."""
