"""Train a link predictor: :func:`fit`, with early stopping on validation MRR,
best-checkpoint restore, fixed seeds and a progress bar.

Training scores each ``(entity, relation)`` query against all entities (1-N) with
cross-entropy, and uses reciprocal relations: every triple ``(h, r, t)`` gives the queries
``(h, r, ?) -> t`` and ``(t, r + R, ?) -> h``. For graphs too large for 1-N, ``loss="sampled"`` is a softmax over
each query's answer and ``num_negatives`` random entities shared by the batch (one matrix
product, cost independent of the entity count), and ``loss="nsamp"`` the self-adversarial
negative sampling of RotatE (Sun et al., 2019).

Example:
    >>> result = fit("complex", ds.train, ds.valid, epochs=50)          # doctest: +SKIP
    >>> result.model.score_tails(torch.tensor([0]), torch.tensor([1])).shape  # doctest: +SKIP
    torch.Size([1, num_entities])
    >>> result.stop_reason                                              # doctest: +SKIP
    'early_stopping'
"""

from __future__ import annotations

import copy
import inspect
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from kgcomplete.errors import ConfigError, GraphError
from kgcomplete.evaluation.ranking import rank_metrics, rank_triples
from kgcomplete.graph import KGraph
from kgcomplete.models import MODELS, make_model
from kgcomplete.models.base import LinkPredictor, reciprocal_queries
from kgcomplete.training.loop import TrainingLoop, seed_everything, set_threads
from kgcomplete.training.memory import check_training_memory

# Adagrad's sparse step builds its tensors from valid indices; torch warns about skipping checks
warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")

