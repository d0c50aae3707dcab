r"""Verdict rules of the EXP3 chapter: one function per claim of ``data/paper/exp3.yaml``.

The chapter's "claims" are textbook results (:cite:`auer2002exp3`, Bubeck & Cesa-Bianchi 2012,
Lattimore & Szepesvári 2020) and statements of the chapter itself. A theorem cannot fail, but its
numerical check can: every rule below would say "not reproduced" if the implementation were wrong
(a bound violated, an exponent off, a biased estimate), and each row of a theorem says that it is a
theorem checked numerically. Each rule is a pure function of the tables that
:func:`edgelearn.exp3.experiments.run` makes and of the scale; it answers "not testable here" when a
table is missing or the run has too few runs (seeds) for a confidence interval.

Bound checks share one three-way rule (:func:`bound_verdict`): reproduced when the upper end of the
95 % Student-t interval of the mean regret stays under the bound in every configuration; partly when
every mean is under it but some interval reaches above; not reproduced when some mean is above it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from edgelearn.core.scorecard import (
    NOT_REPRODUCED,
    NOT_TESTABLE,
    PARTLY,
    REPRODUCED,
    Claim,
    ClaimRules,
    Results,
    beats_verdict,
    too_few_seeds,
    unavailable,
)
from edgelearn.core.stats import loglog_slope, mean_ci, paired_difference
from edgelearn.exp3.exp3 import DOUBLING_FACTOR, SCALES, regret_bound

rules = ClaimRules("exp3")
THEOREM = "a theorem checked numerically: "
#: Largest exponent of regret in T still called "closer to the envelope's 1/2 than to linear growth".
SUBLINEAR_EXPONENT = 0.75
#: Regret of a prior that misses the best arm, as a share of the linear regret gap x T.
LINEAR_SHARE_REPRODUCED, LINEAR_SHARE_PARTLY = 0.9, 0.5
#: Family-wise error rates of the Monte Carlo check of the estimator (Bonferroni over the checks).
ESTIMATOR_ALPHA_REPRODUCED, ESTIMATOR_ALPHA_PARTLY = 1e-2, 1e-4


def _untestable(claim_id: str, results: Results, *names: str) -> Claim | None:
    """A "not testable here" claim if a table is absent (:func:`~edgelearn.core.scorecard.unavailable`)
    or holds fewer than 2 runs (:func:`~edgelearn.core.scorecard.too_few_seeds`), table by table.

    Kept as a helper: every rule of this chapter needs both checks on each table it reads."""
    for name in names:
        if claim := unavailable(claim_id, results, [name]):
            return claim
        if claim := too_few_seeds(claim_id, results[name]["run"].nunique(), interval="a confidence interval"):
            return claim
    return None


def bound_ratios(summary: pd.DataFrame) -> tuple[float, float]:
    """Largest ``hi / bound`` and ``mean / bound`` of a :func:`~edgelearn.core.stats.mean_ci` summary
    with a ``bound`` column."""
    return float((summary.hi / summary.bound).max()), float((summary["mean"] / summary.bound).max())


def bound_verdict(summary: pd.DataFrame, bound: str) -> tuple[str, str, str]:
    """(verdict, ours, why) of "the measured regret stays under ``bound``" over the summary's rows."""
    worst_hi, worst_mean = bound_ratios(summary)
    if worst_hi <= 1:
        verdict, why = REPRODUCED, f"the upper end of every 95% interval of the mean regret is under {bound}"
    elif worst_mean <= 1:
        verdict, why = PARTLY, f"every mean regret is under {bound}, but some 95% interval reaches above it"
    else:
        verdict, why = NOT_REPRODUCED, f"some mean regret is above {bound}"
    ours = f"max over {len(summary)} configurations of (95% CI upper end of mean regret) / bound = {worst_hi:.2f}"
    return verdict, ours, THEOREM + why


def _bounds(summary: pd.DataFrame, t: str = "horizon", prior_best: str | None = None) -> list[float]:
    """:func:`~edgelearn.exp3.exp3.regret_bound` for each row of a summary (columns ``t``, ``n_arms``, ``eta``)."""
    return [
        float(
            regret_bound(getattr(r, t), int(r.n_arms), r.eta, prior_best=getattr(r, prior_best) if prior_best else None)
        )
        for r in summary.itertuples()
    ]


def _runs(df: pd.DataFrame) -> str:
    return f"{df['run'].nunique()} runs each"


