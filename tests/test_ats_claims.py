"""The ATS/PTS claims: every verdict each rule can give, on small synthetic result tables with the
columns :func:`edgelearn.ats.experiments.run` writes; the rules cover the YAML; the experiments
make the tables the rules read."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from edgelearn import ats
from edgelearn.ats import claims, experiments
from edgelearn.core.scorecard import NOT_REPRODUCED, NOT_TESTABLE, PARTLY, REPRODUCED, paper_values

SEEDS = (0, 1, 2, 3)
EPISODES = 8
SLOTS = 100
#: Seed-wise noise with mean 0 and a spread that keeps intervals narrow around a clear difference.
JITTER = np.array([0.01, -0.01, 0.02, -0.02])
#: A difference that is positive on average but whose paired interval holds 0.
NOISY = np.array([0.10, -0.05, 0.08, -0.04])
TRAINING = {"SJF": 0, "Ideal": 0, "Fixed": 2, "PTS": 10, "ATS": 3}


def episodes(spec: dict | None = None, seeds=SEEDS, n_episodes: int = EPISODES, **training) -> pd.DataFrame:
    """Main runs of every scheduler in both scenarios. ``spec[(scenario, scheduler)]`` is a reward
    per slot: a number (plus :data:`JITTER` by seed, the same in every episode), an array (one value
    per seed) or a function ``(seed, episode) -> reward``. Schedulers not named earn 0.5."""
    spec = spec or {}
    rows = []
    for scenario in ats.SCENARIOS:
        for scheduler in ats.SCHEDULERS:
            level = spec.get((scenario, scheduler), 0.5)
            for i, seed in enumerate(seeds):
                for episode in range(n_episodes):
                    if callable(level):
                        reward = level(seed, episode)
                    elif np.ndim(level):
                        reward = float(level[i])
                    else:
                        reward = level + JITTER[i % len(JITTER)] * (1 + ats.SCHEDULERS.index(scheduler))
                    trained = training.get(scheduler, TRAINING[scheduler])
                    adaptive = training.get("adaptive", 2) if scheduler == "ATS" else 0
                    rows.append(
                        {
                            "scheduler": scheduler,
                            "scenario": scenario,
                            "seed": seed,
                            "episode": episode,
                            "reward_per_slot": reward,
                            "slots": SLOTS,
                            "period": 10,
                            "percentile": 99.0,
                            "training_slots": trained,
                            "training_reward": -0.5 * trained,
                            "adaptive_training_slots": adaptive,
                            "adaptive_training_reward": -0.5 * adaptive,
                            "training_displaced": 3 * trained,
                            "adaptive_training_displaced": training.get("held", {}).get(scenario, 1.0) * adaptive,
                            "sweep": "main",
                            "value": np.nan,
                        }
                    )
    return pd.DataFrame(rows)


def psi(train_share: float, trusted: int = 2000, fallback: int = 200) -> pd.DataFrame:
    """ATS's slot decisions: ``fallback`` slots under the fallback, then ``trusted`` slots of which
    the first ``train_share`` trained."""
    n_train = int(round(train_share * trusted))
    train = [True] * (fallback // 10) + [False] * (fallback - fallback // 10)
    train += [True] * n_train + [False] * (trusted - n_train)
    return experiments.psi_summary(slots(train, fallback, trusted))


def slots(train: list[bool], fallback: int, trusted: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "seed": 0,
            "scenario": "stationary",
            "scheduler": "ATS",
            "episode": 0,
            "slot": range(len(train)),
            "psi": 0.0,
            "train": train,
            "fallback": [True] * fallback + [False] * trusted,
            "percentile": 99.0,
            "sweep": "main",
        }
    )


def verdict(rule, results: dict, scale: str = "laptop") -> str:
    claim = rule(results, scale)
    assert claim.why, "every verdict says why"
    return claim.verdict


def one_seed() -> dict:
    return {"episodes": episodes(seeds=(0,)), "psi": psi(0.01)}


# -- gap_to_ideal ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ats_reward, expected",
    [(0.98, REPRODUCED), (1.02, REPRODUCED), (0.9, PARTLY), (0.7, NOT_REPRODUCED), (1.5, PARTLY)],
)
def test_gap_to_ideal(ats_reward, expected):
    spec = {("stationary", "Ideal"): 1.0, ("stationary", "ATS"): ats_reward}
    assert verdict(claims.gap_to_ideal, {"episodes": episodes(spec)}) == expected


def test_gap_to_ideal_not_testable():
    assert verdict(claims.gap_to_ideal, one_seed()) == NOT_TESTABLE
    spec = {("stationary", "Ideal"): -0.2, ("stationary", "ATS"): -0.3}
    assert verdict(claims.gap_to_ideal, {"episodes": episodes(spec)}) == NOT_TESTABLE
    assert verdict(claims.gap_to_ideal, {}) == NOT_TESTABLE


# -- ordering --------------------------------------------------------------------------------


def test_ordering():
    win = {(sc, "ATS"): 1.0 for sc in ats.SCENARIOS} | {(sc, b): 0.5 for sc in ats.SCENARIOS for b in ("SJF", "PTS")}
    assert verdict(claims.ordering, {"episodes": episodes(win)}) == REPRODUCED
    # SJF significantly better than ATS in one scenario: the ordering fails, whatever PTS does
    sjf_wins = win | {("dynamic", "SJF"): 1.3}
    assert verdict(claims.ordering, {"episodes": episodes(sjf_wins)}) == NOT_REPRODUCED
    # ATS ahead of SJF only on average: partly
    tie = win | {(sc, "SJF"): np.full(4, 1.0) - NOISY for sc in ats.SCENARIOS}
    tie |= {(sc, "ATS"): np.full(4, 1.0) for sc in ats.SCENARIOS}
    assert verdict(claims.ordering, {"episodes": episodes(tie)}) == PARTLY
    assert verdict(claims.ordering, one_seed()) == NOT_TESTABLE


# -- converges_faster ------------------------------------------------------------------------


def ramp(length: int):
    """Reward rising linearly from 0 to 1 over ``length`` (+ seed parity) episodes, then flat."""
    return lambda seed, episode: min(1.0, episode / (length + seed % 2))


def test_converges_faster():
    fast = {(sc, "ATS"): ramp(2) for sc in ats.SCENARIOS} | {(sc, "PTS"): ramp(5) for sc in ats.SCENARIOS}
    assert verdict(claims.converges_faster, {"episodes": episodes(fast)}) == REPRODUCED
    slow = {(sc, "ATS"): ramp(5) for sc in ats.SCENARIOS} | {(sc, "PTS"): ramp(2) for sc in ats.SCENARIOS}
    assert verdict(claims.converges_faster, {"episodes": episodes(slow)}) == NOT_REPRODUCED
    mixed = fast | {("stationary", "ATS"): ramp(5)}  # reproduced in one scenario, a tie in the other
    assert verdict(claims.converges_faster, {"episodes": episodes(mixed)}) == PARTLY
    assert verdict(claims.converges_faster, {"episodes": episodes(fast, n_episodes=6)}) == NOT_TESTABLE
    assert verdict(claims.converges_faster, one_seed()) == NOT_TESTABLE

    # PTS rises, then loses reward over the second half of a long run: the target is the lower best
    # level (PTS's 0.6), not the lower final one (0.1, which both reach at once: no verdict on speed)
    def rise_then_fall(seed, episode):
        return min(0.6, episode / 10) if episode < 20 else max(0.1, 0.6 - (episode - 20) / 10)

    fades = {(sc, "ATS"): ramp(2) for sc in ats.SCENARIOS} | {(sc, "PTS"): rise_then_fall for sc in ats.SCENARIOS}
    assert verdict(claims.converges_faster, {"episodes": episodes(fades, n_episodes=40)}) == REPRODUCED


def test_episodes_to_target():
    curve = pd.Series([0.0, 0.5, 1.0, 1.0, 1.0, 1.0])
    assert claims._episodes_to_target(curve, 1.0) == 4  # the 3-episode average first reaches 1 at episode 4
    assert claims._episodes_to_target(curve, 2.0) == 6  # never: the run's length


# -- advantage_largest_dynamic ---------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Precision loss occurred")  # differences equal up to rounding
def test_advantage_largest_dynamic():
    base = {(sc, "PTS"): 0.5 for sc in ats.SCENARIOS}
    larger = base | {("stationary", "ATS"): 0.6, ("dynamic", "ATS"): 1.0}
    assert verdict(claims.advantage_largest_dynamic, {"episodes": episodes(larger)}) == REPRODUCED
    smaller = base | {("stationary", "ATS"): 1.0, ("dynamic", "ATS"): 0.6}
    assert verdict(claims.advantage_largest_dynamic, {"episodes": episodes(smaller)}) == NOT_REPRODUCED
    flat = {(sc, "PTS"): np.full(4, 0.5) for sc in ats.SCENARIOS}
    noisy = flat | {("stationary", "ATS"): np.full(4, 0.8), ("dynamic", "ATS"): 0.8 + NOISY}
    assert verdict(claims.advantage_largest_dynamic, {"episodes": episodes(noisy)}) == PARTLY
    assert verdict(claims.advantage_largest_dynamic, one_seed()) == NOT_TESTABLE


# -- fixed_vs_adaptive -----------------------------------------------------------------------


def test_fixed_vs_adaptive():
    ideal = {(sc, "Ideal"): 1.0 for sc in ats.SCENARIOS}
    fails = ideal | {("stationary", "Fixed"): 0.95, ("dynamic", "Fixed"): 0.6, ("dynamic", "ATS"): 0.9}
    assert verdict(claims.fixed_vs_adaptive, {"episodes": episodes(fails)}) == REPRODUCED
    holds = fails | {("dynamic", "Fixed"): 0.95, ("dynamic", "ATS"): 0.8}  # Fixed keeps up, beats ATS
    assert verdict(claims.fixed_vs_adaptive, {"episodes": episodes(holds)}) == NOT_REPRODUCED
    exact = {(sc, "Ideal"): np.full(4, 1.0) for sc in ats.SCENARIOS} | {("stationary", "Fixed"): np.full(4, 0.9)}
    slight = exact | {("dynamic", "Fixed"): 0.9 - NOISY, ("dynamic", "ATS"): np.full(4, 1.0)}
    assert verdict(claims.fixed_vs_adaptive, {"episodes": episodes(slight)}) == PARTLY
    assert verdict(claims.fixed_vs_adaptive, one_seed()) == NOT_TESTABLE


# -- trains_less -----------------------------------------------------------------------------


def with_period_sweep(main: pd.DataFrame, rewards: dict[int, object]) -> pd.DataFrame:
    """Add stationary PTS runs of the period sweep: ``rewards[period]`` as in :func:`episodes`."""
    parts = [main]
    for period, reward in rewards.items():
        runs = episodes({("stationary", "PTS"): reward}, PTS=SLOTS // period)
        runs = runs[(runs.scenario == "stationary") & (runs.scheduler == "PTS")]
        parts.append(runs.assign(sweep="period", value=float(period), period=period))
    return pd.concat(parts, ignore_index=True)


def test_trains_less():
    main = episodes({("stationary", "ATS"): 1.0, ("stationary", "PTS"): 0.7})  # ATS trains 3 %, PTS 10 %
    beaten = with_period_sweep(main, {20: 0.8, 40: 0.8, 100: 0.6})
    assert verdict(claims.trains_less, {"episodes": beaten}) == REPRODUCED
    # a PTS that trains 1 % of the slots earns more than ATS: ATS is not the cheaper way to that reward
    matched = with_period_sweep(main, {20: 0.8, 40: 0.8, 100: 1.1})
    assert verdict(claims.trains_less, {"episodes": matched}) == NOT_REPRODUCED
    exact = episodes({("stationary", "ATS"): np.full(4, 1.0), ("stationary", "PTS"): 0.7})
    close = with_period_sweep(exact, {20: 0.8, 40: 1.0 - NOISY, 100: 0.6})
    assert verdict(claims.trains_less, {"episodes": close}) == PARTLY


def test_trains_less_not_testable():
    main = episodes({("stationary", "ATS"): 1.0}, ATS=0)  # ATS trains less than every period tried
    assert verdict(claims.trains_less, {"episodes": with_period_sweep(main, {40: 0.8})}) == NOT_TESTABLE
    assert verdict(claims.trains_less, one_seed()) == NOT_TESTABLE
    old = episodes().drop(columns="period")  # a table from before the column existed
    assert verdict(claims.trains_less, {"episodes": old}) == NOT_TESTABLE


# -- cheap_training_slots --------------------------------------------------------------------


def test_cheap_training_slots():
    results = {"episodes": episodes(held={"stationary": 1.0, "dynamic": 2.0})}  # PTS holds up 3 jobs a slot
    assert verdict(claims.cheap_training_slots, results) == REPRODUCED
    costly = {"episodes": episodes(held={"stationary": 4.0, "dynamic": 2.0})}
    assert verdict(claims.cheap_training_slots, costly) == NOT_REPRODUCED
    tied = {"episodes": episodes(held={"stationary": 3.0, "dynamic": 2.0})}
    assert verdict(claims.cheap_training_slots, tied) == PARTLY
    assert verdict(claims.cheap_training_slots, {"episodes": episodes(adaptive=0)}) == NOT_TESTABLE
    assert verdict(claims.cheap_training_slots, one_seed()) == NOT_TESTABLE


# -- training_rate ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "share, expected",
    [(0.01, REPRODUCED), (0.006, REPRODUCED), (0.04, PARTLY), (0.2, NOT_REPRODUCED), (0.0, NOT_REPRODUCED)],
)
def test_training_rate(share, expected):
    assert verdict(claims.training_rate, {"psi": psi(share)}) == expected


def test_training_rate_not_testable_while_ats_never_left_its_fallback():
    assert verdict(claims.training_rate, {"psi": psi(0.0, trusted=0)}) == NOT_TESTABLE
    assert verdict(claims.training_rate, {"psi": psi(0.01).drop(columns="percentile")}) == NOT_TESTABLE


# -- cost_of_learning ------------------------------------------------------------------------


def test_cost_of_learning():
    paid = {(sc, "Ideal"): 1.0 for sc in ats.SCENARIOS} | {(sc, "PTS"): 0.6 for sc in ats.SCENARIOS}
    assert verdict(claims.cost_of_learning, {"episodes": episodes(paid)}) == REPRODUCED
    free = {(sc, "Ideal"): 0.6 for sc in ats.SCENARIOS} | {(sc, "PTS"): 1.0 for sc in ats.SCENARIOS}
    assert verdict(claims.cost_of_learning, {"episodes": episodes(free)}) == NOT_REPRODUCED
    exact = {(sc, "PTS"): np.full(4, 0.6) for sc in ats.SCENARIOS}
    mixed = exact | {("stationary", "Ideal"): np.full(4, 1.0), ("dynamic", "Ideal"): 0.6 + NOISY}
    assert verdict(claims.cost_of_learning, {"episodes": episodes(mixed)}) == PARTLY
    assert verdict(claims.cost_of_learning, one_seed()) == NOT_TESTABLE


# -- the whole table -------------------------------------------------------------------------


def test_judge_covers_the_yaml():
    results = {"episodes": episodes(), "psi": psi(0.01)}
    table = ats.judge(results, "laptop")
    spec = paper_values("ats")["claims"]
    assert table.id.tolist() == [c["id"] for c in spec]
    untestable = {c["id"] for c in spec if c.get("testable", True) is False}
    assert untestable == {"generalises"}
    assert set(table[table.id.isin(untestable)].verdict) == {NOT_TESTABLE}
    claims.rules.check()


def test_experiments_make_the_tables_the_rules_read():
    cfg = replace(experiments.SCALES["smoke"], episodes=2, seeds=2, sweep_seeds=2, periods=(20,), percentiles=(90.0,))
    results = experiments.run("smoke", seed=0, backend="serial", config=cfg)
    assert {"env_speed", "episodes", "psi", "psi_hist", "final", "sensitivity", "throughput"} <= set(results)
    episodes_table = results["episodes"]
    assert set(episodes_table.sweep) == {"main", "period", "percentile"}
    assert set(episodes_table[episodes_table.sweep == "period"].period) == {20}
    table = ats.judge(results, "smoke")
    assert len(table) == len(paper_values("ats")["claims"])
    # two seeds: the rules judge rather than stop at "one seed", and read every column they need
    judged = table.set_index("id").verdict
    assert judged["ordering"] != NOT_TESTABLE and judged["cost_of_learning"] != NOT_TESTABLE
    assert (
        judged["cheap_training_slots"] != NOT_TESTABLE
        or "chose no training slot" in table.set_index("id").why["cheap_training_slots"]
    )
    values = experiments.glue_values(results, cfg)
    assert {f"ats__final_{sc}_{s}" for sc in ats.SCENARIOS for s in ats.SCHEDULERS} <= set(values)


def test_the_psi_tables_keep_what_the_slots_say():
    rng = np.random.default_rng(0)
    table = slots(list(rng.random(3000) < 0.05), fallback=500, trusted=2500).assign(psi=rng.normal(size=3000))
    table["episode"] = np.arange(3000) // 100
    summary = experiments.psi_summary(table)
    trusted = table[~table.fallback]
    assert len(summary) == 30 and summary.decisions.sum() == 3000 and summary.trusted.sum() == len(trusted)
    assert summary.trained.sum() / summary.trusted.sum() == pytest.approx(trusted.train.mean())
    assert summary.psi_sum.sum() / summary.trusted.sum() == pytest.approx(trusted.psi.mean())
    assert experiments.fallback_episodes(summary).tolist() == [5]  # slots 0-499 fell back: episodes 0-4
    hist = experiments.psi_histogram_table(table, 99.0)
    assert hist.slots.sum() == len(trusted) and hist.trained.sum() == trusted.train.sum()
    assert hist.threshold.iloc[0] == pytest.approx(np.percentile(trusted.psi, 99.0))
    assert np.allclose(hist.left.iloc[1:].to_numpy(), hist.right.iloc[:-1].to_numpy())
    assert experiments.psi_histogram_table(table.assign(fallback=True), 99.0).slots.tolist() == [0]
