"""The epoch loop that every trainer shares: threads and seeds, a progress bar with an ETA,
validation every few epochs with patience and best-state restore, a time budget, a stop
request, and the reason training ended.

Example:
    >>> loop = TrainingLoop(model, epochs=100, eval_every=5, patience=3)   # doctest: +SKIP
    >>> for epoch in loop:                                               # doctest: +SKIP
    ...     loss = train_one_epoch()
    ...     score = valid_mrr() if loop.should_validate(epoch) else None
    ...     loop.end_epoch(epoch, {"loss": loss}, score)
    >>> loop.restore_best(); loop.stop_reason                            # doctest: +SKIP
    'early_stopping'
"""

from __future__ import annotations

import copy
import os
import random
import time
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

#: Why training ended, as recorded in results and runs (``reused``: no training, a saved
#: model scored the new graph).
STOP_REASONS = ("max_epochs", "early_stopping", "time_budget", "stopped", "reused")


def default_threads() -> int:
    """Torch threads when none are asked for: ``OMP_NUM_THREADS`` if set, else every core."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return os.cpu_count() or 1


def set_threads(threads: int | None) -> int:
    """Use ``threads`` torch threads (default: :func:`default_threads`); returns the count."""
    n = int(threads) if threads else default_threads()
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()


def seed_everything(seed: int) -> None:
    """Fix the seeds of Python, NumPy and PyTorch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class TrainingLoop:
    """Iterate over epochs and decide when to stop.

    Args:
        module: the model; its ``state_dict`` is kept at the best validation score.
        epochs: maximum epochs.
        eval_every: epochs between validations (the last epoch and the last one within the
            time budget are always validated). (default: :obj:`1`)
        patience: validations without improvement before stopping; ``None`` never stops
            early. (default: :obj:`None`)
        max_seconds: time budget; the epoch that passes it is the last. (default: :obj:`None`)
        should_stop: asked after each epoch, e.g. a scheduler's SIGTERM. (default: :obj:`None`)
        progress: show a tqdm bar with an ETA. (default: :obj:`True`)
        desc: the bar's label.
        show: record keys shown on the bar, with their format. (default: loss)

    Attributes:
        history: one dict per epoch (the caller's record plus ``epoch``, ``seconds`` and,
            where validated, ``valid``).
        best_epoch, best_score: the restored checkpoint (``best_score`` ``None`` without
            validation).
        epochs_run: epochs completed.
        stop_reason: one of :data:`STOP_REASONS`.
    """

    def __init__(self, module: nn.Module, *, epochs: int, eval_every: int = 1, patience: int | None = None,
                 max_seconds: float | None = None, should_stop: Callable[[], bool] | None = None,
                 progress: bool = True, desc: str = "train",
                 show: dict[str, str] | None = None) -> None:
        self.module, self.epochs, self.eval_every = module, int(epochs), max(1, int(eval_every))
        self.patience, self.max_seconds, self.should_stop = patience, max_seconds, should_stop
        self.progress, self.desc = progress, desc
        self.show = show if show is not None else {"loss": ".4f"}
        self.history: list[dict[str, float]] = []
        self.best_epoch = 0
        self.best_score: float | None = None
        self.epochs_run = 0
        self.stop_reason = "max_epochs"
        self._best_state: dict[str, Any] | None = None
        self._bad = 0
        self._done = False
        self._start = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Seconds since the loop was made."""
        return time.perf_counter() - self._start

    def out_of_time(self) -> bool:
        return self.max_seconds is not None and self.seconds > self.max_seconds

    def __iter__(self) -> Iterator[int]:
        bar = tqdm(range(1, self.epochs + 1), disable=not self.progress or None, desc=self.desc, unit="epoch",
                   dynamic_ncols=True)
        self._bar = bar
        try:
            for epoch in bar:
                yield epoch
                if self._done:
                    break
        finally:
            bar.close()

    def should_validate(self, epoch: int) -> bool:
        """Whether ``epoch`` ends with a validation."""
        return epoch % self.eval_every == 0 or epoch == self.epochs or self.out_of_time()

    def end_epoch(self, epoch: int, record: dict[str, float], score: float | None = None) -> None:
        """Record ``epoch`` (and its validation ``score``, higher is better) and decide
        whether it is the last."""
        record = {"epoch": float(epoch), **record, "seconds": self.seconds}
        if score is not None:
            record["valid"] = float(score)
            if self.best_score is None or score > self.best_score:
                self.best_score, self.best_epoch, self._bad = float(score), epoch, 0
                self._best_state = copy.deepcopy(self.module.state_dict())
            else:
                self._bad += 1
        self.history.append(record)
        self.epochs_run = epoch
        self._bar.set_postfix({k: format(record[k], f) for k, f in self.show.items() if k in record}
                              | ({"valid": f"{score:.4f}", "best": f"{self.best_score:.4f}"} if score is not None
                                 else {}))
        if self.should_stop is not None and self.should_stop():
            self.stop_reason, self._done = "stopped", True
        elif self.patience is not None and self._bad >= self.patience:
            self.stop_reason, self._done = "early_stopping", True
        elif self.out_of_time() and epoch < self.epochs:
            self.stop_reason, self._done = "time_budget", True

    def restore_best(self, load: Callable[[dict[str, Any]], None] | None = None) -> None:
        """Load the best validated state (with ``load``, default ``module.load_state_dict``);
        without validation the last epoch counts as the best."""
        if self._best_state is not None:
            (load or self.module.load_state_dict)(self._best_state)
        else:
            self.best_epoch = self.epochs_run