def eta_star_summary(results: Results) -> pd.DataFrame:
    r"""Regret at :math:`\eta^*` with the uniform prior (``regret_curves`` at the horizon, EXP3, and
    ``regret_vs_horizon``), with the bound :math:`\sqrt{2TK\ln K}`: one row per configuration."""
    curves = results["regret_curves"]
    final = curves[(curves.method == "EXP3") & (curves.t == curves.horizon)].assign(experiment="regret curves")
    horizons = results["regret_vs_horizon"].query("method == 'EXP3'").assign(experiment="horizons")
    both = pd.concat([final, horizons], ignore_index=True)
    out = mean_ci(both, ["experiment", "sequence", "n_arms", "horizon"], "regret")
    out["bound"] = np.sqrt(2 * out.horizon * out.n_arms * np.log(out.n_arms))
    return out


def worst_ratio(results: Results) -> float:
    """The number ``regret_bound`` reports (and the chapter glues): the largest ratio of the upper end of
    the 95 % interval of EXP3's mean regret at :math:`\\eta^*` to the bound."""
    return bound_ratios(eta_star_summary(results))[0]


@rules.claim("regret_bound")
def regret_bound_claim(results: Results, scale: str) -> Claim:
    r"""Theorem thm-exp3-regret at :math:`\eta^*`: :math:`R_T \le \sqrt{2TK\ln K}` for any oblivious losses in [0, 1].

    Checked on both sequences (stochastic and the trap) at the horizon of the regret curves and at
    every horizon of the horizon sweep, by :func:`bound_verdict`. ``ours`` ends in "= <ratio>", the
    number the chapter glues as ``exp3__worst_ratio``.
    """
    if claim := _untestable("regret_bound", results, "regret_curves", "regret_vs_horizon"):
        return claim
    summary = eta_star_summary(results)
    verdict, ours, why = bound_verdict(summary, "sqrt(2TK ln K)")
    horizons = sorted(int(t) for t in summary.horizon.unique())
    measured = (
        f"regret_curves (at T) and regret_vs_horizon, EXP3 at eta*, K={summary.n_arms.iloc[0]}, "
        f"T in {horizons}, stochastic and trap sequences, {_runs(results['regret_vs_horizon'])}; scale {scale}"
    )
    return Claim("regret_bound", verdict, ours=ours, measured=measured, why=why)


@rules.claim("bound_any_eta")
def bound_any_eta(results: Results, scale: str) -> Claim:
    r"""Theorem thm-exp3-regret for every :math:`\eta` and horizon: :math:`R_t \le \ln K/\eta + \eta tK/2`.

    Checked on the learning-rate sweep (every :math:`\eta`, both sequences) and along the regret
    curves (every checkpoint :math:`t \le T` of EXP3, whose :math:`\eta` is fixed), by :func:`bound_verdict`.
    """
    if claim := _untestable("bound_any_eta", results, "regret_vs_eta", "regret_curves"):
        return claim
    sweep = mean_ci(results["regret_vs_eta"], ["sequence", "eta", "n_arms", "horizon"], "regret")
    sweep["bound"] = _bounds(sweep)
    curves = results["regret_curves"].query("method == 'EXP3'")
    along = mean_ci(curves, ["sequence", "eta", "n_arms", "t"], "regret")
    along["bound"] = _bounds(along, t="t")
    verdict, ours, why = bound_verdict(pd.concat([sweep, along], ignore_index=True), "ln K/eta + eta t K/2")
    factors = sorted(float(c) for c in results["regret_vs_eta"].eta_factor.unique())
    measured = (
        f"regret_vs_eta (eta/eta* in {[round(f, 4) for f in factors]}) and every checkpoint of regret_curves, "
        f"both sequences, {_runs(results['regret_vs_eta'])}; scale {scale}"
    )
    return Claim("bound_any_eta", verdict, ours=ours, measured=measured, why=why)


