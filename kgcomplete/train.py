"""Train a link predictor: ``fit`` with early stopping on validation MRR, best-checkpoint
restore, fixed seeds and a progress bar; ``save_model`` / ``load_model``.

Training scores each ``(entity, relation)`` query against all entities (1-N) with
cross-entropy, and uses reciprocal relations: every triple ``(h, r, t)`` gives the queries
``(h, r, ?) -> t`` and ``(t, r + R, ?) -> h``. For graphs too large for 1-N, ``loss="nsamp"``
uses sampled negatives with the self-adversarial loss of RotatE (Sun et al., 2019).

Example:
    >>> result = fit("complex", ds.train, ds.valid, epochs=50)
    >>> result.model.score_tails(torch.tensor([0]), torch.tensor([1])).shape
    torch.Size([1, num_entities])
    >>> save_model("model.pt", result.model, ds.train)
"""

from __future__ import annotations

import copy
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from kgcomplete.errors import GraphError, InputFileError
from kgcomplete.evaluate import rank_metrics, rank_triples
from kgcomplete.graph import KGraph
from kgcomplete.models import MODELS, make_model
from kgcomplete.models.base import LinkPredictor

MODEL_FORMAT = "kgcomplete.LinkPredictor"


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        model: the trained model, restored to its best validation checkpoint.
        history: one dict per epoch: ``epoch``, ``loss`` and, where evaluated,
            ``valid_mrr`` and ``seconds`` (since the start), for training curves.
        best_epoch: epoch of the restored checkpoint (last epoch without validation).
        best_valid_mrr: its validation MRR (``None`` without validation).
        epochs: epochs actually run.
        seconds: wall-clock training time (including validation).
        stopped: training ended early because ``should_stop`` said so.
    """

    model: LinkPredictor
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_valid_mrr: float | None = None
    epochs: int = 0
    seconds: float = 0.0
    stopped: bool = False


def default_threads() -> int:
    """All idle cores: ``cpu_count`` minus the 1-minute load average, at least one.

    PyTorch's CPU threads spin while they wait; on cores that other processes keep busy
    (a database, a second training) two threads can be ten times slower than one.
    """
    n = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(n, int(n - busy + 0.5)))


def seed_everything(seed: int) -> None:
    """Fix the seeds of Python, NumPy and PyTorch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fit(model: LinkPredictor | str, train: KGraph, valid: KGraph | None = None, *,
        epochs: int = 100, batch_size: int = 512, lr: float | None = None, optimizer: str | None = None,
        patience: int = 5, eval_every: int = 5, seed: int = 0, progress: bool = True,
        loss: str = "1-n", label_smoothing: float = 0.0, candidates: int | None = None, num_negatives: int = 32,
        adversarial_temperature: float = 1.0, negatives: np.ndarray | None = None,
        negative_weight: float = 1.0, max_seconds: float | None = None, threads: int | None = None,
        should_stop: Callable[[], bool] | None = None, **model_kw: Any) -> FitResult:
    """Train ``model`` on ``train``, early-stopping on the filtered MRR on ``valid``.

    Args:
        model: a :class:`LinkPredictor` or a name from :data:`kgcomplete.models.MODELS`
            (then built for ``train`` with ``model_kw``).
        train: training triples (the vocabulary of the model).
        valid: validation triples; ``None`` trains for ``epochs`` without early stopping.
        epochs: maximum number of epochs. (default: :obj:`100`)
        batch_size: queries per step. (default: :obj:`512`)
        lr: learning rate. (default: the model's ``learning_rate``)
        optimizer: ``"adagrad"`` or ``"adam"``. (default: the model's ``optimizer``)
        patience: validations without improvement before stopping. (default: :obj:`5`)
        eval_every: epochs between validations. (default: :obj:`5`)
        seed: seeds Python, NumPy and PyTorch. (default: :obj:`0`)
        progress: show a tqdm progress bar. (default: :obj:`True`)
        loss: ``"1-n"`` (cross-entropy over all entities) or ``"nsamp"`` (sampled
            negatives, self-adversarial). (default: :obj:`"1-n"`)
        label_smoothing: label smoothing of the 1-N loss. (default: :obj:`0.0`)
        candidates: for graphs with more entities, score each batch against the true answers
            plus this many random entities shared by the batch (sampled softmax) instead of
            all entities; ``None`` scores all. (default: :obj:`None`)
        num_negatives: negatives per query for ``"nsamp"``. (default: :obj:`32`)
        adversarial_temperature: self-adversarial temperature for ``"nsamp"``.
            (default: :obj:`1.0`)
        negatives: ``shape: (k, 3)`` known-false triples (e.g. rejected suggestions); their
            probability under each query's softmax is pushed towards 0. (default: :obj:`None`)
        negative_weight: weight of that term. (default: :obj:`1.0`)
        max_seconds: stop after this much training time. (default: :obj:`None`)
        threads: torch threads. (default: :func:`default_threads`, all idle cores)
        should_stop: asked after each epoch; when it says yes training ends there (best
            checkpoint restored, ``stopped`` set), e.g. on a scheduler's SIGTERM.
            (default: :obj:`None`)

    Returns:
        :class:`FitResult`.

    Raises:
        GraphError: ``train`` is empty, ``valid`` does not share its vocabulary, or
            ``negatives`` name unknown entities or relations.
    """
    torch.set_num_threads(threads or default_threads())
    seed_everything(seed)
    if train.num_triples == 0:
        raise GraphError("the training graph has no triples: nothing to learn from")
    if valid is not None and (valid.num_entities != train.num_entities or valid.num_relations != train.num_relations):
        raise GraphError("valid must share the vocabulary of train (use KGraph.split or load_dataset)")
    if isinstance(model, str):
        model = make_model(model, train.num_entities, train.num_relations, **model_kw)
    elif model_kw:
        raise TypeError(f"model options {sorted(model_kw)} only apply when model is given by name")
    model.entities, model.relations = list(train.entities), list(train.relations)
    start = time.perf_counter()
    model.prepare(train)  # heuristics do all their work here: it counts as training time
    result = FitResult(model=model)
    if not model.trainable or epochs == 0:
        result.seconds = time.perf_counter() - start
        if valid is not None and valid.num_triples:
            result.best_valid_mrr = _valid_mrr(model, train, valid)
        return result

    R = train.num_relations
    t = torch.as_tensor(train.triples)
    queries = torch.cat([t, torch.stack([t[:, 2], t[:, 1] + R, t[:, 0]], 1)])
    neg_queries = _negative_queries(negatives, train) if negatives is not None else None
    aux = model.auxiliary_parameters()
    aux_ids = {id(p) for p in aux}
    main = [p for p in model.parameters() if id(p) not in aux_ids]
    opt = _optimizer(optimizer or getattr(model, "optimizer", "adam"), main, lr or getattr(model, "learning_rate", 1e-3))
    aux_opt = torch.optim.Adam(aux, lr=1e-3) if aux else None
    gen = torch.Generator().manual_seed(seed)

    best_state, best_mrr, bad = None, -1.0, 0
    bar = tqdm(range(1, epochs + 1), disable=not progress, desc=type(model).__name__, unit="epoch")
    for epoch in bar:
        model.train()
        perm = torch.randperm(len(queries), generator=gen)
        total, steps = 0.0, 0
        for i in range(0, len(perm), batch_size):
            q = queries[perm[i:i + batch_size]]
            state = model.encode()
            if loss == "1-n" and candidates is not None and candidates < model.num_entities:
                cand = torch.unique(torch.cat([q[:, 2], torch.randint(model.num_entities, (candidates,), generator=gen)]))
                logits = model.score_candidates(q[:, 0], q[:, 1], cand, state)
                target = torch.searchsorted(cand, q[:, 2])
                batch_loss = F.cross_entropy(logits, target, label_smoothing=label_smoothing)
            elif loss == "1-n":
                logits = model.score_queries(q[:, 0], q[:, 1], state)
                batch_loss = F.cross_entropy(logits, q[:, 2], label_smoothing=label_smoothing)
            elif loss == "nsamp":
                batch_loss = _nsamp_loss(model, q, state, num_negatives, adversarial_temperature, gen)
            else:
                raise GraphError(f"unknown loss {loss!r}: use '1-n' or 'nsamp'")
            batch_loss = batch_loss + model.regularization(q[:, 0], q[:, 1], q[:, 2], state)
            if neg_queries is not None:
                pick = torch.randint(len(neg_queries), (min(len(neg_queries), batch_size),), generator=gen)
                batch_loss = batch_loss + negative_weight * _hard_negative_loss(model, neg_queries[pick], state)
            opt.zero_grad()
            batch_loss.backward()
            opt.step()
            if aux_opt is not None:
                aux_loss = model.auxiliary_loss(model.encode())
                if aux_loss is not None:
                    aux_opt.zero_grad()
                    aux_loss.backward()
                    aux_opt.step()
            total, steps = total + float(batch_loss.detach()), steps + 1
        record: dict[str, float] = {"epoch": epoch, "loss": total / max(steps, 1)}
        elapsed = time.perf_counter() - start
        out_of_time = max_seconds is not None and elapsed > max_seconds
        if valid is not None and valid.num_triples and (epoch % eval_every == 0 or epoch == epochs or out_of_time):
            mrr = _valid_mrr(model, train, valid)
            record.update(valid_mrr=mrr, seconds=time.perf_counter() - start)
            if mrr > best_mrr:
                best_mrr, best_state, bad = mrr, copy.deepcopy(model.state_dict()), 0
                result.best_epoch = epoch
            else:
                bad += 1
            bar.set_postfix(loss=f"{record['loss']:.4f}", valid_mrr=f"{mrr:.4f}", best=f"{best_mrr:.4f}")
        else:
            bar.set_postfix(loss=f"{record['loss']:.4f}")
        result.history.append(record)
        result.epochs = epoch
        if should_stop is not None and should_stop():
            result.stopped = True
            break
        if bad >= patience or out_of_time:
            break
    bar.close()
    if best_state is not None:
        model.load_state(best_state)
        result.best_valid_mrr = best_mrr
    else:
        result.best_epoch = result.epochs
    model.eval()
    result.seconds = time.perf_counter() - start
    return result


