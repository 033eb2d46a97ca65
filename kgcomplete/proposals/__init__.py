"""Proposals: what a trained model says is missing, in the records the database layer writes.

``candidates`` (which triples to consider), ``calibration`` (how likely each is),
``evidence`` (why, in words an analyst can check), ``suggest`` (the three together:
:class:`~kgcomplete.records.Suggestion` s) and ``entities`` (new entities from the node
generator: :class:`~kgcomplete.records.EntityProposal` s).
"""