@rules.claim("sqrt_growth")
def sqrt_growth(results: Results, scale: str) -> Claim:
    r"""With :math:`\eta^*(T)`, regret grows sublinearly and stays under the envelope :math:`\sqrt{2TK\ln K}`.

    On the stochastic sequence of ``regret_vs_horizon``. Uniform random play has expected regret at
    least :math:`\Delta(1-1/K)\,T` there (:math:`\Delta` the gap of the scale), so the claim can only be
    told apart from linear growth if that exceeds the envelope at the largest horizon; otherwise the
    horizons are too short and the claim is not testable. Then: reproduced when every horizon's 95 %
    interval of the mean regret is under the envelope and the fitted exponent of :math:`R_T \propto T^b`
    is below 0.75 (closer to the envelope's 1/2 than to linear growth) with its 95 % interval below 1;
    partly when every mean is under the envelope but the exponent test fails (growth not told apart from
    linear) or an interval reaches above it; not reproduced when a mean regret is above the envelope.
    """
    if claim := _untestable("sqrt_growth", results, "regret_vs_horizon"):
        return claim
    table = results["regret_vs_horizon"].query("method == 'EXP3' and sequence == 'stochastic'")
    by_t = mean_ci(table, ["horizon", "n_arms"], "regret")
    if len(by_t) < 3 or (by_t["mean"] <= 0).any():
        return Claim("sqrt_growth", NOT_TESTABLE, why="fewer than 3 horizons with a positive mean regret: no exponent")
    by_t["bound"] = np.sqrt(2 * by_t.horizon * by_t.n_arms * np.log(by_t.n_arms))
    k, t_max, envelope = int(by_t.n_arms.iloc[0]), int(by_t.horizon.iloc[-1]), float(by_t.bound.iloc[-1])
    uniform = SCALES[scale].gap * (1 - 1 / k) * t_max
    measured = (
        f"regret_vs_horizon, stochastic losses, EXP3 at eta*(T), K={k}, T in {[int(t) for t in by_t.horizon]}, "
        f"{_runs(table)}; exponent by least squares on log mean regret; scale {scale}"
    )
    if uniform <= envelope:
        why = (
            f"horizons too short: at T={t_max} uniform random play's regret (>= {uniform:.0f}) is still under the "
            f"envelope {envelope:.0f}, so staying under it cannot tell sublinear from linear growth"
        )
        return Claim("sqrt_growth", NOT_TESTABLE, measured=measured, why=why)
    b, b_lo, b_hi = loglog_slope(by_t.horizon, by_t["mean"])
    worst_hi, worst_mean = bound_ratios(by_t)
    ours = (
        f"exponent {b:.2f} (95% CI {b_lo:.2f} to {b_hi:.2f}); max (CI upper end) / envelope {worst_hi:.2f}; "
        f"at T={t_max}: {by_t['mean'].iloc[-1]:.0f} vs envelope {envelope:.0f} and uniform play >= {uniform:.0f}"
    )
    sublinear = b < SUBLINEAR_EXPONENT and b_hi < 1
    if worst_mean > 1:
        verdict, why = NOT_REPRODUCED, "a mean regret is above the envelope sqrt(2TK ln K)"
    elif worst_hi <= 1 and sublinear:
        verdict = REPRODUCED
        why = (
            f"every horizon under the envelope (95% upper end) and exponent < {SUBLINEAR_EXPONENT} with its CI below 1"
        )
    else:
        verdict = PARTLY
        why = (
            "every mean under the envelope, but "
            + ("a 95% interval reaches above it" if worst_hi > 1 else "")
            + (" and " if worst_hi > 1 and not sublinear else "")
            + (f"the exponent is not below {SUBLINEAR_EXPONENT} with its CI below 1" if not sublinear else "")
        )
    return Claim("sqrt_growth", verdict, ours=ours, measured=measured, why=why)