def _valid_mrr(model: LinkPredictor, train: KGraph, valid: KGraph) -> float:
    tail, head = rank_triples(model, valid.triples, np.concatenate([train.triples, valid.triples]))
    return rank_metrics(np.concatenate([tail, head]))["mrr"]


def _optimizer(name: str, params: list, lr: float) -> torch.optim.Optimizer:
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise GraphError(f"unknown optimizer {name!r}: use 'adagrad' or 'adam'")


def _negative_queries(negatives: np.ndarray, train: KGraph) -> torch.Tensor:
    neg = np.asarray(negatives, dtype=np.int64).reshape(-1, 3)
    if len(neg) == 0:
        return None  # type: ignore[return-value]
    if neg[:, [0, 2]].min() < 0 or neg[:, [0, 2]].max() >= train.num_entities \
            or neg[:, 1].min() < 0 or neg[:, 1].max() >= train.num_relations:
        raise GraphError("a hard negative refers to an entity or relation outside the training vocabulary")
    t = torch.as_tensor(neg)
    return torch.cat([t, torch.stack([t[:, 2], t[:, 1] + train.num_relations, t[:, 0]], 1)])


def _hard_negative_loss(model: LinkPredictor, q: torch.Tensor, state: Any) -> torch.Tensor:
    """``-log(1 - p)`` where ``p`` is the softmax probability of the false answer."""
    logp = torch.log_softmax(model.score_queries(q[:, 0], q[:, 1], state), dim=1)
    p = logp.gather(1, q[:, 2:3]).squeeze(1).exp().clamp(max=1 - 1e-6)
    return -torch.log1p(-p).mean()


