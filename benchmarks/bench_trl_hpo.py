"""TRL-HPO candidate evaluation: ours against a re-implementation of the original per-candidate loop.

Both train the same architectures on the same MNIST tensors with the paper's settings per candidate
(Adam 1e-3, minibatches of 16, 5 epochs; here on 1,000 training images so that the benchmark takes
about two minutes) and score them on the 32 validation batches of 16 images of TRL-HPO's state.

* ``reference``: the original loop, re-implemented: the authors train on ``torchvision.datasets.MNIST``
  with ``transforms.Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])``, so every sample is
  turned into a PIL image and transformed when its batch is drawn. :class:`TorchvisionStyleMNIST`
  does exactly what that data set's ``__getitem__`` does, on the same images (offline, the
  torchvision class cannot be pointed at our train/validation split of the 10k test set); a
  ``torch.utils.data.DataLoader`` draws shuffled batches of 16, one optimiser step per batch;
  validation through a second DataLoader, one accuracy per batch of 16. No cache, one candidate
  after the other. ``--tensor-reference`` replaces the per-sample transforms by a ``TensorDataset``
  of the already normalised tensors, to show how much of the gap is the data path.
* ``ours``: :func:`edgelearn.trl_hpo.candidates.evaluate_candidate` (:func:`edgelearn.core.fit.fit`:
  a seeded ``torch.randperm`` indexing the tensors, no DataLoader; one forward pass for all 32
  validation batches), and, end to end, :func:`edgelearn.trl_hpo.candidates.evaluate_many` with the
  candidate cache (a fresh :class:`edgelearn.core.store.DiskCache` in a temporary folder) and a
  :func:`~edgelearn.trl_hpo.candidates.candidate_pool` of 2 processes.

Both run with one torch thread per candidate. What differs: the data path (per-sample transforms
and a DataLoader vs index tensors), the validation pass, and Adam's implementation (ours uses the
fused kernel: the same update, one call per step); batch size, epochs, learning rate and models are
the same. The networks compute the same function from the same weights, but ours
(``build_cnn(fast=True)``) runs max-pooling in the channels-last layout and applies a conv's ReLU
after the pools that follow it; the reference is the textbook conv -> ReLU -> ``nn.MaxPool2d``
(``build_cnn(fast=False)``).

Two ratios are printed: *raw* (per distinct candidate, serial, sum of times) and *end to end*
(a workload of 24 candidates of which 8 repeat earlier ones, as a search proposes them: the
reference retrains repeats, so its time is the sum of its measured per-candidate times; ours is
measured with the process pool's start and, as in a search that keeps its
pool, without). Run ``python benchmarks/bench_trl_hpo.py``.
No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torchvision import transforms

from edgelearn import trl_hpo as trl
from edgelearn.core.data import train_val_split

CONFIG = trl.CandidateTraining(n_train=1000, n_val=512, epochs=5, batch_size=16, lr=1e-3)
N_DISTINCT, N_REPEATS = 16, 8  # a third repeats, as in our laptop TRL-HPO runs (31 % cache hits)


class TorchvisionStyleMNIST(Dataset):
    """``torchvision.datasets.MNIST.__getitem__`` on given uint8 images: PIL image, then ``transform``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels
        self.transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.images[i].numpy(), mode="L")), int(self.labels[i])


def reference_sets(config: trl.CandidateTraining, data: trl.CandidateData, tensors: bool) -> tuple[Dataset, Dataset]:
    """The reference's training and validation sets: per-sample transforms (default) or tensors."""
    n = config.perf_batches * config.perf_batch_size
    if tensors:
        return (
            TensorDataset(data.x_train[: config.n_train], data.y_train[: config.n_train]),
            TensorDataset(data.x_val[:n], data.y_val[:n]),
        )
    train, val = train_val_split("mnist", config.n_train, config.n_val, seed=0, download=False)
    return TorchvisionStyleMNIST(train.images, train.labels), TorchvisionStyleMNIST(val.images[:n], val.labels[:n])


