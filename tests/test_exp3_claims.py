"""The EXP3 chapter's verdict rules (edgelearn.exp3.claims) on synthetic result tables.

``base_results`` builds every table the chapter's experiments write (same columns) for a learner that
behaves as the theory says, so every rule reproduces; each test then changes one table to reach the
rule's other verdicts, including "not testable here".
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from edgelearn.core.scorecard import NOT_REPRODUCED, NOT_TESTABLE, PARTLY, REPRODUCED, VERDICTS, paper_values
from edgelearn.exp3 import DOUBLING_FACTOR, experiments, optimal_eta
from edgelearn.exp3.claims import judge, rules, worst_ratio

K, T, N = 10, 10_000, 8
SCALE = "laptop"  # the rules read the gap of the stochastic sequence (0.1) from the scale
GAP = 0.1
Z = np.linspace(-1.5, 1.5, N)  # fixed spread of the runs around a mean


def envelope(t: float, k: int = K) -> float:
    return math.sqrt(2 * t * k * math.log(k))


def runs(mean: float, spread: float = 1.0, **labels) -> pd.DataFrame:
    """N runs with regrets ``mean + spread * Z`` and the columns of ``PlayResult.frame``."""
    regret = mean + spread * Z
    df = pd.DataFrame({"run": np.arange(N), "regret": regret})
    for key, value in labels.items():
        df[key] = value
    return df


def curves(exp3_adv: float = 10.0, ucb_adv_share: float = 1 - 1 / K, exp3_spread: float = 1.0) -> pd.DataFrame:
    eta = float(optimal_eta(T, K))
    frames = []
    for t in (T // 4, T // 2, 3 * T // 4, T):
        common = {"t": t, "n_arms": K, "eta": eta, "horizon": T}
        frames += [
            runs(0.3 * envelope(t), 5.0, method="EXP3", sequence="stochastic", **common),
            runs(0.4 * envelope(t), 0.0, method="UCB1", sequence="stochastic", **common),
            runs(exp3_adv * t / T, exp3_spread, method="EXP3", sequence="adversarial", **common),
            runs(ucb_adv_share * t, 0.0, method="UCB1", sequence="adversarial", **common),
        ]
    return pd.concat(frames, ignore_index=True)[
        ["run", "t", "regret", "method", "sequence", "n_arms", "eta", "horizon"]
    ]


def horizon_table(means: dict[int, float] | None = None, spread: float = 5.0) -> pd.DataFrame:
    horizons = (1_000, 10_000, 100_000, 1_000_000)
    means = means or {h: 0.5 * envelope(h) for h in horizons}
    frames = []
    for h, m in means.items():
        eta = float(optimal_eta(h, K))
        frames.append(runs(m, spread, t=h, method="EXP3", sequence="stochastic", n_arms=K, eta=eta, horizon=h))
        frames.append(runs(3.0, 2.0, t=h, method="EXP3", sequence="adversarial", n_arms=K, eta=eta, horizon=h))
    return pd.concat(frames, ignore_index=True)


def eta_table(stoch: dict[float, float] | None = None, spread: float = 5.0) -> pd.DataFrame:
    eta_opt = float(optimal_eta(T, K))
    stoch = stoch or {c: 300.0 * (1 + 0.1 * abs(math.log2(c))) for c in (0.25, 0.5, 1.0, 2.0, 4.0)}
    frames = []
    for c, m in stoch.items():
        common = {"t": T, "method": "EXP3", "n_arms": K, "eta": c * eta_opt, "eta_factor": c, "horizon": T}
        frames.append(runs(m, spread, sequence="stochastic", **common))
        frames.append(runs(5.0, 2.0, sequence="adversarial", **common))
    return pd.concat(frames, ignore_index=True)


def prior_table(hit: dict[int, float] | None = None, miss: dict[int, float] | None = None, spread=5.0):
    k_p, t_p = 100, 20_000
    hit = hit if hit is not None else {1: 0.0, 5: 0.5 * envelope(t_p, 5), 100: 0.5 * envelope(t_p, 100)}
    miss = miss if miss is not None else {1: GAP * t_p, 5: GAP * t_p}
    frames = []
    for holds_best, table in ((True, hit), (False, miss)):
        for size, m in table.items():
            eta = float(optimal_eta(t_p, k_p, 1 / size, size)) if size > 1 else 1.0
            frames.append(runs(m, 0.0 if m == 0 else spread, t=t_p, method="EXP3", subset_size=size,
                               holds_best=holds_best, eta=eta, n_arms=k_p, horizon=t_p))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def full_prior_table(means: dict[str, float] | None = None, spreads: dict[str, float] | None = None):
    priors = experiments.full_support_priors(K)
    means = means or {"uniform": 300.0, "Gaussian on the best arm": 100.0, "Gaussian off the best arm": 350.0}
    spreads = spreads or {"uniform": 5.0, "Gaussian on the best arm": 3.0}
    frames = []
    for name, prior in priors.items():
        eta = float(optimal_eta(T, K, prior_best=float(prior[0]), support=K))
        frames.append(runs(means[name], spreads.get(name, 5.0), t=T, method="EXP3", sequence="stochastic",
                           prior=name, prior_best=float(prior[0]), eta=eta, n_arms=K, horizon=T))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def estimator_table(z_worst: float = 0.0) -> pd.DataFrame:
    rows = [{"quantity": "estimate", "arm": i, "p": 0.2, "expected": 0.5, "mean": 0.5, "se": 0.01, "draws": 10_000}
            for i in range(5)]  # fmt: skip
    rows.append({"quantity": "second moment", "arm": -1, "p": 1.0, "expected": 1.25, "mean": 1.25, "se": 0.01,
                 "draws": 10_000})  # fmt: skip
    df = pd.DataFrame(rows)
    df.loc[2, "mean"] += z_worst * 0.01
    return df


def doubling_table(last: float | None = None, spread: float = 5.0) -> pd.DataFrame:
    frames = [
        runs(0.3 * DOUBLING_FACTOR * envelope(t), spread, t=t, method="EXP3 (doubling)", sequence="stochastic",
             n_arms=K, horizon=T)
        for t in (T // 4, T // 2, 3 * T // 4)
    ]  # fmt: skip
    m = 0.3 * DOUBLING_FACTOR * envelope(T) if last is None else last
    frames.append(runs(m, spread, t=T, method="EXP3 (doubling)", sequence="stochastic", n_arms=K, horizon=T))
    return pd.concat(frames, ignore_index=True)


def base_results() -> dict[str, pd.DataFrame]:
    return {
        "regret_curves": curves(),
        "regret_vs_horizon": horizon_table(),
        "regret_vs_eta": eta_table(),
        "regret_vs_prior": prior_table(),
        "regret_full_prior": full_prior_table(),
        "estimator": estimator_table(),
        "regret_doubling": doubling_table(),
    }


def verdict(claim_id: str, results: dict[str, pd.DataFrame], scale: str = SCALE) -> str:
    return rules.judge_one(claim_id, results, scale).verdict


def with_(**tables: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return base_results() | tables


def one_run(table: pd.DataFrame) -> pd.DataFrame:
    return table[table.run == 0]


# -- coverage and the well-behaved case --------------------------------------------------------------
def test_judge_covers_the_yaml_and_a_well_behaved_run_reproduces_every_testable_claim():
    rules.check()
    claims = judge(base_results(), SCALE).set_index("id")
    spec = paper_values("exp3")["claims"]
    assert list(claims.index) == [c["id"] for c in spec]
    for c in spec:
        expected = NOT_TESTABLE if c.get("testable", True) is False else REPRODUCED
        assert claims.loc[c["id"], "verdict"] == expected, (c["id"], claims.loc[c["id"], "why"])
        if expected == REPRODUCED:
            assert claims.loc[c["id"], "ours"] and claims.loc[c["id"], "measured"] and claims.loc[c["id"], "why"]


def test_regret_bound_reports_the_glued_ratio_at_its_end():
    results = base_results()
    ours = rules.judge_one("regret_bound", results, SCALE).ours
    number = re.search(r"= ([0-9.]+)$", ours).group(1)
    assert number == f"{worst_ratio(results):.2f}"


# -- one test per rule: every verdict it can give ----------------------------------------------------
def test_regret_bound_verdicts():
    h = 10_000
    near = {1_000: 0.5 * envelope(1_000), h: 0.98 * envelope(h), 100_000: 0.5 * envelope(100_000)}
    assert verdict("regret_bound", with_(regret_vs_horizon=horizon_table(near, spread=100.0))) == PARTLY
    above = near | {h: 1.3 * envelope(h)}
    assert verdict("regret_bound", with_(regret_vs_horizon=horizon_table(above))) == NOT_REPRODUCED
    assert verdict("regret_bound", with_(regret_vs_horizon=one_run(horizon_table()))) == NOT_TESTABLE
    results = base_results()
    del results["regret_curves"]
    assert verdict("regret_bound", results) == NOT_TESTABLE


def test_bound_any_eta_verdicts():
    bound_quarter = (0.25 + 4) / 2 * envelope(T)  # the bound at eta = eta*/4
    stoch = {0.25: 0.99 * bound_quarter, 1.0: 300.0}
    assert verdict("bound_any_eta", with_(regret_vs_eta=eta_table(stoch, spread=200.0))) == PARTLY
    stoch = {0.25: 1.2 * bound_quarter, 1.0: 300.0}
    assert verdict("bound_any_eta", with_(regret_vs_eta=eta_table(stoch))) == NOT_REPRODUCED
    # along the curve: the trap's EXP3 far above the bound at every checkpoint
    assert verdict("bound_any_eta", with_(regret_curves=curves(exp3_adv=5_000.0))) == NOT_REPRODUCED
    results = base_results()
    del results["regret_vs_eta"]
    assert verdict("bound_any_eta", results) == NOT_TESTABLE


def test_sqrt_growth_verdicts_and_uniform_play_does_not_pass():
    horizons = (1_000, 10_000, 100_000, 1_000_000)
    t_max = horizons[-1]
    # sublinear but closer to linear (exponent 0.9), under the envelope throughout: partly
    steep = {h: 0.9 * envelope(t_max) * (h / t_max) ** 0.9 for h in horizons}
    assert verdict("sqrt_growth", with_(regret_vs_horizon=horizon_table(steep))) == PARTLY
    # under the envelope on average but an interval reaches above it: partly
    wide = {h: 0.5 * envelope(h) for h in horizons} | {t_max: 0.98 * envelope(t_max)}
    assert verdict("sqrt_growth", with_(regret_vs_horizon=horizon_table(wide, spread=2_000.0))) == PARTLY
    # uniform random play: regret about gap (1 - 1/K) T
    uniform = {h: GAP * (1 - 1 / K) * h for h in horizons}
    assert verdict("sqrt_growth", with_(regret_vs_horizon=horizon_table(uniform))) == NOT_REPRODUCED
    # horizons too short to tell sublinear from linear: uniform play would still be under the envelope
    short = {h: 0.5 * envelope(h) for h in (100, 300, 1_000)}
    assert verdict("sqrt_growth", with_(regret_vs_horizon=horizon_table(short))) == NOT_TESTABLE
    two = {h: 0.5 * envelope(h) for h in (100_000, 1_000_000)}
    assert verdict("sqrt_growth", with_(regret_vs_horizon=horizon_table(two))) == NOT_TESTABLE
    assert verdict("sqrt_growth", with_(regret_vs_horizon=one_run(horizon_table()))) == NOT_TESTABLE


def test_eta_sensitivity_verdicts():
    one_off = {0.25: 330.0, 0.5: 1.4 * 300.0, 1.0: 300.0, 2.0: 330.0, 4.0: 360.0}  # c = 1/2 above 1.25
    assert verdict("eta_sensitivity", with_(regret_vs_eta=eta_table(one_off))) == PARTLY
    steep = {c: 300.0 * (3.0 if c != 1.0 else 1.0) for c in (0.25, 0.5, 1.0, 2.0, 4.0)}
    assert verdict("eta_sensitivity", with_(regret_vs_eta=eta_table(steep))) == NOT_REPRODUCED
    no_star = {0.5: 300.0, 2.0: 300.0}
    assert verdict("eta_sensitivity", with_(regret_vs_eta=eta_table(no_star))) == NOT_TESTABLE


def test_adversarial_verdicts():
    bound = envelope(T)
    assert verdict("adversarial", with_(regret_curves=curves(exp3_adv=0.98 * bound, exp3_spread=100.0))) == PARTLY
    assert verdict("adversarial", with_(regret_curves=curves(exp3_adv=1.2 * bound))) == NOT_REPRODUCED
    assert verdict("adversarial", with_(regret_curves=curves(ucb_adv_share=0.5))) == NOT_REPRODUCED
    # EXP3 no better than a UCB1 that (wrongly) escapes the trap
    assert verdict("adversarial", with_(regret_curves=curves(exp3_adv=10.0, ucb_adv_share=0.0))) == NOT_REPRODUCED
    no_ucb = curves().query("method != 'UCB1'")
    assert verdict("adversarial", with_(regret_curves=no_ucb)) == NOT_TESTABLE
    assert verdict("adversarial", with_(regret_curves=one_run(curves()))) == NOT_TESTABLE


def test_prior_bound_verdicts():
    b5 = envelope(20_000, 5)
    hit = {1: 0.0, 5: 0.98 * b5}
    assert verdict("prior_bound", with_(regret_vs_prior=prior_table(hit=hit, spread=100.0))) == PARTLY
    assert verdict("prior_bound", with_(regret_vs_prior=prior_table(hit={5: 1.3 * b5}))) == NOT_REPRODUCED
    assert verdict("prior_bound", with_(regret_vs_prior=prior_table(hit={1: 0.0}))) == NOT_TESTABLE


def test_prior_misses_best_verdicts():
    linear = GAP * 20_000
    assert verdict("prior_misses_best", with_(regret_vs_prior=prior_table(miss={3: 0.7 * linear}))) == PARTLY
    learned = {3: 0.2 * linear}  # as if arms outside the prior's support were played
    assert verdict("prior_misses_best", with_(regret_vs_prior=prior_table(miss=learned))) == NOT_REPRODUCED
    assert verdict("prior_misses_best", with_(regret_vs_prior=prior_table(miss={}))) == NOT_TESTABLE


def test_prior_full_support_verdicts():
    close = {"uniform": 300.0, "Gaussian on the best arm": 290.0, "Gaussian off the best arm": 350.0}
    spreads = {"Gaussian on the best arm": -100.0, "uniform": 100.0}  # anti-correlated runs: wide interval
    assert verdict("prior_full_support", with_(regret_full_prior=full_prior_table(close, spreads))) == PARTLY
    worse = close | {"Gaussian on the best arm": 400.0}
    assert verdict("prior_full_support", with_(regret_full_prior=full_prior_table(worse))) == NOT_REPRODUCED
    above = close | {"Gaussian on the best arm": 100.0, "Gaussian off the best arm": 2_000.0}
    assert verdict("prior_full_support", with_(regret_full_prior=full_prior_table(above))) == NOT_REPRODUCED
    no_uniform = full_prior_table().query("prior != 'uniform'")
    assert verdict("prior_full_support", with_(regret_full_prior=no_uniform)) == NOT_TESTABLE


def test_unbiased_estimator_verdicts():
    assert verdict("unbiased_estimator", with_(estimator=estimator_table(3.5))) == PARTLY
    assert verdict("unbiased_estimator", with_(estimator=estimator_table(10.0))) == NOT_REPRODUCED
    results = base_results()
    del results["estimator"]
    assert verdict("unbiased_estimator", results) == NOT_TESTABLE
    assert verdict("unbiased_estimator", with_(estimator=estimator_table().assign(draws=1))) == NOT_TESTABLE


def test_doubling_trick_verdicts():
    bound = DOUBLING_FACTOR * envelope(T)
    assert verdict("doubling_trick", with_(regret_doubling=doubling_table(0.98 * bound, spread=200.0))) == PARTLY
    assert verdict("doubling_trick", with_(regret_doubling=doubling_table(1.2 * bound))) == NOT_REPRODUCED
    assert verdict("doubling_trick", with_(regret_doubling=one_run(doubling_table()))) == NOT_TESTABLE


# -- the experiments make the tables the rules read ---------------------------------------------------
def test_smoke_run_saves_every_table_with_the_columns_the_rules_read(results_dir):
    rec = experiments.recorder("smoke", 0)
    tables = experiments.run("smoke", seed=0, recorder=rec)
    assert set(tables) == set(experiments.TABLES) == set(rec.saved)
    for name, synthetic in base_results().items():
        assert set(synthetic.columns) <= set(tables[name].columns), name
    loaded = {name: rec.load(name) for name in experiments.TABLES}
    assert "edgelearn.exp3.claims" in rec.base["code"]["files"]
    claims = judge(loaded, "smoke")
    assert set(claims.verdict) <= set(VERDICTS)
    assert len(claims) == len(paper_values("exp3")["claims"])
    assert re.search(r"= [0-9.]+$", claims.set_index("id").loc["regret_bound", "ours"])


def test_same_seed_same_tables():
    cfg = experiments.SCALES["smoke"]
    pd.testing.assert_frame_equal(experiments.regret_full_prior(cfg, 3), experiments.regret_full_prior(cfg, 3))
    pd.testing.assert_frame_equal(experiments.estimator(cfg, 3), experiments.estimator(cfg, 3))
    assert not experiments.estimator(cfg, 3).equals(experiments.estimator(cfg, 4))
