"""Evaluation: how good the models are.

``ranking`` (filtered MRR and Hits@k, AUC-PR, calibration error), ``generator`` (held-out
entities for the node generator) and ``pipeline`` (train and evaluate on a dataset in one
call).
"""
