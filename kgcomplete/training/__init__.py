"""Training: turning a snapshot into a model.

``loop`` (the epoch loop every trainer shares: threads, seeds, validation, patience, time
budget, stop reason), ``defaults`` (settings sized to the graph), ``fit`` (link predictors),
``distributed`` (the same on several processes or machines, under ``torchrun``),
``checkpoints`` (save and load with the vocabulary), ``warm_start`` (carry a checkpoint over
to a changed graph) and ``generator`` (the node generator).
"""