@rules.claim("adversarial")
def adversarial(results: Results, scale: str) -> Claim:
    r"""On the trap sequence EXP3 stays under its bound while UCB1, deterministic, has regret :math:`\ge T(1-1/K)`.

    From ``regret_curves`` at the horizon. Reproduced when EXP3's 95 % interval is under the bound,
    UCB1's regret per round reaches :math:`1 - 1/K` in every run and EXP3 beats UCB1 (paired t interval
    of the regret difference over runs, :func:`~edgelearn.core.scorecard.beats_verdict`); not reproduced
    when EXP3's mean is above the bound, UCB1's regret is below :math:`T(1-1/K)`, or EXP3 does not beat
    UCB1; partly otherwise.
    """
    if claim := _untestable("adversarial", results, "regret_curves"):
        return claim
    curves = results["regret_curves"]
    final = curves[(curves.sequence == "adversarial") & (curves.t == curves.horizon)]
    exp3_r = final.query("method == 'EXP3'").set_index("run").regret
    ucb_r = final.query("method == 'UCB1'").set_index("run").regret
    if exp3_r.empty or ucb_r.empty:
        return Claim("adversarial", NOT_TESTABLE, why="regret_curves lacks EXP3 or UCB1 on the trap sequence")
    row = final.iloc[0]
    k, horizon = int(row.n_arms), int(row.horizon)
    summary = mean_ci(final.query("method == 'EXP3'"), ["eta", "n_arms", "horizon"], "regret")
    summary["bound"] = _bounds(summary)
    worst_hi, worst_mean = bound_ratios(summary)
    ucb_per_round = float(ucb_r.min()) / horizon
    comparison = paired_difference(exp3_r, ucb_r, method="t")
    beats, beats_why = beats_verdict(comparison, "EXP3", "UCB1", higher_is_better=False)
    ours = (
        f"EXP3 regret {exp3_r.mean():.1f} (bound {float(summary.bound.iloc[0]):.0f}, CI upper end / bound "
        f"{worst_hi:.2f}); UCB1 regret/T >= {ucb_per_round:.3f} (theory {1 - 1 / k:.3f}); "
        f"EXP3 - UCB1 = {comparison.describe(1)}"
    )
    measured = f"regret_curves, trap sequence built against UCB1, K={k}, T={horizon}, {_runs(final)}; scale {scale}"
    ucb_linear = ucb_per_round >= (1 - 1 / k) - 1e-12
    if worst_mean > 1 or not ucb_linear or beats == NOT_REPRODUCED:
        verdict = NOT_REPRODUCED
    elif worst_hi <= 1 and beats == REPRODUCED:
        verdict = REPRODUCED
    else:
        verdict = PARTLY
    why = (
        f"EXP3 {'under' if worst_hi <= 1 else ('on average under' if worst_mean <= 1 else 'above')} its bound; "
        f"UCB1 {'has' if ucb_linear else 'lacks'} regret >= T(1-1/K); {beats_why}"
    )
    return Claim("adversarial", verdict, ours=ours, measured=measured, why=why)


@rules.claim("prior_bound")
def prior_bound(results: Results, scale: str) -> Claim:
    r"""Corollary cor-exp3-prior, part 1 (SBS): a prior uniform on :math:`K'` arms holding the best arm
    gives :math:`R_T \le \sqrt{2TK'\ln K'}`; checked for every :math:`K' > 1` by :func:`bound_verdict`."""
    if claim := _untestable("prior_bound", results, "regret_vs_prior"):
        return claim
    table = results["regret_vs_prior"]
    hit = table[table.holds_best.astype(bool) & (table.subset_size > 1)]
    if hit.empty:
        return Claim("prior_bound", NOT_TESTABLE, why="no subset of more than one arm holding the best arm was run")
    summary = mean_ci(hit, ["subset_size", "horizon"], "regret")
    k = summary.subset_size.astype(float)
    summary["bound"] = np.sqrt(2 * summary.horizon * k * np.log(k))
    verdict, ours, why = bound_verdict(summary, "sqrt(2TK' ln K')")
    single = table[table.holds_best.astype(bool) & (table.subset_size == 1)]
    if not single.empty:
        ours += f"; K'=1: mean regret {single.regret.mean():.1f}"
    measured = (
        f"regret_vs_prior, K={int(table.n_arms.iloc[0])}, T={int(table.horizon.iloc[0])}, "
        f"K' in {sorted(int(k) for k in summary.subset_size)}, eta tuned to K', {_runs(hit)}; scale {scale}"
    )
    return Claim("prior_bound", verdict, ours=ours, measured=measured, why=why)


@rules.claim("prior_misses_best")
def prior_misses_best(results: Results, scale: str) -> Claim:
    r"""Corollary cor-exp3-prior, part 3: a prior whose support misses the best arm gives linear regret,
    about :math:`\Delta T` on the stochastic sequence (where its expectation is at least :math:`\Delta T`).

    The smallest mean regret over the subsets missing the best arm, as a share of :math:`\Delta T`
    (:math:`\Delta` the gap of the scale): reproduced from 0.9, partly from 0.5, else not reproduced
    (an implementation that played arms outside the prior's support would learn the best arm).
    """
    if claim := _untestable("prior_misses_best", results, "regret_vs_prior"):
        return claim
    table = results["regret_vs_prior"]
    miss = table[~table.holds_best.astype(bool)]
    if miss.empty:
        return Claim("prior_misses_best", NOT_TESTABLE, why="no subset missing the best arm was run")
    gap, horizon = SCALES[scale].gap, int(miss.horizon.iloc[0])
    share = miss.groupby("subset_size").regret.mean() / (gap * horizon)
    worst = float(share.min())
    if worst >= LINEAR_SHARE_REPRODUCED:
        verdict = REPRODUCED
    elif worst >= LINEAR_SHARE_PARTLY:
        verdict = PARTLY
    else:
        verdict = NOT_REPRODUCED
    ours = (
        f"smallest mean regret / (gap x T) over {len(share)} subsets = {worst:.2f} "
        f"(regret/T {worst * gap:.3f}, gap {gap})"
    )
    measured = (
        f"regret_vs_prior, subsets of arms 1..K' (best arm 0 left out), K' in {[int(k) for k in share.index]}, "
        f"T={horizon}, {_runs(miss)}; scale {scale}"
    )
    why = (
        f"reproduced when every such prior's mean regret is at least {LINEAR_SHARE_REPRODUCED} x gap x T, "
        f"partly from {LINEAR_SHARE_PARTLY}; the smallest share is {worst:.2f}"
    )
    return Claim("prior_misses_best", verdict, ours=ours, measured=measured, why=why)