def _nsamp_loss(model: LinkPredictor, q: torch.Tensor, state: Any, k: int, temperature: float,
                gen: torch.Generator) -> torch.Tensor:
    """Self-adversarial negative-sampling loss (Sun et al., 2019), corrupting the answer."""
    pos = model.score_pairs(q[:, 0], q[:, 1], q[:, 2], state)
    neg_t = torch.randint(model.num_entities, (len(q), k), generator=gen)
    neg = model.score_pairs(q[:, 0].repeat_interleave(k), q[:, 1].repeat_interleave(k), neg_t.view(-1),
                            state).view(len(q), k)
    weight = torch.softmax(temperature * neg.detach(), dim=1)
    return -(F.logsigmoid(pos).mean() + (weight * F.logsigmoid(-neg)).sum(1).mean()) / 2


# ---------------------------------------------------------------------- persistence
def save_model(path: str | Path, model: LinkPredictor, graph: KGraph | None = None) -> Path:
    """Save ``model`` with the entity keys and relation names it was trained on.

    Writes one ``torch.save`` file of plain dicts, lists and tensors, readable with
    ``weights_only=True``. ``graph`` supplies the vocabulary when the model lacks it.
    """
    entities = model.entities if model.entities is not None else (graph.entities if graph else None)
    relations = model.relations if model.relations is not None else (graph.relations if graph else None)
    if entities is None or relations is None:
        raise GraphError("save_model needs the training graph's vocabulary: pass graph=")
    name = next((k for k, v in MODELS.items() if v is type(model)), None)
    if name is None:
        raise GraphError(f"{type(model).__name__} is not in kgcomplete.models.MODELS and cannot be saved")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": MODEL_FORMAT, "version": 1, "model": name, "hparams": dict(model.hparams),
                "num_entities": model.num_entities, "num_relations": model.num_relations,
                "entities": list(entities), "relations": list(relations),
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}, path)
    return path


def load_model(path: str | Path) -> LinkPredictor:
    """Load a model written by :func:`save_model`; ``model.entities`` / ``model.relations``
    hold its vocabulary. Raises :class:`InputFileError` for anything else."""
    path = Path(path)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise InputFileError(path, None, "no such model file") from e
    except Exception as e:  # the unpickler raises many types for a foreign file
        raise InputFileError(path, None, f"not a kgcomplete model ({type(e).__name__}: {e})") from e
    if not isinstance(blob, dict) or blob.get("format") != MODEL_FORMAT:
        raise InputFileError(path, None, "not a kgcomplete model file")
    model = make_model(blob["model"], blob["num_entities"], blob["num_relations"], **blob["hparams"])
    model.load_state(blob["state_dict"])
    model.entities, model.relations = blob["entities"], blob["relations"]
    model.eval()
    return model
