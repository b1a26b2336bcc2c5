"""mood-convert: the training host (data, model, training, quantization, evaluation, catalog)."""