@rules.claim("prior_full_support")
def prior_full_support(results: Results, scale: str) -> Claim:
    r"""Corollary cor-exp3-prior, part 2 (GBS): with a full-support prior,
    :math:`R_T \le \ln(1/p_{0,i^*})/\eta + \eta TK/2`, and a prior with more than :math:`1/K` on the best
    arm beats the uniform one.

    From ``regret_full_prior``: the bound for every prior by :func:`bound_verdict`, and "the prior with the
    most mass on the best arm beats uniform" by a paired t interval over runs (the priors share their loss
    sequences). Reproduced when both hold; not reproduced when a mean regret is above its bound or the
    prior does not beat uniform; partly otherwise.
    """
    if claim := _untestable("prior_full_support", results, "regret_full_prior"):
        return claim
    table = results["regret_full_prior"]
    summary = mean_ci(table, ["prior", "prior_best", "eta", "n_arms", "horizon"], "regret")
    summary["bound"] = _bounds(summary, prior_best="prior_best")
    bound_v, bound_ours, bound_why = bound_verdict(summary, "ln(1/p0(i*))/eta + eta T K/2")
    best = summary.loc[summary.prior_best.idxmax()]
    if "uniform" not in set(summary.prior) or best.prior_best <= 1 / best.n_arms:
        return Claim(
            "prior_full_support", NOT_TESTABLE, why="no uniform prior, or none with more than 1/K on the best arm"
        )
    good = table[table.prior == best.prior].set_index("run").regret
    uniform = table[table.prior == "uniform"].set_index("run").regret
    comparison = paired_difference(good, uniform, method="t")
    beats, beats_why = beats_verdict(comparison, best.prior, "uniform", higher_is_better=False)
    if bound_v == NOT_REPRODUCED or beats == NOT_REPRODUCED:
        verdict = NOT_REPRODUCED
    elif bound_v == REPRODUCED and beats == REPRODUCED:
        verdict = REPRODUCED
    else:
        verdict = PARTLY
    ours = f"{bound_ours.replace('configurations', 'priors')}; {best.prior} - uniform = {comparison.describe(1)}"
    measured = (
        f"regret_full_prior, priors {sorted(summary.prior)}, K={int(best.n_arms)}, T={int(best.horizon)}, "
        f"eta tuned to p0(i*), {_runs(table)}; scale {scale}"
    )
    return Claim("prior_full_support", verdict, ours=ours, measured=measured, why=f"{bound_why}; {beats_why}")


@rules.claim("unbiased_estimator")
def unbiased_estimator(results: Results, scale: str) -> Claim:
    r"""Lemma lem-exp3-estimator: :math:`\mathbb E[\hat\ell_{t,i}] = \ell_{t,i}` and
    :math:`\mathbb E[\sum_i p_{t,i}\hat\ell_{t,i}^2] = \sum_i \ell_{t,i}^2`, by Monte Carlo.

    Each check's deviation in standard errors :math:`z`; reproduced when every :math:`|z|` is under the
    Bonferroni critical value at a family-wise 1 %, partly under the one at 0.01 %, else not reproduced.
    """
    if claim := unavailable("unbiased_estimator", results, ["estimator"]):
        return claim
    table = results["estimator"]
    if (table.draws < 2).any() or (table.se <= 0).any():
        return Claim("unbiased_estimator", NOT_TESTABLE, why="too few draws for a standard error")
    z = ((table["mean"] - table.expected) / table.se).abs()
    m = len(table)
    crit_r = float(stats.norm.isf(ESTIMATOR_ALPHA_REPRODUCED / (2 * m)))
    crit_p = float(stats.norm.isf(ESTIMATOR_ALPHA_PARTLY / (2 * m)))
    worst = float(z.max())
    verdict = REPRODUCED if worst <= crit_r else (PARTLY if worst <= crit_p else NOT_REPRODUCED)
    ours = f"largest |mean - expected| / standard error over {m} checks = {worst:.2f}"
    measured = (
        f"estimator table: {int(table.draws.iloc[0]):,} independent rounds, {m - 1} arms and the second moment; "
        f"scale {scale}"
    )
    why = (
        f"{THEOREM}reproduced when every |z| <= {crit_r:.2f} (Bonferroni, family-wise 1%), partly when <= {crit_p:.2f} "
        "(0.01%), else not reproduced"
    )
    return Claim("unbiased_estimator", verdict, ours=ours, measured=measured, why=why)


