"""Will training fit in memory? An estimate made before any table is allocated.

1-N training keeps, per entity and relation row, the weights, their gradients and the
optimiser's state, and per step a ``batch x targets`` score matrix with its softmax and
gradient. :func:`check_training_memory` compares that with the memory the system says is
available and refuses, naming the settings to change, rather than letting the process be
killed an hour in.

Example:
    >>> training_bytes(num_entities=1_000_000, num_relations=50, width=400, batch_size=1024)
    18688640000
"""

from __future__ import annotations

from kgcomplete.errors import ConfigError

#: Copies of each parameter during training: weights, gradients, optimiser state (Adagrad: one; Adam: two).
PARAMETER_COPIES = 4
#: Copies of each step's score matrix: logits, softmax, gradient.
SCORE_COPIES = 3
FLOAT_BYTES = 4


def training_bytes(num_entities: int, num_relations: int, width: int, batch_size: int,
                   targets: int | None = None) -> int:
    """Bytes for the tables (``width`` floats per entity and per relation in both directions)
    and one step's scores against ``targets`` entities (default: all of them)."""
    rows = num_entities + 2 * num_relations
    scores = batch_size * (targets or num_entities)
    return FLOAT_BYTES * (PARAMETER_COPIES * rows * width + SCORE_COPIES * scores)


def available_bytes() -> int | None:
    """``MemAvailable`` from ``/proc/meminfo`` (Linux), else ``None``."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_training_memory(model: str, num_entities: int, num_relations: int, width: int, batch_size: int,
                          targets: int | None = None, available: int | None = None) -> int:
    """The estimate of :func:`training_bytes`; raises :class:`ConfigError` when it exceeds
    ``available`` (default: what the system has available now)."""
    need = training_bytes(num_entities, num_relations, width, batch_size, targets)
    have = available if available is not None else available_bytes()
    if have is not None and need > have:
        gib = 1024 ** 3
        raise ConfigError(
            f"training {model} on {num_entities:,} entities needs about {need / gib:.1f} GiB, "
            f"{have / gib:.1f} GiB is available: lower [model] options dim (width now {width}) "
            f"or batch_size (now {batch_size}), or set options candidates (scores per step now {targets or num_entities:,})")
    return need
