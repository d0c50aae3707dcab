"""The MA2ML joint table: space, augmentations, FLOPs, real training, resumable builds, provenance."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from edgelearn.core.data import DataUnavailableError, load_dataset
from edgelearn.core.results import read_table
from edgelearn.core.store import RowLog, StaleResultError, code_fingerprint, code_text, sha256
from edgelearn.ma2ml import pipelines as pl
from edgelearn.ma2ml import table as tb

SMOKE = pl.TABLE_SCALES["smoke"]
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
def smoke_data() -> pl.TableData:
    return pl.load_table_data(SMOKE, download=False)


def tiny_space() -> pl.JointSpace:
    """2 augmentations x 1 architecture x 2 hyper-parameter sets = 4 pipelines."""
    return pl.JointSpace().subspace(aug=["none", "flip"], arch=["c8"], hpo=[4, 6])


def without_time(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns="train_seconds").reset_index(drop=True)


# -- the space ------------------------------------------------------------------------------


def test_full_space_dims_and_names():
    space = pl.JointSpace()
    assert space.dims == (5, 6, 8)
    assert space.n_pipelines == 240
    assert space.names("hpo")[0] == "lr1e-3_b64_wd0"
    assert "lr3e-3_b256_wd5e-4" in space.names("hpo")
    assert len(set(space.names("hpo"))) == 8
    assert space.name_of(1, 3, 0) == "flip/c16-32/lr1e-3_b64_wd0"
    assert space.name_of("flip", "c16-32", "lr1e-3_b64_wd0") == "flip/c16-32/lr1e-3_b64_wd0"
    assert len(list(space.pipelines())) == 240


def test_subspace_reindexes_and_validates():
    sub = pl.JointSpace().subspace(aug=[0, 3], hpo=["lr3e-3_b256_wd5e-4"])
    assert sub.dims == (2, 6, 1)
    assert sub.aug == ("none", "rotate")
    assert sub.hpo[0] == pl.HyperParameters(3e-3, 256, 5e-4)
    with pytest.raises(ValueError, match=r"'hpo'.*0\.\.7"):
        pl.JointSpace().subspace(hpo=[8])
    with pytest.raises(ValueError, match="'arch'"):
        pl.JointSpace().subspace(arch=[])
    with pytest.raises(ValueError, match=r"'aug'.*0\.\.4"):
        pl.JointSpace().name_of(5, 0, 0)


@pytest.mark.parametrize(
    "kwargs, module, valid",
    [
        ({"aug": ("none", "blur")}, "aug", "rotate"),
        ({"arch": ("c8", "resnet18")}, "arch", "c16-32-64"),
        ({"arch": ()}, "arch", "non-empty"),
        ({"hpo": ("lr1e-1_b64_wd0",)}, "hpo", "lr1e-3_b64_wd0"),
        ({"aug": ("flip", "flip")}, "aug", "more than once"),
    ],
)
def test_space_rejects_bad_modules(kwargs, module, valid):
    with pytest.raises(ValueError) as info:
        pl.JointSpace(**kwargs)
    assert f"'{module}'" in str(info.value) and valid in str(info.value)


def test_table_config_validation_and_scales():
    assert pl.TableConfig(10, 5, 1, [0, 1]).seeds == (0, 1)
    for bad in (
        dict(train_size=0, val_size=5, epochs=1, seeds=(0,)),
        dict(train_size=10, val_size=5, epochs=0, seeds=(0,)),
        dict(train_size=10, val_size=5, epochs=1, seeds=()),
        dict(train_size=10, val_size=5, epochs=1, seeds=(1, 1)),
        dict(train_size=10, val_size=5, epochs=1, seeds=(0,), dataset="cifar10"),
    ):
        with pytest.raises(ValueError):
            pl.TableConfig(**bad)
    assert set(pl.TABLE_SCALES) == {"smoke", "laptop", "paper", "deciding"}
    assert pl.TABLE_SCALES["laptop"] == pl.TableConfig(6000, 4000, 3, (0, 1, 2), dataset="fashion-mnist")
    with pytest.raises(ValueError, match="smoke, laptop, paper"):
        pl.TABLE_SCALES["huge"]
    with pytest.raises(ValueError, match="lr"):
        pl.HyperParameters(0.0, 64, 0.0)


# -- augmentations --------------------------------------------------------------------------


def batch(seed: int = 0, n: int = 16) -> torch.Tensor:
    return torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", pl.AUGMENTATIONS)
def test_augmentations_keep_shape_dtype_and_are_deterministic(name):
    x = batch()
    one = pl.augment(name, x, torch.Generator().manual_seed(7), fill=-0.5)
    two = pl.augment(name, x, torch.Generator().manual_seed(7), fill=-0.5)
    assert one.shape == x.shape and one.dtype == x.dtype
    assert torch.equal(one, two)
    if name != "none":
        other = pl.augment(name, x, torch.Generator().manual_seed(8), fill=-0.5)
        assert not torch.equal(one, other)
    with pytest.raises(ValueError):
        pl.augment(name, x[0], torch.Generator())


def test_none_is_identity_and_unknown_is_rejected():
    x = batch()
    assert torch.equal(pl.augment("none", x, torch.Generator()), x)
    with pytest.raises(ValueError, match="'aug'"):
        pl.augment("mixup", x, torch.Generator())


def test_flip_twice_is_identity_and_p_zero_is_identity():
    x, g = batch(), torch.Generator().manual_seed(0)
    once = pl.random_hflip(x, g, p=1.0)
    assert torch.equal(once, x.flip(-1))
    assert torch.equal(pl.random_hflip(once, g, p=1.0), x)
    assert torch.equal(pl.random_hflip(x, g, p=0.0), x)


def test_shift_moves_each_image_rigidly_within_three_pixels():
    x = torch.zeros(64, 1, 28, 28)
    x[:, 0, 14, 14] = 1.0
    y = pl.random_shift(x, torch.Generator().manual_seed(0), max_shift=3, fill=0.0)
    assert torch.equal(y.sum((1, 2, 3)), torch.ones(64))  # one pixel of value 1 in every image
    pos = y[:, 0].flatten(1).argmax(1)
    dy, dx = pos // 28 - 14, pos % 28 - 14
    assert dy.abs().max() <= 3 and dx.abs().max() <= 3
    assert len(set(zip(dy.tolist(), dx.tolist()))) > 10  # shifts vary between images
    assert torch.equal(pl.random_shift(x, torch.Generator(), max_shift=0), x)
    # a constant image of the fill value stays constant: padding uses the fill value
    const = torch.full((4, 1, 28, 28), -0.8)
    assert torch.equal(pl.random_shift(const, torch.Generator(), fill=-0.8), const)


def test_rotation_by_zero_is_identity_and_pads_with_fill():
    x = batch()
    assert torch.allclose(pl.random_rotation(x, torch.Generator(), max_degrees=0.0), x, atol=1e-5)
    const = torch.full((4, 1, 28, 28), -0.8)
    assert torch.allclose(pl.random_rotation(const, torch.Generator().manual_seed(1), fill=-0.8), const, atol=1e-6)
    ones = torch.ones(8, 1, 28, 28)
    rotated = pl.random_rotation(ones, torch.Generator().manual_seed(1), max_degrees=15.0, fill=0.0)
    assert (rotated[:, :, 0, 0] < 0.5).all()  # the corners come from outside the image


def test_erasing_sets_one_ten_by_ten_patch_or_nothing():
    ones = torch.ones(200, 1, 28, 28)
    y = pl.random_erasing(ones, torch.Generator().manual_seed(0), size=10, p=0.5, fill=-1.0)
    erased = (y == -1.0).sum((1, 2, 3))
    assert set(erased.tolist()) <= {0, 100}
    assert 60 < int((erased == 100).sum()) < 140  # about half
    for img in y[erased == 100][:20]:
        rows, cols = torch.nonzero(img[0] == -1.0, as_tuple=True)
        assert rows.max() - rows.min() == 9 and cols.max() - cols.min() == 9


# -- networks, FLOPs and parameters ---------------------------------------------------------


def test_flops_and_params_of_c8_match_a_hand_count():
    # Conv2d(1, 8, 3, pad 1) on 28x28: 2 * 3^2 * 1 * 8 * 28 * 28 FLOPs; MaxPool -> 8 x 14 x 14
    conv = 2 * 3**2 * 1 * 8 * 28 * 28
    linear = 2 * (8 * 14 * 14) * 10
    assert pl.flops_and_params("c8") == (conv + linear, (8 * 1 * 9 + 8) + (8 * 14 * 14 * 10 + 10))
    assert pl.flops_and_params("c8") == (144_256, 15_770)


@pytest.mark.parametrize("arch", pl.ARCHITECTURES)
def test_flops_and_params_match_the_formula(arch):
    flops = params = 0
    c_in, size = 1, 28
    for c_out in pl.architecture_channels(arch):
        flops += 2 * 9 * c_in * c_out * size * size
        params += 9 * c_in * c_out + c_out
        c_in, size = c_out, size // 2
    flops += 2 * c_in * size * size * 10
    params += c_in * size * size * 10 + 10
    assert pl.flops_and_params(arch) == (flops, params)


def test_build_network_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = pl.build_network("c16-32", 1), pl.build_network("c16-32", 1), pl.build_network("c16-32", 2)
    assert torch.equal(torch.rand(1), before)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(next(a.parameters()), next(c.parameters()))
    assert a(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    with pytest.raises(ValueError, match="'arch'"):
        pl.build_network("c8-16-32-64-128", 0)
    with pytest.raises(ValueError, match="'seed'"):
        pl.build_network("c8", -1)


# -- training one pipeline ------------------------------------------------------------------


@needs_data
def test_evaluate_pipeline_smoke_is_real_and_deterministic(smoke_data):
    space = pl.JointSpace()
    torch.manual_seed(5)
    before = torch.rand(1)
    torch.manual_seed(5)
    one = pl.evaluate_pipeline(space, "shift", "c8", "lr3e-3_b64_wd0", 0, SMOKE, smoke_data)
    assert torch.equal(torch.rand(1), before)  # no global seeding
    two = pl.evaluate_pipeline(space, 2, 0, 4, 0, SMOKE, smoke_data)
    assert set(one) == set(tb.COLUMNS)
    assert (one["aug"], one["arch"], one["hpo"]) == ("shift", "c8", "lr3e-3_b64_wd0")
    assert (one["aug_idx"], one["arch_idx"], one["hpo_idx"]) == (2, 0, 4)
    assert 0.3 < one["val_accuracy"] <= 1.0  # chance is 0.1
    assert one["val_accuracy"] * len(smoke_data.y_val) == pytest.approx(round(one["val_accuracy"] * 300))
    assert 0.0 <= one["train_accuracy"] <= 1.0
    assert (one["flops"], one["params"]) == pl.flops_and_params("c8")
    assert one["train_seconds"] > 0
    assert {k: v for k, v in one.items() if k != "train_seconds"} == {
        k: v for k, v in two.items() if k != "train_seconds"
    }
    other = pl.evaluate_pipeline(space, 2, 0, 4, 1, SMOKE, smoke_data)
    assert other["val_accuracy"] != one["val_accuracy"]
    with pytest.raises(ValueError, match="'seed'"):
        pl.evaluate_pipeline(space, 2, 0, 4, -1, SMOKE, smoke_data)


# -- building, resuming, loading the table --------------------------------------------------


@pytest.fixture(scope="module")
def fresh_tiny(tmp_path_factory) -> tuple[pd.DataFrame, object]:
    """The tiny table built in one go, uninterrupted (and its path)."""
    out = tmp_path_factory.mktemp("fresh") / "fresh.csv"
    return tb.build_table(tiny_space(), SMOKE, out, progress=False, download=False), out


def _counting(monkeypatch) -> list[tuple]:
    trained = []
    original = tb.evaluate_pipeline

    def counting_evaluate(*args, **kwargs):
        trained.append(args[1:5])
        return original(*args, **kwargs)

    monkeypatch.setattr(tb, "evaluate_pipeline", counting_evaluate)
    return trained


@needs_data
def test_build_resumes_a_row_log_and_trains_only_the_rest(tmp_path, monkeypatch, fresh_tiny):
    fresh, _ = fresh_tiny
    space, out = tiny_space(), tmp_path / "tables" / "tiny.csv"
    partial = out.with_suffix(".partial.csv")
    # a build killed after two rows: its row log holds them (and a line torn by the kill)
    with RowLog(partial, tb.run_key(space, SMOKE), tb.COLUMNS) as log:
        for row in fresh.iloc[[0, 3]].to_dict("records"):
            log.append(row)
    with open(partial, "a") as handle:
        handle.write("flip,c8,lr3e-3_b64_w")
    trained = _counting(monkeypatch)
    table = tb.build_table(space, SMOKE, out, progress=False, download=False)
    assert len(table) == 4
    assert sorted(trained) == sorted(map(tuple, fresh.iloc[[1, 2]][list(tb.KEY)].to_numpy().tolist()))
    assert not partial.exists()
    loaded, meta = tb.load_joint_table(out)
    assert meta["rows_resumed"] == 2 and len(loaded) == 4
    # the resumed build gives the table of an uninterrupted one (times aside)
    pd.testing.assert_frame_equal(without_time(loaded), without_time(fresh))


@needs_data
def test_a_killed_build_keeps_its_finished_rows(tmp_path, monkeypatch, fresh_tiny):
    fresh, _ = fresh_tiny
    space, out = tiny_space(), tmp_path / "tiny.csv"
    original = tb.evaluate_pipeline
    calls = []

    def killed_on_the_third_run(*args, **kwargs):
        calls.append(args[1:5])
        if len(calls) == 3:
            raise KeyboardInterrupt("simulated kill")
        return original(*args, **kwargs)

    monkeypatch.setattr(tb, "evaluate_pipeline", killed_on_the_third_run)
    with pytest.raises(KeyboardInterrupt):
        tb.build_table(space, SMOKE, out, progress=False, download=False)
    assert not out.exists()
    with RowLog(out.with_suffix(".partial.csv"), tb.run_key(space, SMOKE), tb.COLUMNS) as log:
        assert len(log.done) == 2
    trained = _counting(monkeypatch)
    table = tb.build_table(space, SMOKE, out, progress=False, download=False)
    assert len(trained) == 2
    pd.testing.assert_frame_equal(without_time(table), without_time(fresh))


@needs_data
def test_a_row_log_of_another_config_is_not_mixed_in(tmp_path, monkeypatch, fresh_tiny):
    fresh, _ = fresh_tiny
    out = tmp_path / "t.csv"
    other = pl.TableConfig(500, 300, 1, (0,), dataset="mnist")
    with RowLog(out.with_suffix(".partial.csv"), tb.run_key(tiny_space(), other), tb.COLUMNS) as log:
        log.append({**fresh.iloc[0].to_dict(), "val_accuracy": 0.999})
    trained = _counting(monkeypatch)
    table = tb.build_table(tiny_space(), SMOKE, out, progress=False, download=False)
    assert len(trained) == 4 and 0.999 not in table.val_accuracy.tolist()
    assert tb.run_key(tiny_space(), other) != tb.run_key(tiny_space(), SMOKE)
    assert tb.run_key(tiny_space(), SMOKE) != tb.run_key(tiny_space(), SMOKE, code_hash="000000000000")


@needs_data
def test_provenance_records_the_pipelines_fingerprint(fresh_tiny):
    table, out = fresh_tiny
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["table_sha256"] == sha256(out.read_bytes())
    code = meta["code"]
    assert code["modules"] == ["edgelearn.ma2ml.pipelines"]
    # hashed without comments, docstrings and the Scales tables (core.store.code_text): config and space by value
    assert code["method"] == tb.TABLE_METHOD == "code-without-scales"
    text = code_text(Path(pl.__file__).read_bytes(), without_scales=True)
    assert code["files"]["edgelearn.ma2ml.pipelines"] == sha256(text.encode())[:12]
    assert "deciding=" not in text and "TABLE_SPACES" not in text
    # the core code a run uses counts; the searchers and the table builder do not
    assert {"edgelearn.core.fit", "edgelearn.core.data", "edgelearn.core.seeding"} <= set(code["files"])
    assert not {"edgelearn.ma2ml.ma2ml", "edgelearn.ma2ml.table", "edgelearn.ma2ml.search"} & set(code["files"])
    assert meta["rows"] == len(table) == 4
    assert meta["dims"] == [2, 1, 2] and meta["seeds"] == [0]
    assert meta["config"]["train_size"] == 600 and meta["config"]["dataset"] == "mnist"
    assert "mnist" in meta["data_source"] and meta["packages"]["torch"]
    assert {"git_commit", "wall_time_s", "space"} <= set(meta)
    assert tb.table_is_current(out, tiny_space(), SMOKE)
    assert not tb.table_is_current(out, pl.JointSpace(), SMOKE)
    df, _ = tb.load_joint_table(out)
    assert list(df.columns) == list(tb.COLUMNS)
    pd.testing.assert_frame_equal(df, table)  # floats round-trip exactly


@needs_data
def test_load_joint_table_refuses_edited_tables_and_other_code(tmp_path, fresh_tiny):
    table, built = fresh_tiny
    out = tmp_path / "t.csv"
    shutil.copy(built, out)
    shutil.copy(built.with_suffix(".json"), out.with_suffix(".json"))
    tb.load_joint_table(out)
    original = out.read_text()
    out.write_text(original.replace(str(table.val_accuracy.iloc[0]), "0.999", 1))
    with pytest.raises(StaleResultError, match="rebuild it with `make table`"):
        tb.load_joint_table(out)
    out.write_text(original)
    # the recorded fingerprint of the pipelines module differs: only the code check fails
    meta = json.loads(out.with_suffix(".json").read_text())
    meta["code"]["files"]["edgelearn.ma2ml.pipelines"] = "000000000000"
    out.with_suffix(".json").write_text(json.dumps(meta))
    assert meta["table_sha256"] == sha256(out.read_bytes())
    read_table(out)  # the CSV still matches its provenance
    with pytest.raises(StaleResultError, match=r"other code \(changed since: edgelearn\.ma2ml\.pipelines\)") as info:
        tb.load_joint_table(out)
    assert "rebuild it with `make table`" in str(info.value)
    assert not tb.table_is_current(out, tiny_space(), SMOKE)
    with pytest.raises(FileNotFoundError, match="make table"):
        tb.load_joint_table(tmp_path / "missing.csv")


@needs_data
def test_process_pool_gives_the_serial_table(tmp_path):
    space = pl.JointSpace().subspace(aug=["rotate"], arch=["c8", "c8-16"], hpo=[6])
    config = pl.TableConfig(600, 300, 1, (0, 1), dataset="mnist")
    serial = tb.build_table(space, config, tmp_path / "serial.csv", progress=False, download=False)
    pooled = tb.build_table(space, config, tmp_path / "pool.csv", workers=2, progress=False, download=False)
    pd.testing.assert_frame_equal(without_time(serial), without_time(pooled))


def test_build_table_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="backend"):
        tb.build_table(tiny_space(), SMOKE, tmp_path / "t.csv", backend="dask")
    with pytest.raises(ValueError, match="workers"):
        tb.build_table(tiny_space(), SMOKE, tmp_path / "t.csv", workers=0)
    with pytest.raises(ValueError, match=".csv"):
        tb.build_table(tiny_space(), SMOKE, tmp_path / "t.txt")
    assert not list(tmp_path.iterdir())  # failed before any work


def test_ray_backend_without_ray_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    with pytest.raises(ImportError, match="pip install ray"):
        tb.build_table(tiny_space(), SMOKE, tmp_path / "t.csv", backend="ray")
    assert not (tmp_path / "t.partial.csv").exists()  # failed before any work


@needs_data
@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed")
def test_ray_backend_gives_the_serial_table(tmp_path, fresh_tiny):
    import ray

    ray.init(num_cpus=2, include_dashboard=False)
    try:
        by_ray = tb.build_table(
            tiny_space(), SMOKE, tmp_path / "ray.csv", workers=2, backend="ray", progress=False, download=False
        )
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(without_time(by_ray), without_time(fresh_tiny[0]))


@needs_data
def test_cli_builds_then_leaves_an_up_to_date_table_alone(tmp_path, monkeypatch, capsys):
    offline = tb.load_table_data
    monkeypatch.setattr(
        tb, "load_table_data", lambda config, data_dir=None, download=None: offline(config, data_dir, download=False)
    )
    out = tmp_path / "cli.csv"
    restrict = ["--aug", "none,flip", "--arch", "c8", "--hpo", "4,lr3e-3_b256_wd0"]  # = tiny_space()
    assert tb.main(["--scale", "smoke", "--out", str(out), "--no-progress", *restrict]) == 0
    assert "wrote" in capsys.readouterr().out
    assert len(tb.load_joint_table(out)[0]) == 4 and tb.table_is_current(out, tiny_space(), SMOKE)
    assert tb.main(["--scale", "smoke", "--out", str(out), *restrict]) == 0
    assert "up to date" in capsys.readouterr().out


def test_default_table_path():
    assert tb.default_table_path("laptop").name == "ma2ml_fashion.csv"
    assert tb.default_table_path("smoke").name == "ma2ml_mnist_smoke.csv"
    assert tb.default_table_path("deciding").name == "ma2ml_fashion_deciding.csv"
    with pytest.raises(ValueError, match="scale"):
        tb.default_table_path("huge")


# -- scales of the table: configuration and space by value -----------------------------------


def test_every_table_scale_has_a_space_and_the_deciding_one_differs_only_where_it_must():
    assert list(pl.TABLE_SPACES) == list(pl.TABLE_SCALES)
    for scale in ("smoke", "laptop", "paper"):
        assert pl.TABLE_SPACES[scale] == pl.JointSpace()
    deciding, laptop = pl.TABLE_SCALES["deciding"], pl.TABLE_SCALES["laptop"]
    assert deciding.epochs > laptop.epochs and len(deciding.seeds) >= len(laptop.seeds)
    space = pl.TABLE_SPACES["deciding"]
    assert space.aug == pl.AUGMENTATIONS and space.arch == pl.ARCHITECTURES
    assert {h.weight_decay for h in space.hpo} - {h.weight_decay for h in pl.HYPERPARAMETERS}  # a decay that acts


def test_editing_a_scale_does_not_change_the_fingerprint_of_the_tables():
    source = Path(pl.__file__).read_text()
    entry = "deciding=TableConfig("
    assert source.count(entry) == 1
    edited = source.replace(entry, "deciding=TableConfig(1 + ")  # another deciding configuration
    assert code_text(edited, without_scales=True) == code_text(source, without_scales=True)
    assert code_text(edited) != code_text(source)  # the method the laptop table was first recorded with
    changed = source.replace("model = build_network(arch_name, seed)", "model = build_network(arch_name, seed + 1)")
    assert code_text(changed, without_scales=True) != code_text(source, without_scales=True)


def test_the_committed_laptop_table_is_current_for_its_scale():
    path = tb.default_table_path("laptop")
    df, meta = tb.load_joint_table(path, "laptop")
    assert meta["code"]["method"] == tb.TABLE_METHOD and len(df) == 720
    assert tb.table_is_current(path, pl.TABLE_SPACES["laptop"], pl.TABLE_SCALES["laptop"])


@needs_data
def test_load_joint_table_for_a_scale_compares_config_and_space_by_value(tmp_path, fresh_tiny, monkeypatch):
    _, built = fresh_tiny
    tb.load_joint_table(built)
    with pytest.raises(StaleResultError, match=r"another space .*`make table TABLE_SCALE=smoke WORKERS=2`"):
        tb.load_joint_table(built, "smoke")  # a subspace, not the smoke scale's space
    monkeypatch.setattr(tb, "TABLE_SPACES", {"smoke": tiny_space()})
    tb.load_joint_table(built, "smoke")
    other = pl.TableConfig(600, 300, 2, (0,), dataset="mnist")
    monkeypatch.setattr(tb, "TABLE_SCALES", {"smoke": other})
    with pytest.raises(StaleResultError, match="another config"):
        tb.load_joint_table(built, "smoke")


@needs_data
def test_reexpress_fingerprint_only_after_checking_the_old_one(tmp_path, fresh_tiny):
    _, built = fresh_tiny
    out = tmp_path / "old.csv"
    shutil.copy(built, out)
    meta = json.loads(built.with_suffix(".json").read_text())
    meta["code"] = code_fingerprint(tb.PIPELINES, "code").as_dict()  # as tables were recorded before
    out.with_suffix(".json").write_text(json.dumps(meta))
    new = tb.reexpress_fingerprint(out)
    assert new == code_fingerprint(tb.PIPELINES, tb.TABLE_METHOD).as_dict()
    after = json.loads(out.with_suffix(".json").read_text())
    assert after["code"] == new and {k: v for k, v in after.items() if k != "code"} == {
        k: v for k, v in meta.items() if k != "code"
    }
    tb.load_joint_table(out)
    meta["code"]["files"]["edgelearn.core.fit"] = "000000000000"  # made by other code: refused, left as it was
    out.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(StaleResultError, match=r"changed since: edgelearn\.core\.fit"):
        tb.reexpress_fingerprint(out)
    assert json.loads(out.with_suffix(".json").read_text()) == meta