def reference_candidate(
    arch: trl.Architecture, sets: tuple[Dataset, Dataset], config: trl.CandidateTraining, seed: int
) -> list[float]:
    """The original per-candidate loop: DataLoader training, DataLoader validation, per-batch accuracy."""
    torch.set_num_threads(1)
    model = trl.build_cnn(arch, seed, fast=False)  # conv -> ReLU -> nn.MaxPool2d, as the original
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    train = DataLoader(
        sets[0], batch_size=config.batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    model.train()
    for _ in range(config.epochs):
        for x, y in train:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    val = DataLoader(sets[1], batch_size=config.perf_batch_size)
    model.eval()
    perf = []
    with torch.no_grad():
        for x, y in val:
            perf.append(float((model(x).argmax(1) == y).float().mean()))
    return perf


def workload(space: trl.SearchSpace, seed: int = 0) -> list[trl.Architecture]:
    """``N_DISTINCT`` random valid architectures of 1-3 layers (under 300k parameters), then repeats."""
    rng = np.random.default_rng(seed)
    archs: list[trl.Architecture] = []
    while len(archs) < N_DISTINCT:
        arch: list[trl.Layer] = []
        for _ in range(int(rng.integers(1, 4))):
            arch.append(trl.decode_action(rng.random(4), arch[-1].kind if arch else None, space))
        arch_t = tuple(arch)
        if not trl.collapses(arch_t) and trl.flops_and_params(arch_t)[1] < 300_000 and arch_t not in archs:
            archs.append(arch_t)
    repeats = [archs[int(i)] for i in rng.choice(N_DISTINCT, N_REPEATS, replace=False)]
    return archs + repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tensor-reference",
        action="store_true",
        help="reference reads a TensorDataset instead of transforming each sample",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = trl.load_candidate_data(trl.CandidateTraining(n_train=CONFIG.n_train, n_val=CONFIG.n_val))
    sets = reference_sets(CONFIG, data, args.tensor_reference)
    print("reference data path:", "TensorDataset" if args.tensor_reference else "per-sample PIL + ToTensor + Normalize")
    archs = workload(trl.SearchSpace())
    distinct = archs[:N_DISTINCT]
    print(
        f"{N_DISTINCT} distinct candidates + {N_REPEATS} repeats; {CONFIG.n_train} images x {CONFIG.epochs} epochs, "
        f"batch {CONFIG.batch_size}"
    )
    ref_times, our_times = {}, {}
    for arch in distinct:
        t0 = time.perf_counter()
        reference_candidate(arch, sets, CONFIG, 0)
        ref_times[arch] = time.perf_counter() - t0
        t0 = time.perf_counter()
        trl.evaluate_candidate(arch, data, CONFIG, 0)
        our_times[arch] = time.perf_counter() - t0
        print(
            f"  {trl.arch_name(arch):40s} reference {ref_times[arch]:6.2f} s   ours {our_times[arch]:6.2f} s   "
            f"x{ref_times[arch] / our_times[arch]:.2f}"
        )
    raw = sum(ref_times.values()) / sum(our_times.values())
    ref_e2e = sum(ref_times[a] for a in archs)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, trl.candidate_pool(data, CONFIG.device, 2, "process") as pool:
        t1 = time.perf_counter()
        trl.evaluate_many(archs, pool, trl.candidate_cache(folder), CONFIG, 0)
        ours_warm = time.perf_counter() - t1
    ours_e2e = time.perf_counter() - t0
    print(
        f"raw per-candidate ratio (serial, distinct candidates): {raw:.2f}x "
        f"({sum(ref_times.values()):.1f} s vs {sum(our_times.values()):.1f} s)"
    )
    print(
        f"end-to-end ratio ({len(archs)} candidates, cache + 2 processes): {ref_e2e / ours_e2e:.2f}x "
        f"({ref_e2e:.1f} s vs {ours_e2e:.1f} s, pool start included)"
    )
    print(f"end-to-end ratio, pool already running: {ref_e2e / ours_warm:.2f}x ({ref_e2e:.1f} s vs {ours_warm:.1f} s)")


if __name__ == "__main__":
    main()
