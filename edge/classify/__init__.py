"""The classifier stage: a face crop -> the model's probabilities (LiteRT, the model card, labels)."""
