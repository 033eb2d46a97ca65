"""Train a link predictor on several processes or machines with ``torch.distributed`` (DDP).

Every process (rank) reads the same graph and builds the same seeded model. Each epoch all
ranks draw the same permutation of the training rows from the shared seed; every global batch
of ``batch_size`` rows is dealt out row by row across the ``W`` ranks, each rank scores its
share against all entities (1-N cross-entropy with the model's penalty) and DDP averages the
gradients. Each rank's loss is weighted by its share of the batch's answers, so the averaged
gradient is the gradient of the whole batch: the same steps as one process with the same
``batch_size``, up to floating-point order. Rank 0 validates and broadcasts the score, so
every rank takes the same early-stopping decision; rank 0 saves the best model
(:func:`~kgcomplete.training.checkpoints.save_model`) and prints the filtered test metrics as
JSON. Only the 1-N loss over all entities is distributed (no sampled candidates or negatives).

Launch with ``torchrun``, on one machine::

    torchrun --nproc-per-node 2 -m kgcomplete.training.distributed --dataset nations --output model.pt

and on two machines, the same command on each with ``--nnodes 2 --node-rank 0|1
--master-addr HOST0 --master-port 29500`` (``--backend nccl`` on GPUs, one process per GPU).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from kgcomplete import datasets
from kgcomplete.errors import ConfigError, GraphError, KGCompleteError
from kgcomplete.evaluation.ranking import evaluate
from kgcomplete.graph import KGraph
from kgcomplete.models import make_model
from kgcomplete.models.base import LinkPredictor, reciprocal_queries
from kgcomplete.training.checkpoints import save_model
from kgcomplete.training.defaults import default_settings
from kgcomplete.training.fit import QueryGroups, grouped_cross_entropy, make_optimizer, valid_mrr
from kgcomplete.training.loop import TrainingLoop, seed_everything, set_threads

#: ``fit`` settings of the sampled losses, not distributed: :func:`train_dataset` leaves them out.
NOT_DISTRIBUTED = ("candidates", "num_negatives", "adversarial_temperature", "negatives")


@dataclass
class DistributedFit:
    """What :func:`fit_distributed` returns (the same on every rank).

    Attributes:
        model: the trained model, restored to its best validation checkpoint.
        world_size: processes that trained it.
        rows_per_epoch: training rows (distinct queries, or reciprocal triples) an epoch.
        rows_per_rank: rows each rank scored over all epochs (together ``rows_per_epoch``
            times ``epochs``).
        history, best_epoch, best_valid_mrr, epochs, seconds, stop_reason: as in
            :class:`~kgcomplete.training.fit.FitResult`.
    """

    model: LinkPredictor
    world_size: int
    rows_per_epoch: int
    rows_per_rank: list[int] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_valid_mrr: float | None = None
    epochs: int = 0
    seconds: float = 0.0
    stop_reason: str = "max_epochs"


class BatchLoss(nn.Module):
    """The loss of one rank's share of a batch, as a module for DDP to wrap.

    Args:
        model: the link predictor being trained.
        label_smoothing: label smoothing of the cross-entropy. (default: :obj:`0.0`)
    """

    def __init__(self, model: LinkPredictor, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.model, self.label_smoothing = model, float(label_smoothing)

    def forward(self, entity: torch.Tensor, relation: torch.Tensor, row: torch.Tensor,
                answer: torch.Tensor) -> torch.Tensor:
        """Mean over the ``(row, answer)`` pairs of ``-log softmax(scores[row])[answer]``
        plus the model's penalty. ``entity``, ``relation``: ``shape: (B,)``; ``row``,
        ``answer``: ``shape: (K,)``, one entry per known answer (``row`` indexes the batch)."""
        q = torch.stack([entity[row], relation[row], answer], 1)
        self.model.hide_triples(q)
        state = self.model.encode()
        logits = self.model.score_queries(entity, relation, state)
        return grouped_cross_entropy(logits, row, answer, self.label_smoothing) + \
            self.model.regularization(q[:, 0], q[:, 1], q[:, 2], state)


def batch_bounds(rows: int, batch_size: int, world_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each global batch; a last batch smaller than ``world_size`` joins
    the one before, so that every rank gets at least one row of every batch."""
    if rows < world_size:
        raise GraphError(f"{rows} training rows cannot be shared by {world_size} processes")
    bounds = [(i, min(i + batch_size, rows)) for i in range(0, rows, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < world_size:
        bounds[-2:] = [(bounds[-2][0], rows)]
    return bounds


def _epoch(ddp: DistributedDataParallel, opt: torch.optim.Optimizer, queries: torch.Tensor,
           groups: QueryGroups | None, batches: list[torch.Tensor], device: torch.device) -> tuple[float, int]:
    """One epoch over the global ``batches`` (row indices, the same on every rank): this
    rank's share of the mean batch loss and the number of rows it scored."""
    rank, world = dist.get_rank(), dist.get_world_size()
    total, scored = 0.0, 0
    for index in batches:
        mine = index[rank::world]
        entity, relation, row, answer = _rows(queries, groups, mine)
        share = world * len(answer) / _answers(groups, index)   # DDP averages: the whole batch's gradient
        loss = ddp(entity.to(device), relation.to(device), row.to(device), answer.to(device)) * share
        opt.zero_grad()
        loss.backward()
        opt.step()
        total, scored = total + float(loss.detach()) / world, scored + len(mine)
    return total / len(batches), scored


def fit_distributed(name: str, train: KGraph, valid: KGraph | None = None, *, epochs: int = 100,
                    batch_size: int = 512, group_answers: bool = True, lr: float | None = None,
                    optimizer: str | None = None, patience: int = 5, eval_every: int = 5,
                    label_smoothing: float = 0.0, max_seconds: float | None = None, seed: int = 0,
                    progress: bool = True, device: torch.device | None = None,
                    **model_kw: Any) -> DistributedFit:
    """Train model ``name`` on ``train`` across the ranks of the initialised process group.

    Call it on every rank with the same arguments. Arguments as in
    :func:`~kgcomplete.training.fit.fit` (1-N loss only); ``batch_size`` is the global
    batch, split across the ranks. ``device``: this rank's device (default: CPU).

    Raises:
        ConfigError: the model is not trained by gradient descent on the 1-N loss alone.
        GraphError: ``train`` is empty or has fewer rows than there are ranks.
    """
    rank, world = dist.get_rank(), dist.get_world_size()
    device = device or torch.device("cpu")
    seed_everything(seed)
    if train.num_triples == 0:
        raise GraphError("the training graph has no triples: nothing to learn from")
    model = make_model(name, train.num_entities, train.num_relations, **model_kw)
    if not model.trainable or model.auxiliary_parameters():
        raise ConfigError(f"model {name!r} is not trained by the 1-N loss alone: train it with fit() on one process")
    model.entities, model.relations = list(train.entities), list(train.relations)
    model.prepare(train)
    model.to(device)
    queries = reciprocal_queries(torch.as_tensor(train.triples), train.num_relations)
    groups = QueryGroups(queries, 2 * train.num_relations) if group_answers else None
    num_rows = len(groups) if groups is not None else len(queries)
    bounds = batch_bounds(num_rows, batch_size, world)
    ddp = DistributedDataParallel(BatchLoss(model, label_smoothing), device_ids=[device] if device.type == "cuda" else None)
    opt = make_optimizer(optimizer or getattr(model, "optimizer", None) or "adam", list(model.parameters()),
                     lr or getattr(model, "learning_rate", None) or 1e-3)
    gen = torch.Generator().manual_seed(seed)
    start, scored, late = time.perf_counter(), 0, False
    loop = TrainingLoop(model, epochs=epochs, eval_every=eval_every, patience=patience, should_stop=lambda: late,
                        progress=progress and rank == 0, desc=f"{type(model).__name__} x{world}")
    for epoch in loop:
        model.train()
        perm = torch.randperm(num_rows, generator=gen)
        loss, rows = _epoch(ddp, opt, queries, groups, [perm[lo:hi] for lo, hi in bounds], device)
        scored += rows
        # rank 0's clock and validation decide for every rank, so that all stop together
        late = max_seconds is not None and epoch < epochs and _agreed(time.perf_counter() - start > max_seconds, device)
        score = None
        if valid is not None and valid.num_triples > 0 and (loop.should_validate(epoch) or late):
            score = _broadcast(_valid_mrr(model, name, train, valid) if rank == 0 else 0.0, device)
        loop.end_epoch(epoch, {"loss": _sum(loss, device)}, score)
    loop.restore_best(model.load_state)
    model.eval()
    counts = torch.zeros(world, dtype=torch.long, device=device)
    counts[rank] = scored
    dist.all_reduce(counts)
    history = [{("valid_mrr" if k == "valid" else k): v for k, v in h.items()} for h in loop.history]
    reason = "time_budget" if loop.stop_reason == "stopped" else loop.stop_reason
    return DistributedFit(model=model, world_size=world, rows_per_epoch=num_rows, rows_per_rank=counts.tolist(),
                          history=history, best_epoch=loop.best_epoch, best_valid_mrr=loop.best_score,
                          epochs=loop.epochs_run, seconds=time.perf_counter() - start, stop_reason=reason)


def _rows(queries: torch.Tensor, groups: QueryGroups | None,
          index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(entity, relation, row, answer)`` of the rows ``index`` (as ``QueryGroups.batch``)."""
    if groups is not None:
        return groups.batch(index)
    q = queries[index]
    return q[:, 0], q[:, 1], torch.arange(len(index)), q[:, 2]


def _answers(groups: QueryGroups | None, index: torch.Tensor) -> int:
    """Known answers of the rows ``index`` (one a row without grouping)."""
    return int(groups.counts[index].sum()) if groups is not None else len(index)


def _valid_mrr(model: LinkPredictor, name: str, train: KGraph, valid: KGraph) -> float:
    """Filtered validation MRR, ranked on the CPU."""
    return valid_mrr(on_cpu(model, name), train, valid)


def on_cpu(model: LinkPredictor, name: str) -> LinkPredictor:
    """``model`` itself if it is on the CPU, else a CPU copy (built as model ``name``): the
    rankings of :mod:`kgcomplete.evaluation.ranking` run on the CPU."""
    if next(model.parameters()).device.type == "cpu":
        return model
    copy = make_model(name, model.num_entities, model.num_relations, **model.hparams)
    copy.load_state({k: v.cpu() for k, v in model.state_dict().items()})
    copy.entities, copy.relations = model.entities, model.relations
    return copy.eval()


def _broadcast(value: float, device: torch.device) -> float:
    """Rank 0's ``value`` on every rank."""
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(t, src=0)
    return float(t.item())


def _agreed(flag: bool, device: torch.device) -> bool:
    """Rank 0's ``flag`` on every rank (a decision all ranks must take together)."""
    return _broadcast(float(flag), device) > 0.5


def _sum(value: float, device: torch.device) -> float:
    """The sum of ``value`` over the ranks."""
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item())


def init_process_group(backend: str) -> torch.device:
    """Join the process group ``torchrun`` describes in the environment (``RANK``,
    ``WORLD_SIZE``, ``MASTER_ADDR`` ...), or form a group of one without it; returns this
    rank's device (``cuda:LOCAL_RANK`` with NCCL, else the CPU)."""
    if backend not in ("gloo", "nccl"):
        raise ConfigError(f"unknown backend {backend!r}: use 'gloo' (CPU) or 'nccl' (GPU)")
    if backend == "nccl" and not torch.cuda.is_available():
        raise ConfigError("--backend nccl needs CUDA GPUs: use gloo on the CPU")
    if "RANK" in os.environ:
        dist.init_process_group(backend)
    else:
        store = dist.FileStore(os.path.join(tempfile.mkdtemp(prefix="kgc-dist-"), "store"), 1)
        dist.init_process_group(backend, store=store, rank=0, world_size=1)
    if backend == "nccl":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
        return device
    return torch.device("cpu")


def train_dataset(dataset: str, output: str | Path, *, model: str = "default", epochs: int | None = None,
                  max_seconds: float | None = None, seed: int = 0, backend: str = "gloo", threads: int | None = None,
                  device: torch.device | None = None, progress: bool = True) -> dict[str, Any] | None:
    """Train on a dataset's ``train`` split across the process group (early stopping on
    ``valid``); rank 0 saves the model to ``output``, ranks ``test`` (filtered by every
    split, as ``kgcomplete evaluate``) and returns the figures; other ranks return ``None``.

    Settings are :func:`~kgcomplete.training.defaults.default_settings`; sampled candidates
    are not distributed, so larger graphs are scored against all their entities.

    Raises:
        ConfigError: a model whose default loss is not 1-N (``nbfnet``).
        GraphError: an empty test split.
    """
    ds = datasets.load(dataset)
    if ds.test.num_triples == 0:
        raise GraphError(f"dataset {ds.name!r}: the test split is empty (no test.tsv triples): nothing to evaluate")
    settings = default_settings(ds.train, model)
    settings.update({k: v for k, v in (("epochs", epochs), ("max_seconds", max_seconds)) if v is not None})
    name = settings.pop("model")
    if settings.pop("loss", "1-n") != "1-n":
        raise ConfigError(f"model {name!r} trains with sampled negatives, which are not distributed: use fit()")
    dropped = [k for k in NOT_DISTRIBUTED if settings.pop(k, None) is not None]
    rank = dist.get_rank()
    if rank == 0:
        print(f"training {name} on {ds.name} ({ds.train.summary()}) with {dist.get_world_size()} processes "
              f"({backend}): " + ", ".join(f"{k} {v}" for k, v in sorted(settings.items()))
              + (f"; not distributed, not used: {', '.join(dropped)}" if dropped else ""), file=sys.stderr)
    used_threads = set_threads(threads)
    valid = ds.valid if ds.valid.num_triples else None
    fitted = fit_distributed(name, ds.train, valid, seed=seed, progress=progress, device=device, **settings)
    if rank != 0:
        return None
    save_model(output, on_cpu(fitted.model, name), ds.train)
    start = time.perf_counter()
    metrics = evaluate(on_cpu(fitted.model, name), ds.test, known=ds.all_triples(), per_relation=False)
    return {"dataset": ds.name, "model": name, "world_size": fitted.world_size, "backend": backend,
            "rows_per_epoch": fitted.rows_per_epoch, "rows_per_rank": fitted.rows_per_rank,
            **{k: metrics[k] for k in ("mrr", "hits_at_1", "hits_at_3", "hits_at_10")},
            "epochs": fitted.epochs, "best_epoch": fitted.best_epoch, "valid_mrr": fitted.best_valid_mrr,
            "stop_reason": fitted.stop_reason, "train_seconds": round(fitted.seconds, 3),
            "eval_seconds": round(time.perf_counter() - start, 3), "threads": used_threads, "seed": seed,
            "output": str(output), "settings": {k: v for k, v in settings.items() if isinstance(v, (int, float, str, bool))}}


def main(argv: Sequence[str] | None = None) -> int:
    """The ``torchrun ... -m kgcomplete.training.distributed`` entry point: prints rank 0's
    result as one JSON line on stdout (and writes it to ``--result``)."""
    parser = argparse.ArgumentParser(prog="python -m kgcomplete.training.distributed",
                                     description="Train a link predictor on a dataset with torch.distributed "
                                                 "(launch with torchrun) and report filtered test metrics.")
    parser.add_argument("--dataset", required=True, help="a bundled dataset (nations, umls ...) or a folder with "
                                                         "train.tsv, valid.tsv, test.tsv")
    parser.add_argument("--output", required=True, help="where rank 0 saves the trained model")
    parser.add_argument("--model", default="default", help="'default' or a model name (1-N trained)")
    parser.add_argument("--epochs", type=int, help="maximum epochs (default: sized to the graph)")
    parser.add_argument("--max-seconds", type=float, help="training time budget, rank 0's clock")
    parser.add_argument("--seed", type=int, default=0, help="random seed, the same on every rank (default: 0)")
    parser.add_argument("--backend", default="gloo", choices=("gloo", "nccl"), help="gloo (CPU) or nccl (GPU)")
    parser.add_argument("--threads", type=int, help="torch threads per process (default: OMP_NUM_THREADS)")
    parser.add_argument("--result", help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    try:
        device = init_process_group(args.backend)
    except KGCompleteError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        result = train_dataset(args.dataset, args.output, model=args.model, epochs=args.epochs,
                               max_seconds=args.max_seconds, seed=args.seed, backend=args.backend,
                               threads=args.threads, device=device)
        # rank 0 saves and evaluates alone: the others wait here, so that the group is torn
        # down by every rank together (a rank destroying it early aborted with gloo in CI)
        dist.barrier()
    except KGCompleteError as e:   # the same on every rank: raised before training starts
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        dist.destroy_process_group()
    if result is not None:
        print(json.dumps(result), flush=True)
        if args.result:
            Path(args.result).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