#: Training losses :func:`fit` knows.
LOSSES = ("1-n", "sampled", "bce", "nsamp")


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes:
        model: the trained model, restored to its best validation checkpoint.
        history: one dict per epoch: ``epoch``, ``loss``, ``seconds`` (since the start) and,
            where evaluated, ``valid_mrr``, for training curves.
        best_epoch: epoch of the restored checkpoint (last epoch without validation).
        best_valid_mrr: its validation MRR (``None`` without validation).
        epochs: epochs actually run.
        seconds: wall-clock training time (including validation).
        stop_reason: why training ended: ``max_epochs``, ``early_stopping``,
            ``time_budget`` or ``stopped``.
        threads: torch threads used.
        loss: the training loss (``"sampled"`` on large graphs, see
            :mod:`~kgcomplete.training.defaults`).
    """

    model: LinkPredictor
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_valid_mrr: float | None = None
    epochs: int = 0
    seconds: float = 0.0
    stop_reason: str = "max_epochs"
    threads: int = 1
    loss: str = "1-n"

    @property
    def stopped(self) -> bool:
        """Training ended because ``should_stop`` said so."""
        return self.stop_reason == "stopped"


def fit(model: LinkPredictor | str, train: KGraph, valid: KGraph | None = None, *,
        epochs: int = 100, batch_size: int = 512, group_answers: bool = True, answers_per_row: int = 0,
        lr: float | None = None, optimizer: str | None = None, patience: int = 5, eval_every: int = 5, seed: int = 0,
        progress: bool = True, loss: str = "1-n", label_smoothing: float = 0.0, candidates: int | None = None,
        num_negatives: int = 32, adversarial_temperature: float = 1.0, negatives: np.ndarray | None = None,
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
        group_answers: with the 1-N loss, score each distinct ``(entity, relation)`` query
            once per epoch against all its known answers (one cross-entropy term per
            answer, as for one row per triple: the same gradient per epoch, from a fifth to a
            third of the scoring on the benchmarks; PyKEEN calls these rows LCWA); ``False``
            scores one row per triple. (default: :obj:`True`)
        answers_per_row: with grouped rows, split each query's answers at random into rows
            of at most this many, afresh each epoch (:meth:`QueryGroups.split`); ``0`` keeps
            them all in one row. A row hides only its own answers' edges from a GNN, so a
            query with many answers still reads the paths through the others, as it does at
            test time. (default: :obj:`0`)
        lr: learning rate. (default: the model's ``learning_rate``)
        optimizer: ``"adagrad"`` or ``"adam"``. (default: the model's ``optimizer``)
        patience: validations without improvement before stopping. (default: :obj:`5`)
        eval_every: epochs between validations. (default: :obj:`5`)
        seed: seeds Python, NumPy and PyTorch. (default: :obj:`0`)
        progress: show a tqdm progress bar. (default: :obj:`True`)
        loss: ``"1-n"`` (cross-entropy over all entities), ``"bce"`` (each query's rows
            scored against all entities once, binary cross-entropy of its answers against
            ``num_negatives`` random entities, never another answer of the query, weighted
            self-adversarially, as NBFNet trains)
            ``"sampled"`` (softmax over the answer and ``num_negatives`` random entities
            shared by the batch) or ``"nsamp"`` (sampled negatives, self-adversarial).
            (default: :obj:`"1-n"`)
        label_smoothing: label smoothing of the 1-N loss. (default: :obj:`0.0`)
        candidates: for graphs with more entities, score each batch against the true answers
            plus this many random entities shared by the batch (sampled softmax) instead of
            all entities; ``None`` scores all. (default: :obj:`None`)
        num_negatives: negatives per query for ``"nsamp"`` and ``"bce"``, per batch for
            ``"sampled"``. (default: :obj:`32`)
        adversarial_temperature: self-adversarial temperature for ``"nsamp"``.
            (default: :obj:`1.0`)
        negatives: ``shape: (k, 3)`` known-false triples (e.g. rejected suggestions); their
            probability under each query's softmax is pushed towards 0. (default: :obj:`None`)
        negative_weight: weight of that term. (default: :obj:`1.0`)
        max_seconds: stop after this much training time. (default: :obj:`None`)
        threads: torch threads. (default: ``OMP_NUM_THREADS``, else every core)
        should_stop: asked after each epoch; when it says yes training ends there (best
            checkpoint restored, ``stopped`` set), e.g. on a scheduler's SIGTERM.
            (default: :obj:`None`)

    Returns:
        :class:`FitResult`.

    Raises:
        GraphError: ``train`` is empty, ``valid`` does not share its vocabulary, or
            ``negatives`` name unknown entities or relations.
    """
    used_threads = set_threads(threads)
    seed_everything(seed)
    if train.num_triples == 0:
        raise GraphError("the training graph has no triples: nothing to learn from")
    if valid is not None and (valid.num_entities != train.num_entities or valid.num_relations != train.num_relations):
        raise GraphError("valid must share the vocabulary of train (use KGraph.split or load_dataset)")
    if loss not in LOSSES:
        raise ConfigError(f"unknown loss {loss!r}: use one of {', '.join(LOSSES)}")
    if isinstance(model, str):
        if epochs:
            _check_memory(model, train, model_kw, batch_size, loss, candidates, num_negatives)
        model = make_model(model, train.num_entities, train.num_relations, **model_kw)
    elif model_kw:
        raise TypeError(f"model options {sorted(model_kw)} only apply when model is given by name")
    model.entities, model.relations = list(train.entities), list(train.relations)
    start = time.perf_counter()
    model.prepare(train)  # heuristics do all their work here: it counts as training time
    result = FitResult(model=model, threads=used_threads, loss=loss)
    validate = valid is not None and valid.num_triples > 0
    if not model.trainable or epochs == 0:
        result.seconds = time.perf_counter() - start
        if validate:
            result.best_valid_mrr = valid_mrr(model, train, valid)  # type: ignore[arg-type]
        return result

    queries = reciprocal_queries(torch.as_tensor(train.triples), train.num_relations)
    sampled = loss == "1-n" and candidates is not None and candidates < model.num_entities
    groups = QueryGroups(queries, 2 * train.num_relations) \
        if (loss == "1-n" and group_answers and not sampled) or loss == "bce" else None
    neg_queries = _negative_queries(negatives, train) if negatives is not None else None
    aux = model.auxiliary_parameters()
    aux_ids = {id(p) for p in aux}
    main = [p for p in model.parameters() if id(p) not in aux_ids]
    sparse = any(isinstance(m, torch.nn.Embedding) and m.sparse for m in model.modules())
    opt = make_optimizer(optimizer or getattr(model, "optimizer", None) or "adam", main,
                     lr or getattr(model, "learning_rate", None) or 1e-3, sparse)
    aux_opt = torch.optim.Adam(aux, lr=1e-3) if aux else None
    gen = torch.Generator().manual_seed(seed)
    num_sampled = int(candidates or 0)

    loop = TrainingLoop(model, epochs=epochs, eval_every=eval_every, patience=patience, max_seconds=max_seconds,
                        should_stop=should_stop, progress=progress, desc=type(model).__name__)
    for epoch in loop:
        model.train()
        rows = groups.split(answers_per_row, gen) if groups is not None and answers_per_row > 0 else groups
        perm = torch.randperm(len(rows) if rows is not None else len(queries), generator=gen)
        total, steps = 0.0, 0
        for i in range(0, len(perm), batch_size):
            if rows is not None:   # each distinct query (or each part of its answers) once
                index = perm[i:i + batch_size]
                entity, relation, row, answer = rows.batch(index)
                q = torch.stack([entity[row], relation[row], answer], 1)   # one row per triple, for the penalty
                model.hide_triples(q)
                state = model.encode()
                logits = model.score_queries(entity, relation, state)
                if loss == "bce":
                    known = rows.known(index) if rows is not groups else None   # unsplit: the batch's own
                    batch_loss = _grouped_bce(logits, row, answer, num_negatives, adversarial_temperature, gen, known)
                else:
                    batch_loss = grouped_cross_entropy(logits, row, answer, label_smoothing)
            elif sampled:
                q = queries[perm[i:i + batch_size]]
                model.hide_triples(q)
                state = model.encode()
                cand = torch.unique(torch.cat([q[:, 2], torch.randint(model.num_entities, (num_sampled,), generator=gen)]))
                logits = model.score_candidates(q[:, 0], q[:, 1], cand, state)
                batch_loss = F.cross_entropy(logits, torch.searchsorted(cand, q[:, 2].contiguous()),
                                             label_smoothing=label_smoothing)
            elif loss == "sampled":
                q = queries[perm[i:i + batch_size]]
                state = model.encode()
                batch_loss = _shared_negatives_loss(model, q, state, num_negatives, label_smoothing, gen)
            elif loss == "1-n":
                q = queries[perm[i:i + batch_size]]
                model.hide_triples(q)
                state = model.encode()
                logits = model.score_queries(q[:, 0], q[:, 1], state)
                batch_loss = F.cross_entropy(logits, q[:, 2], label_smoothing=label_smoothing)
            else:
                q = queries[perm[i:i + batch_size]]
                model.hide_triples(q)
                state = model.encode()
                batch_loss = _nsamp_loss(model, q, state, num_negatives, adversarial_temperature, gen)
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
        score = valid_mrr(model, train, valid) if validate and loop.should_validate(epoch) else None  # type: ignore[arg-type]
        loop.end_epoch(epoch, {"loss": total / max(steps, 1)}, score)
    loop.restore_best(model.load_state)
    model.eval()
    result.history = [_named(h) for h in loop.history]
    result.best_epoch, result.best_valid_mrr = loop.best_epoch, loop.best_score
    result.epochs, result.stop_reason = loop.epochs_run, loop.stop_reason
    result.seconds = time.perf_counter() - start
    return result


