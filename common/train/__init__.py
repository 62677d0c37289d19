"""Training: the two phases (frozen-feature head, then fine-tuning), the embedding cache, head solvers, callbacks and optimizers."""