@rules.claim("eta_sensitivity")
def eta_sensitivity(results: Results, scale: str) -> Claim:
    r"""The chapter's statement that the measured regret is less sensitive to :math:`\eta` than the bound.

    At :math:`\eta = c\,\eta^*` the bound grows by :math:`(c + 1/c)/2`. On the stochastic sequence of
    ``regret_vs_eta``, for each :math:`c \ne 1`: is the mean regret at :math:`c\,\eta^*` over the mean at
    :math:`\eta^*` at most that factor? Reproduced when it is for every :math:`c`, partly for at least half
    of them, else not reproduced (ratios of means; no interval).
    """
    if claim := _untestable("eta_sensitivity", results, "regret_vs_eta"):
        return claim
    table = results["regret_vs_eta"].query("sequence == 'stochastic'")
    means = table.groupby("eta_factor").regret.mean()
    if 1.0 not in means.index or len(means) < 2 or means[1.0] <= 0:
        return Claim("eta_sensitivity", NOT_TESTABLE, why="no positive regret at eta* and another eta to compare")
    others = means.drop(1.0)
    measured_factor = others / means[1.0]
    bound_factor = (others.index + 1 / others.index) / 2
    holds = measured_factor.to_numpy() <= np.asarray(bound_factor)
    share = float(holds.mean())
    verdict = REPRODUCED if share == 1 else (PARTLY if share >= 0.5 else NOT_REPRODUCED)
    pairs = ", ".join(
        f"c={c:g}: {m:.2f} vs {f:.2f}" for c, m, f in zip(others.index, measured_factor, bound_factor, strict=True)
    )
    ours = f"regret(c eta*) / regret(eta*) vs the bound's (c + 1/c)/2: {pairs}"
    measured = (
        f"regret_vs_eta, stochastic losses, K={int(table.n_arms.iloc[0])}, T={int(table.horizon.iloc[0])}, "
        f"{_runs(table)}; ratios of mean regrets; scale {scale}"
    )
    why = (
        f"the measured factor is within the bound's for {holds.sum()} of {holds.size} factors c "
        "(all: reproduced; at least half: partly)"
    )
    return Claim("eta_sensitivity", verdict, ours=ours, measured=measured, why=why)


@rules.claim("doubling_trick")
def doubling_trick(results: Results, scale: str) -> Claim:
    r"""Exercise ex-exp3-doubling: EXP3 restarted in epochs of :math:`2^m` rounds has regret at most
    :math:`\frac{\sqrt 2}{\sqrt 2 - 1}\sqrt{2tK\ln K}` at every round :math:`t`, without knowing the horizon.

    Checked at every checkpoint of ``regret_doubling`` by :func:`bound_verdict`.
    """
    if claim := _untestable("doubling_trick", results, "regret_doubling"):
        return claim
    table = results["regret_doubling"]
    summary = mean_ci(table, ["t", "n_arms"], "regret")
    summary["bound"] = DOUBLING_FACTOR * np.sqrt(2 * summary.t * summary.n_arms * np.log(summary.n_arms))
    verdict, ours, why = bound_verdict(summary, "3.41 sqrt(2tK ln K)")
    measured = (
        f"regret_doubling, stochastic losses, K={int(summary.n_arms.iloc[0])}, {len(summary)} checkpoints up to "
        f"T={int(summary.t.max())}, {_runs(table)}; scale {scale}"
    )
    return Claim(
        "doubling_trick", verdict, ours=ours.replace("configurations", "checkpoints"), measured=measured, why=why
    )


def judge(results: Results, scale: str) -> pd.DataFrame:
    """Every claim of ``data/paper/exp3.yaml`` judged from the chapter's tables: the ``claims`` table."""
    return rules.judge(results, scale)
