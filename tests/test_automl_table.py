"""The MA2ML joint-space table: space, augmentations, FLOPs, real training, resumable builds, provenance."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from edgelearn import automl_table as at
from edgelearn.data import DataUnavailableError, load_dataset

SMOKE = at.TABLE_SCALES["smoke"]
HAS_RAY = importlib.util.find_spec("ray") is not None


pytestmark = pytest.mark.usefixtures("isolated_data_env")


def _have_smoke_data() -> bool:
    try:
        load_dataset(SMOKE.dataset, "test", download=False)
        return True
    except DataUnavailableError:
        return False


needs_data = pytest.mark.skipif(not _have_smoke_data(), reason="no local MNIST test set")


@pytest.fixture(scope="module")
def smoke_data() -> at.TableData:
    return at.load_table_data(SMOKE, download=False)


def tiny_space() -> at.JointSpace:
    """2 augmentations x 1 architecture x 2 hyper-parameter sets = 4 pipelines."""
    return at.JointSpace().subspace(aug=["none", "flip"], arch=["c8"], hpo=[4, 6])


def without_time(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns="train_seconds").reset_index(drop=True)


# -- the space ------------------------------------------------------------------------------

def test_full_space_dims_and_names():
    space = at.JointSpace()
    assert space.dims == (5, 6, 8)
    assert space.n_pipelines == 240
    assert space.names("hpo")[0] == "lr1e-3_b64_wd0"
    assert "lr3e-3_b256_wd5e-4" in space.names("hpo")
    assert len(set(space.names("hpo"))) == 8
    assert space.name_of(1, 3, 0) == "flip/c16-32/lr1e-3_b64_wd0"
    assert space.name_of("flip", "c16-32", "lr1e-3_b64_wd0") == "flip/c16-32/lr1e-3_b64_wd0"
    assert len(list(space.pipelines())) == 240


def test_subspace_reindexes_and_validates():
    sub = at.JointSpace().subspace(aug=[0, 3], hpo=["lr3e-3_b256_wd5e-4"])
    assert sub.dims == (2, 6, 1)
    assert sub.aug == ("none", "rotate")
    assert sub.hpo[0] == at.HyperParameters(3e-3, 256, 5e-4)
    with pytest.raises(ValueError, match=r"'hpo'.*0\.\.7"):
        at.JointSpace().subspace(hpo=[8])
    with pytest.raises(ValueError, match="'arch'"):
        at.JointSpace().subspace(arch=[])
    with pytest.raises(ValueError, match=r"'aug'.*0\.\.4"):
        at.JointSpace().name_of(5, 0, 0)


@pytest.mark.parametrize("kwargs, module, valid", [
    ({"aug": ("none", "blur")}, "aug", "rotate"),
    ({"arch": ("c8", "resnet18")}, "arch", "c16-32-64"),
    ({"arch": ()}, "arch", "non-empty"),
    ({"hpo": ("lr1e-1_b64_wd0",)}, "hpo", "lr1e-3_b64_wd0"),
    ({"aug": ("flip", "flip")}, "aug", "more than once"),
])
def test_space_rejects_bad_modules(kwargs, module, valid):
    with pytest.raises(ValueError) as info:
        at.JointSpace(**kwargs)
    assert f"'{module}'" in str(info.value) and valid in str(info.value)


def test_table_config_validation():
    assert at.TableConfig(10, 5, 1, [0, 1]).seeds == (0, 1)
    for bad in (dict(train_size=0, val_size=5, epochs=1, seeds=(0,)),
                dict(train_size=10, val_size=5, epochs=0, seeds=(0,)),
                dict(train_size=10, val_size=5, epochs=1, seeds=()),
                dict(train_size=10, val_size=5, epochs=1, seeds=(1, 1)),
                dict(train_size=10, val_size=5, epochs=1, seeds=(0,), dataset="cifar10")):
        with pytest.raises(ValueError):
            at.TableConfig(**bad)
    assert set(at.TABLE_SCALES) == {"smoke", "laptop", "paper"}
    with pytest.raises(ValueError, match="lr"):
        at.HyperParameters(0.0, 64, 0.0)


# -- augmentations --------------------------------------------------------------------------

def batch(seed: int = 0, n: int = 16) -> torch.Tensor:
    return torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", at.AUGMENTATIONS)
def test_augmentations_keep_shape_dtype_and_are_deterministic(name):
    x = batch()
    one = at.augment(name, x, torch.Generator().manual_seed(7), fill=-0.5)
    two = at.augment(name, x, torch.Generator().manual_seed(7), fill=-0.5)
    assert one.shape == x.shape and one.dtype == x.dtype
    assert torch.equal(one, two)
    if name != "none":
        other = at.augment(name, x, torch.Generator().manual_seed(8), fill=-0.5)
        assert not torch.equal(one, other)
    with pytest.raises(ValueError):
        at.augment(name, x[0], torch.Generator())


def test_none_is_identity_and_unknown_is_rejected():
    x = batch()
    assert torch.equal(at.augment("none", x, torch.Generator()), x)
    with pytest.raises(ValueError, match="'aug'"):
        at.augment("mixup", x, torch.Generator())


def test_flip_twice_is_identity_and_p_zero_is_identity():
    x, g = batch(), torch.Generator().manual_seed(0)
    once = at.random_hflip(x, g, p=1.0)
    assert torch.equal(once, x.flip(-1))
    assert torch.equal(at.random_hflip(once, g, p=1.0), x)
    assert torch.equal(at.random_hflip(x, g, p=0.0), x)


def test_shift_moves_each_image_rigidly_within_three_pixels():
    x = torch.zeros(64, 1, 28, 28)
    x[:, 0, 14, 14] = 1.0
    y = at.random_shift(x, torch.Generator().manual_seed(0), max_shift=3, fill=0.0)
    assert torch.equal(y.sum((1, 2, 3)), torch.ones(64))  # one pixel of value 1 in every image
    pos = y[:, 0].flatten(1).argmax(1)
    dy, dx = pos // 28 - 14, pos % 28 - 14
    assert dy.abs().max() <= 3 and dx.abs().max() <= 3
    assert len(set(zip(dy.tolist(), dx.tolist()))) > 10  # shifts vary between images
    assert torch.equal(at.random_shift(x, torch.Generator(), max_shift=0), x)
    # a constant image of the fill value stays constant: padding uses the fill value
    const = torch.full((4, 1, 28, 28), -0.8)
    assert torch.equal(at.random_shift(const, torch.Generator(), fill=-0.8), const)


def test_rotation_by_zero_is_identity_and_pads_with_fill():
    x = batch()
    assert torch.allclose(at.random_rotation(x, torch.Generator(), max_degrees=0.0), x, atol=1e-5)
    const = torch.full((4, 1, 28, 28), -0.8)
    assert torch.allclose(at.random_rotation(const, torch.Generator().manual_seed(1), fill=-0.8), const, atol=1e-6)
    ones = torch.ones(8, 1, 28, 28)
    rotated = at.random_rotation(ones, torch.Generator().manual_seed(1), max_degrees=15.0, fill=0.0)
    assert (rotated[:, :, 0, 0] < 0.5).all()  # the corners come from outside the image


def test_erasing_sets_one_ten_by_ten_patch_or_nothing():
    ones = torch.ones(200, 1, 28, 28)
    y = at.random_erasing(ones, torch.Generator().manual_seed(0), size=10, p=0.5, fill=-1.0)
    erased = (y == -1.0).sum((1, 2, 3))
    assert set(erased.tolist()) <= {0, 100}
    assert 60 < int((erased == 100).sum()) < 140  # about half
    for img in y[erased == 100][:20]:
        rows, cols = torch.nonzero(img[0] == -1.0, as_tuple=True)
        assert rows.max() - rows.min() == 9 and cols.max() - cols.min() == 9


# -- networks, FLOPs and parameters ---------------------------------------------------------

def test_flops_and_params_of_c8_match_a_hand_count():
    # Conv2d(1, 8, 3, pad 1) on 28x28: 2 * 3^2 * 1 * 8 * 28 * 28 FLOPs; MaxPool -> 8 x 14 x 14
    conv = 2 * 3 ** 2 * 1 * 8 * 28 * 28
    linear = 2 * (8 * 14 * 14) * 10
    assert at.flops_and_params("c8") == (conv + linear, (8 * 1 * 9 + 8) + (8 * 14 * 14 * 10 + 10))
    assert at.flops_and_params("c8") == (144_256, 15_770)


@pytest.mark.parametrize("arch", at.ARCHITECTURES)
def test_flops_and_params_match_the_formula(arch):
    flops = params = 0
    c_in, size = 1, 28
    for c_out in at.architecture_channels(arch):
        flops += 2 * 9 * c_in * c_out * size * size
        params += 9 * c_in * c_out + c_out
        c_in, size = c_out, size // 2
    flops += 2 * c_in * size * size * 10
    params += c_in * size * size * 10 + 10
    assert at.flops_and_params(arch) == (flops, params)


def test_build_network_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = at.build_network("c16-32", 1), at.build_network("c16-32", 1), at.build_network("c16-32", 2)
    assert torch.equal(torch.rand(1), before)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(next(a.parameters()), next(c.parameters()))
    assert a(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    with pytest.raises(ValueError, match="'arch'"):
        at.build_network("c8-16-32-64-128", 0)


# -- training one pipeline ------------------------------------------------------------------

@needs_data
def test_evaluate_pipeline_smoke_is_real_and_deterministic(smoke_data):
    space = at.JointSpace()
    one = at.evaluate_pipeline(space, "shift", "c8", "lr3e-3_b64_wd0", 0, SMOKE, smoke_data)
    two = at.evaluate_pipeline(space, 2, 0, 4, 0, SMOKE, smoke_data)
    assert set(one) == set(at.COLUMNS)
    assert (one["aug"], one["arch"], one["hpo"]) == ("shift", "c8", "lr3e-3_b64_wd0")
    assert (one["aug_idx"], one["arch_idx"], one["hpo_idx"]) == (2, 0, 4)
    assert 0.3 < one["val_accuracy"] <= 1.0  # chance is 0.1
    assert 0.0 <= one["train_accuracy"] <= 1.0
    assert (one["flops"], one["params"]) == at.flops_and_params("c8")
    assert one["train_seconds"] > 0
    assert {k: v for k, v in one.items() if k != "train_seconds"} == \
        {k: v for k, v in two.items() if k != "train_seconds"}
    other = at.evaluate_pipeline(space, 2, 0, 4, 1, SMOKE, smoke_data)
    assert other["val_accuracy"] != one["val_accuracy"]


# -- building, resuming, loading the table --------------------------------------------------

@needs_data
def test_build_table_resumes_after_an_interruption(tmp_path, monkeypatch):
    space, out = tiny_space(), tmp_path / "tables" / "tiny.csv"
    partial = out.with_suffix(".partial.csv")
    original_append = at._append_row
    written = []

    def append_then_crash(handle, row):
        original_append(handle, row)
        written.append(row)
        if len(written) == 2:
            raise KeyboardInterrupt("simulated kill after 2 rows")

    monkeypatch.setattr(at, "_append_row", append_then_crash)
    with pytest.raises(KeyboardInterrupt):
        at.build_table(space, SMOKE, out, progress=False, download=False)
    assert not out.exists() and partial.exists()
    with open(partial, "a") as handle:  # a line cut off mid-write by the kill
        handle.write("flip,c8,lr3e-3_b64_w")
    monkeypatch.setattr(at, "_append_row", original_append)

    trained = []
    original_evaluate = at.evaluate_pipeline

    def counting_evaluate(*args, **kwargs):
        trained.append(args[1:5])
        return original_evaluate(*args, **kwargs)

    monkeypatch.setattr(at, "evaluate_pipeline", counting_evaluate)
    table = at.build_table(space, SMOKE, out, progress=False, download=False)
    assert len(trained) == 2  # only the two missing runs were trained again
    assert len(table) == space.n_pipelines * len(SMOKE.seeds) == 4
    keys = list(table[list(at.KEY)].itertuples(index=False, name=None))
    assert len(set(keys)) == 4
    assert set(keys) == {(a, n, h, s) for a, n, h in space.pipelines() for s in SMOKE.seeds}
    assert not partial.exists()

    loaded, meta = at.load_table(out)
    assert len(loaded) == 4 and meta["rows_resumed"] == 2
    # the interrupted build gives the same table as an uninterrupted one (times aside)
    monkeypatch.setattr(at, "evaluate_pipeline", original_evaluate)
    fresh = at.build_table(space, SMOKE, tmp_path / "fresh.csv", progress=False, download=False)
    pd.testing.assert_frame_equal(without_time(loaded), without_time(fresh))


@needs_data
def test_provenance_matches_and_tampering_is_detected(tmp_path):
    space, out = tiny_space(), tmp_path / "t.csv"
    table = at.build_table(space, SMOKE, out, progress=False, download=False)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["table_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert meta["builder_hash"] == at.builder_hash() == hashlib.sha256(
        Path(at.__file__).read_bytes()).hexdigest()[:12]
    assert meta["rows"] == len(table) == 4
    assert meta["dims"] == [2, 1, 2] and meta["seeds"] == [0]
    assert meta["config"]["train_size"] == 600 and meta["config"]["dataset"] == "mnist"
    assert "mnist" in meta["data_source"] and meta["packages"]["torch"]
    assert {"git_commit", "wall_time_s", "space"} <= set(meta)
    assert at.table_is_current(out, space, SMOKE)
    assert not at.table_is_current(out, at.JointSpace(), SMOKE)

    df, _ = at.load_table(out)
    assert list(df.columns) == list(at.COLUMNS)
    pd.testing.assert_frame_equal(df, table)  # floats round-trip exactly

    original = out.read_text()
    out.write_text(original.replace(str(table.val_accuracy.iloc[0]), "0.999", 1))
    with pytest.raises(at.StaleTableError, match="rebuild it with `make table`"):
        at.load_table(out)
    out.write_text(original)
    at.load_table(out)
    out.with_suffix(".json").write_text(json.dumps({**meta, "builder_hash": "000000000000"}))
    with pytest.raises(at.StaleTableError, match="built by other code"):
        at.load_table(out)


@needs_data
def test_partial_table_of_another_config_is_not_mixed_in(tmp_path, monkeypatch):
    out = tmp_path / "t.csv"
    monkeypatch.setattr(at, "_append_row", lambda handle, row: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        at.build_table(tiny_space(), SMOKE, out, progress=False, download=False)
    monkeypatch.undo()
    other = at.TableConfig(500, 300, 1, (0,), dataset="mnist")
    with pytest.raises(ValueError, match="another build"):
        at.build_table(tiny_space(), other, out, progress=False, download=False)


@needs_data
def test_process_pool_gives_the_serial_table(tmp_path):
    space = at.JointSpace().subspace(aug=["rotate"], arch=["c8", "c8-16"], hpo=[6])
    config = at.TableConfig(600, 300, 1, (0, 1), dataset="mnist")
    serial = at.build_table(space, config, tmp_path / "serial.csv", progress=False, download=False)
    pooled = at.build_table(space, config, tmp_path / "pool.csv", workers=2, progress=False, download=False)
    pd.testing.assert_frame_equal(without_time(serial), without_time(pooled))


def test_build_table_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="backend"):
        at.build_table(tiny_space(), SMOKE, tmp_path / "t.csv", backend="dask")
    with pytest.raises(ValueError, match="workers"):
        at.build_table(tiny_space(), SMOKE, tmp_path / "t.csv", workers=0)


def test_ray_backend_without_ray_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    with pytest.raises(ImportError, match="pip install ray"):
        at.build_table(tiny_space(), SMOKE, tmp_path / "t.csv", backend="ray")
    assert not (tmp_path / "t.partial.csv").exists()  # failed before any work


@needs_data
@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed")
def test_ray_backend_gives_the_serial_table(tmp_path):
    import ray

    space = tiny_space()
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        by_ray = at.build_table(space, SMOKE, tmp_path / "ray.csv", workers=2, backend="ray",
                                progress=False, download=False)
    finally:
        ray.shutdown()
    serial = at.build_table(space, SMOKE, tmp_path / "serial.csv", progress=False, download=False)
    pd.testing.assert_frame_equal(without_time(by_ray), without_time(serial))


@needs_data
def test_cli_builds_then_leaves_an_up_to_date_table_alone(tmp_path, monkeypatch, capsys):
    offline = at.load_table_data
    monkeypatch.setattr(at, "load_table_data",
                        lambda config, data_dir=None, download=None: offline(config, data_dir, download=False))
    out = tmp_path / "cli.csv"
    restrict = ["--aug", "none,flip", "--arch", "c8", "--hpo", "4,lr3e-3_b256_wd0"]  # = tiny_space()
    assert at.main(["--scale", "smoke", "--out", str(out), "--no-progress", *restrict]) == 0
    assert "wrote" in capsys.readouterr().out
    assert len(at.load_table(out)[0]) == 4 and at.table_is_current(out, tiny_space(), SMOKE)
    assert at.main(["--scale", "smoke", "--out", str(out), *restrict]) == 0
    assert "up to date" in capsys.readouterr().out