def _named(record: dict[str, float]) -> dict[str, float]:
    """A loop record with the validation score under its name, ``valid_mrr``."""
    out = dict(record)
    if "valid" in out:
        out["valid_mrr"] = out.pop("valid")
    return out


class QueryGroups:
    """The distinct ``(entity, relation)`` queries among training queries, each with all
    its answers. umls has 10,432 reciprocal training queries and 1,560 distinct ones.

    Args:
        queries: ``shape: (n, 3), dtype: long`` rows ``(entity, relation, answer)``.
        width: number of relation indices (``2R`` with reciprocals).

    Attributes:
        entity, relation: ``shape: (Q,)`` the distinct queries.
        counts: ``shape: (Q,)`` answers per query; ``answers`` holds them query by query.
        query, whole: each row's query in ``whole``, the groups before :meth:`split`
            (``self`` and every row's own index when not split).
    """

    def __init__(self, queries: torch.Tensor, width: int) -> None:
        key = queries[:, 0] * width + queries[:, 1]
        order = torch.argsort(key, stable=True)
        unique, self.counts = torch.unique_consecutive(key[order], return_counts=True)
        self.entity, self.relation = unique // width, unique % width
        self.answers = queries[order, 2]
        self.starts = torch.cumsum(self.counts, 0) - self.counts
        self.query, self.whole = torch.arange(len(self.counts)), self

    def __len__(self) -> int:
        return len(self.counts)

    def split(self, size: int, gen: torch.Generator) -> QueryGroups:
        """The same queries with each one's answers shuffled into rows of at most ``size``
        (``ceil(count / size)`` rows a query). A row hides only its own answers' edges in
        training, so a query still reads the paths through its other answers, as it does when
        it is asked at test time; :meth:`known` still gives each row all its query's answers."""
        key = torch.repeat_interleave(torch.arange(len(self)), self.counts)
        shuffled = torch.randperm(len(key), generator=gen)
        order = shuffled[torch.argsort(key[shuffled], stable=True)]   # answers shuffled within each query
        deal = torch.arange(len(key)) - torch.repeat_interleave(self.starts, self.counts)
        part = key * len(self.answers) + deal // size   # ascending: answers are stored query by query
        chunks = copy.copy(self)
        unique, chunks.counts = torch.unique_consecutive(part, return_counts=True)
        chunks.query = unique // len(self.answers)
        chunks.entity, chunks.relation = self.entity[chunks.query], self.relation[chunks.query]
        chunks.answers = self.answers[order]
        chunks.starts = torch.cumsum(chunks.counts, 0) - chunks.counts
        return chunks

    def known(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(row, answer)``: every known answer of the query of each row ``index`` (more than
        :meth:`batch` gives when the rows come from :meth:`split`)."""
        _, _, row, answer = self.whole.batch(self.query[index])
        return row, answer

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(entity, relation, row, answer)`` of the queries ``index``: ``entity`` and
        ``relation`` ``shape: (B,)``; ``row`` and ``answer`` ``shape: (K,)``, one entry per
        known answer (``row`` indexes the batch)."""
        counts = self.counts[index]
        row = torch.repeat_interleave(torch.arange(len(index)), counts)
        first = torch.repeat_interleave(self.starts[index] - (torch.cumsum(counts, 0) - counts), counts)
        return self.entity[index], self.relation[index], row, self.answers[first + torch.arange(len(row))]


def grouped_cross_entropy(logits: torch.Tensor, row: torch.Tensor, answer: torch.Tensor,
                           label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean over the ``(row, answer)`` pairs of ``-log softmax(logits[row])[answer]`` (with
    label smoothing as in ``F.cross_entropy``): the 1-N cross-entropy of each triple, with
    the softmax computed once per row. ``logits``: ``shape: (B, N)``."""
    lse = torch.logsumexp(logits, dim=1)
    per_pair = lse[row] - logits[row, answer]
    if label_smoothing:
        per_pair = (1 - label_smoothing) * per_pair + label_smoothing * (lse - logits.mean(1))[row]
    return per_pair.mean()


def _check_memory(name: str, train: KGraph, model_kw: dict[str, Any], batch_size: int, loss: str,
                  candidates: int | None, num_negatives: int) -> None:
    """Refuse, before any table is allocated, a training run the machine cannot hold."""
    cls = MODELS.get(name.lower())
    if cls is None or not getattr(cls, "trainable", True):
        return  # make_model names the unknown model
    param = inspect.signature(cls).parameters.get("dim")
    dim = model_kw.get("dim", param.default if param is not None else None)
    if not isinstance(dim, int):
        return
    targets = (num_negatives + 1) if loss in ("nsamp", "sampled") else (batch_size + candidates if candidates else None)
    check_training_memory(name, train.num_entities, train.num_relations, dim * getattr(cls, "entity_factor", 1),
                          batch_size, targets)


#: Draws of a negative before it is left out for being another answer of its row.
STRICT_DRAWS = 10


def _grouped_bce(logits: torch.Tensor, row: torch.Tensor, answer: torch.Tensor, k: int, temperature: float,
                 gen: torch.Generator, known: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Binary cross-entropy of each ``(row, answer)`` pair against ``k`` random entities of
    its row, the negatives weighted by their softmax at ``temperature`` (self-adversarial).
    Negatives are strict, as NBFNet's: never another answer of the same row (redrawn, and
    left out of the loss if still one after :data:`STRICT_DRAWS` draws). ``known``
    ``(row, answer)`` adds answers that are no positive of this batch but no negative either.
    ``logits``: ``shape: (B, N)`` (the queries scored against all entities once)."""
    answers = torch.zeros(logits.shape, dtype=torch.bool, device=row.device)
    answers[row, answer] = True
    if known is not None:
        answers[known[0].to(row.device), known[1].to(row.device)] = True
    rows = row.unsqueeze(1).expand(-1, k)
    cand = torch.randint(logits.shape[1], rows.shape, generator=gen).to(row.device)
    for _ in range(STRICT_DRAWS - 1):
        hit = answers[rows, cand]
        if not bool(hit.any()):
            break
        cand[hit] = torch.randint(logits.shape[1], (int(hit.sum()),), generator=gen).to(row.device)
    still_answer = answers[rows, cand]
    pos, neg = logits[row, answer], logits[rows, cand]
    weight = torch.softmax((temperature * neg.detach()).masked_fill(still_answer, float("-inf")), dim=1)
    weight = torch.nan_to_num(weight)   # a row whose every draw was an answer adds no negative
    return -(F.logsigmoid(pos) + (weight * F.logsigmoid(-neg)).sum(1)).mean() / 2


#: Validation ranks at most this many scores (queries x entities) against all entities:
#: every benchmark's whole validation split (wn18rr: 3,034 triples, 41k entities), about
#: 2,000 triples on a million entities (a random, fixed sample).
VALID_SCORES = 4_000_000_000
VALID_TRIPLES = (1_000, 5_000)


def valid_sample(valid: KGraph, num_entities: int, seed: int = 0) -> np.ndarray:
    """The validation triples :func:`fit` ranks: all of them, or a fixed random sample of
    ``VALID_SCORES / (2 N)`` (between 1,000 and 5,000) on large graphs."""
    cap = int(np.clip(VALID_SCORES // (2 * max(num_entities, 1)), *VALID_TRIPLES))
    if valid.num_triples <= cap:
        return valid.triples
    return valid.triples[np.sort(np.random.default_rng(seed).choice(valid.num_triples, cap, replace=False))]


def valid_mrr(model: LinkPredictor, train: KGraph, valid: KGraph) -> float:
    tail, head = rank_triples(model, valid_sample(valid, model.num_entities), np.concatenate([train.triples, valid.triples]))
    return rank_metrics(np.concatenate([tail, head]))["mrr"]


def make_optimizer(name: str, params: list, lr: float, sparse: bool = False) -> torch.optim.Optimizer:
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, foreach=False if sparse else None)
    if sparse:
        raise ConfigError(f"a sparse entity table trains with optimizer 'adagrad', not {name!r}")
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ConfigError(f"unknown optimizer {name!r}: use 'adagrad' or 'adam'")


def _negative_queries(negatives: np.ndarray, train: KGraph) -> torch.Tensor:
    neg = np.asarray(negatives, dtype=np.int64).reshape(-1, 3)
    if len(neg) == 0:
        return None  # type: ignore[return-value]
    if neg[:, [0, 2]].min() < 0 or neg[:, [0, 2]].max() >= train.num_entities \
            or neg[:, 1].min() < 0 or neg[:, 1].max() >= train.num_relations:
        raise GraphError("a hard negative refers to an entity or relation outside the training vocabulary")
    return reciprocal_queries(torch.as_tensor(neg), train.num_relations)


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


def _shared_negatives_loss(model: LinkPredictor, q: torch.Tensor, state: Any, k: int, label_smoothing: float,
                           gen: torch.Generator) -> torch.Tensor:
    """Cross-entropy of each query's answer against ``k`` random entities shared by the
    batch (a negative that happens to be the answer is left out of its row)."""
    neg = torch.randint(model.num_entities, (k,), generator=gen)
    pos = model.score_pairs(q[:, 0], q[:, 1], q[:, 2], state).unsqueeze(1)
    negs = model.score_candidates(q[:, 0], q[:, 1], neg, state).masked_fill(neg[None, :] == q[:, 2:3], float("-inf"))
    return F.cross_entropy(torch.cat([pos, negs], 1), torch.zeros(len(q), dtype=torch.long),
                           label_smoothing=label_smoothing)
