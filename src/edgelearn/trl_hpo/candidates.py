r"""Training one candidate CNN of TRL-HPO, the candidate cache, and many candidates on a pool.

Each step of a search trains the architecture the agent just extended, from scratch (the
environment step of the paper's Fig. 1), and scores it on 32 validation batches of 16 images:

1. **Configuration and data.** :class:`CandidateTraining` (the paper: 20,000 images, 5 epochs,
   minibatches of 16, Adam 1e-3; the ``device`` as in :mod:`edgelearn.core.devices`) and
   :class:`CandidateData` (tensors, never a DataLoader), loaded by :func:`load_candidate_data`.
2. **One candidate.** :func:`evaluate_candidate` trains with :func:`edgelearn.core.fit.fit`
   (seeded order, fused Adam) on one torch thread and returns the 32 per-batch accuracies of the
   state, the validation accuracy, the training time and the network's cost.
3. **Cache.** :func:`candidate_cache`: a :class:`edgelearn.core.store.DiskCache` keyed by
   architecture, training configuration, data and seed (the paper's open challenge A) *and* by the
   source of this module and what it imports, so an edit to candidate training makes every entry a
   miss while an edit to the agent or the analysis leaves them valid. Entries are files written
   atomically, by the pool's workers as each candidate finishes: processes and resumed runs share them.
4. **Many candidates.** :func:`candidate_pool` opens an :class:`edgelearn.core.pool.Pool` whose
   workers hold the data, moved to the training device once per worker; :func:`evaluate_many`
   trains each distinct uncached architecture of a batch once, in parallel (Ray tasks request a
   GPU share, :func:`ray_task_options`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from edgelearn.core.data import train_val_split
from edgelearn.core.devices import check_device, resolve_device
from edgelearn.core.fit import fit, predict, torch_threads
from edgelearn.core.pool import Pool, context
from edgelearn.core.seeding import derive_seed, torch_generator
from edgelearn.core.store import DiskCache

from .space import Architecture, Layer, arch_name, build_cnn, flops_and_params

CACHE_MODULES = "edgelearn.trl_hpo.candidates"
"""What a cached candidate result depends on: this module and everything it imports."""


# --------------------------------------------------------------------------------------------
# 1. Configuration and data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateTraining:
    """How a candidate is trained: ``n_train`` images, ``epochs``, minibatches of ``batch_size``,
    Adam(``lr``); scored on ``perf_batches`` validation batches of ``perf_batch_size`` images
    (the paper: 20,000 images, 5 epochs, batch 16, Adam 1e-3, 32 batches of 16), on ``device``
    (``"cpu"``, the default and the smoke and laptop scales' choice, gives bit-identical results
    run to run; ``"auto"`` takes a GPU when there is one; :func:`edgelearn.core.devices.resolve_device`)."""

    n_train: int = 20_000
    n_val: int = 10_000
    epochs: int = 5
    batch_size: int = 16
    lr: float = 1e-3
    perf_batches: int = 32
    perf_batch_size: int = 16
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("n_train", "n_val", "epochs", "batch_size", "perf_batches", "perf_batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"'{name}' must be an integer >= 1; got {v!r}")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 1):
            raise ValueError(f"'lr' must lie in (0, 1); got {self.lr!r}")
        if self.perf_batches * self.perf_batch_size > self.n_val:
            raise ValueError(
                f"'perf_batches' x 'perf_batch_size' = {self.perf_batches * self.perf_batch_size} "
                f"must be <= 'n_val' = {self.n_val}"
            )
        check_device(self.device)

    def key_fields(self) -> dict[str, Any]:
        """The fields that identify a result: all but ``device``, plus the resolved device type when
        it is not the CPU (a GPU computes slightly different numbers; ``"auto"`` on a machine without
        one shares the CPU's entries)."""
        fields = dataclasses.asdict(self)
        kind = resolve_device(fields.pop("device")).type
        return fields if kind == "cpu" else fields | {"device": kind}


@dataclass(frozen=True, eq=False)
class CandidateData:
    """Normalised float tensors (N, 1, 28, 28) and labels for training and validation."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    source: str

    def on(self, device: torch.device) -> bool:
        """Whether all four tensors live on ``device`` (``cuda`` without index: the current GPU)."""
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        return all(t.device == device for t in (self.x_train, self.y_train, self.x_val, self.y_val))

    def to(self, device: torch.device | str) -> CandidateData:
        """These data on ``device`` (``self`` when they are there already: no copy on the CPU)."""
        device = torch.device(device)
        if self.on(device):
            return self
        tensors = {name: getattr(self, name).to(device) for name in ("x_train", "y_train", "x_val", "y_val")}
        return dataclasses.replace(self, **tensors)


def load_candidate_data(
    training: CandidateTraining, split_seed: int = 0, data_dir: str | None = None, download: bool | None = False
) -> CandidateData:
    """MNIST through :func:`edgelearn.core.data.train_val_split` (offline: both parts from the 10k test set)."""
    train, val = train_val_split(
        "mnist", training.n_train, training.n_val, seed=split_seed, data_dir=data_dir, download=download
    )
    return CandidateData(
        train.as_float(),
        train.labels,
        val.as_float(),
        val.labels,
        source=f"mnist: train {train.source}; validation {val.source}",
    )


# --------------------------------------------------------------------------------------------
# 2. One candidate
# --------------------------------------------------------------------------------------------


def evaluate_candidate(
    arch: Sequence[Layer], data: CandidateData, training: CandidateTraining, seed: int
) -> dict[str, Any]:
    """Train ``arch`` from scratch and score it (the environment step of TRL-HPO, Fig. 1).

    Training: :func:`edgelearn.core.fit.fit`, ``training.epochs`` passes over the training tensors in
    a ``torch.randperm`` order, minibatches of ``training.batch_size``, fused Adam and cross-entropy;
    initial weights and order both seeded by ``derive_seed("trl-hpo", seed, arch_name(arch))``.
    Scoring: accuracy on each of ``perf_batches`` consecutive batches of ``perf_batch_size``
    validation images (the state's 32 values; one forward pass for all of them) and on the whole
    validation split. Runs on one torch thread, so results do not depend on the process that ran
    them. Returns ``perf`` (list), ``accuracy`` (mean of ``perf``), ``val_accuracy``,
    ``train_seconds``, ``flops``, ``params`` (plain Python numbers).

    Device (``training.device``): model, data, minibatch indexing and validation all run there; the
    permutation is drawn on the CPU and moved once per epoch. ``data`` not yet on the device are
    copied here (a pool's workers hold data moved once). On the CPU the network is
    :func:`~edgelearn.trl_hpo.space.build_cnn`'s ``fast`` one (channels-last max-pools); on a GPU it
    is the textbook conv -> ReLU -> ``nn.MaxPool2d`` order, the same function with the same initial
    weights (the channels-last pool is a CPU-kernel optimisation and would switch the following
    convolutions to channels-last on cuDNN). GPU results agree with CPU ones only up to
    floating-point reordering, so the cache keys them apart (:meth:`CandidateTraining.key_fields`).
    """
    with torch_threads(1):
        device = resolve_device(training.device)
        data = data.to(device)
        run_seed = derive_seed("trl-hpo", seed, arch_name(arch))
        model = build_cnn(arch, run_seed, fast=device.type == "cpu").to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=training.lr, fused=True)  # one kernel per step
        x, y = data.x_train[: training.n_train], data.y_train[: training.n_train]
        fitted = fit(
            model,
            x,
            y,
            optimizer,
            epochs=training.epochs,
            batch_size=training.batch_size,
            generator=torch_generator(run_seed),
        )
        hit = (predict(model, data.x_val) == data.y_val).float()
        n_perf = training.perf_batches * training.perf_batch_size
        perf = hit[:n_perf].reshape(training.perf_batches, training.perf_batch_size).mean(1).cpu()
        flops, params = flops_and_params(arch)
        return {
            "perf": [float(v) for v in perf],
            "accuracy": float(perf.mean()),
            "val_accuracy": float(hit.mean()),
            "train_seconds": fitted.train_seconds,
            "flops": flops,
            "params": params,
        }


# --------------------------------------------------------------------------------------------
# 3. The candidate cache
# --------------------------------------------------------------------------------------------


def candidate_cache(folder: str | os.PathLike) -> DiskCache:
    """The candidate cache in ``folder``: a :class:`~edgelearn.core.store.DiskCache` whose entries
    depend on :data:`CACHE_MODULES` (candidate training, the search space, and the core they use)."""
    return DiskCache(folder, CACHE_MODULES)


def candidate_spec(arch: Sequence[Layer], training: CandidateTraining, seed: int, data_tag: str = "") -> dict:
    """What identifies a candidate's result in the cache (the code fingerprint is added by the cache)."""
    return {"arch": arch_name(arch), "training": training.key_fields(), "seed": int(seed), "data": data_tag}


# --------------------------------------------------------------------------------------------
# 4. Many candidates on a pool
# --------------------------------------------------------------------------------------------


def _worker_data(data: CandidateData, device: str) -> CandidateData:
    """A pool worker's setup: its copy of the data, moved to the training device once."""
    return data.to(resolve_device(device))


def _evaluate_in_worker(
    arch: Architecture, training: CandidateTraining, seed: int, cache: DiskCache, spec: dict
) -> dict[str, Any]:
    """A pool task: train one candidate on the worker's data and store it in the cache at once (a
    finished candidate survives a kill of the search in the middle of a batch)."""
    result = evaluate_candidate(arch, context(), training, seed)
    cache.put(spec, result)
    return result


def candidate_pool(data: CandidateData, device: str = "cpu", workers: int = 1, backend: str = "process") -> Pool:
    """A :class:`~edgelearn.core.pool.Pool` of ``workers`` (``"serial"``, ``"process"`` or ``"ray"``)
    whose workers each hold ``data`` on ``device``, for :func:`evaluate_many`; use as a context manager.

    The data go to every worker on the CPU and are moved to the GPU inside it (one CUDA context and
    one data copy per worker; the workers share the GPU). Process workers are spawned, so CUDA is
    initialised only inside them; the process workers start now, not inside a timed search.
    """
    check_device(device)
    pool = Pool(workers, backend, setup=_worker_data, setup_args=(data, device))
    try:
        pool.warm_up()
    except BaseException:
        pool.close()
        raise
    return pool


def ray_task_options(device: str, workers: int | None = None, gpus_per_task: float | None = None) -> dict[str, Any]:
    """Resources of one Ray candidate task: one CPU, plus ``gpus_per_task`` GPUs (default
    ``1 / workers``, so ``workers`` tasks share a GPU) only when ``device`` is a CUDA device; an
    ``"auto"`` device counts as CUDA when this (driver) process sees a GPU."""
    check_device(device)
    wants_gpu = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if not wants_gpu:
        return {"num_cpus": 1}
    share = gpus_per_task if gpus_per_task is not None else 1.0 / max(int(workers or 1), 1)
    if not 0 < share <= 1:
        raise ValueError(f"'gpus_per_task' must lie in (0, 1]; got {share!r}")
    return {"num_cpus": 1, "num_gpus": share}


def evaluate_many(
    archs: Sequence[Architecture],
    pool: Pool,
    cache: DiskCache,
    training: CandidateTraining,
    seed: int,
    data_tag: str = "",
) -> tuple[list[dict[str, Any]], list[bool]]:
    """Results of ``archs`` in order, training each distinct uncached architecture once, in parallel.

    Returns the results and, per entry, whether it was trained now (False: from the cache or a
    duplicate within the batch). Collapsed architectures must be filtered out before. The workers
    write each result into ``cache`` as soon as it is trained (so a kill loses only the candidates
    in flight); results whose file this process does not see (Ray workers on other machines) are
    written here. On Ray each
    task requests :func:`ray_task_options`, and an ``"auto"`` device is resolved here, where the
    GPU request is decided.
    """
    specs = [candidate_spec(a, training, seed, data_tag) for a in archs]
    keys = [cache.key(spec) for spec in specs]
    found: dict[str, dict[str, Any]] = {}
    todo: dict[str, tuple[dict, Architecture]] = {}
    for key, spec, arch in zip(keys, specs, archs):
        if key not in found and key not in todo:
            hit = cache.get(spec)
            if hit is None:
                todo[key] = (spec, tuple(arch))
            else:
                found[key] = hit
    if todo:
        options = None
        if pool.backend == "ray":
            options = ray_task_options(training.device, pool.workers)
            if training.device == "auto":
                training = dataclasses.replace(training, device="cuda" if "num_gpus" in options else "cpu")
        tasks = [(arch, training, seed, cache, spec) for spec, arch in todo.values()]
        for (key, (spec, _)), result in zip(todo.items(), pool.map(_evaluate_in_worker, tasks, ray_options=options)):
            if spec not in cache:  # a Ray worker on another machine wrote to its own disk
                cache.put(spec, result)
            found[key] = result
    trained, seen = [], set()
    for key in keys:
        trained.append(key in todo and key not in seen)
        seen.add(key)
    return [found[key] for key in keys], trained
