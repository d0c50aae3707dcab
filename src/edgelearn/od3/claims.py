"""OD3's claims as verdict rules: one function per claim of ``data/paper/od3.yaml``.

Each rule reads the tables that :func:`edgelearn.od3.experiments.run` saves (``networks``,
``final_eval``, ``table3_runs``, ``sweeps``, ``sharpening``) and the scale, and returns a
:class:`~edgelearn.core.scorecard.Claim`. "A beats B" over seeds is judged by a paired Student-t
interval (:func:`~edgelearn.core.stats.paired_difference`, pairs matched by seed) through
:func:`~edgelearn.core.scorecard.beats_verdict`; with fewer than two seeds such a claim is not
testable. A run that never reaches the convergence reward counts as its whole run (a lower bound
on its true steps or time): that is conservative for the method it is compared against, so when
an EDGE-OD3 run has not converged the verdict is at most "partly".

:func:`judge` (= ``rules.judge``) gives the chapter's ``claims`` table.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd

from edgelearn.core.scorecard import (
    NOT_REPRODUCED,
    NOT_TESTABLE,
    PARTLY,
    REPRODUCED,
    Claim,
    ClaimRules,
    Results,
    beats_claim,
    beats_verdict,
    graded,
    too_few_seeds,
    unavailable,
)
from edgelearn.core.stats import PairedComparison, paired_difference
from edgelearn.od3.experiments import PAPER_LAYOUT, sweep_runs

rules = ClaimRules("od3")
judge = rules.judge

PAPER_LARGENET, PAPER_SMALLNET = 6_716_748, 432_492
PAPER_SIZE_PCT = 100 * PAPER_SMALLNET / PAPER_LARGENET


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _per_seed(runs: pd.DataFrame, method: str, measured: str, total: str | None = None) -> pd.Series:
    """``measured`` per seed for ``method``; where it is NaN (never converged), ``total`` (its whole run)."""
    d = runs[runs.method == method].set_index("seed").sort_index()
    values = d[measured]
    return values.fillna(d[total]) if total else values


def _paired(a: pd.Series, b: pd.Series) -> PairedComparison | None:
    """The paired t interval of ``a - b`` over the seeds where both are known, or None with fewer than two.

    Kept beside :func:`~edgelearn.core.scorecard.beats_claim` for the rules that show an interval
    next to a graded verdict (or adjust the verdict by the size of the difference) rather than
    judging "A beats B" by it."""
    a, b = a.align(b, join="inner")
    keep = a.notna() & b.notna()
    return paired_difference(a[keep], b[keep]) if keep.sum() >= 2 else None


def _n_pairs(a: pd.Series, b: pd.Series) -> int:
    """The number of seeds where both ``a`` and ``b`` are known (the pairs :func:`_paired` uses)."""
    a, b = a.align(b, join="inner")
    return int((a.notna() & b.notna()).sum())


def _all_od3_converged(runs: pd.DataFrame) -> tuple[bool, str]:
    d = runs[runs.method == "EDGE-OD3"]
    n_conv, n = int(d.converged.sum()), len(d)
    return n_conv == n, f"{n_conv}/{n} EDGE-OD3 runs reached the convergence reward"


def _cap(verdict: str, ok: bool) -> str:
    """At most PARTLY when ``ok`` is false."""
    return PARTLY if verdict == REPRODUCED and not ok else verdict


def _case1(runs: pd.DataFrame, scale: str, what: str) -> str:
    n = runs.seed.nunique()
    threshold = float(runs.threshold.iloc[0])
    return (
        f"table3_runs, {scale} scale ({runs.env.iloc[0]}), {n} seeds; {what}; converged "
        f"at the first checkpoint whose average training reward reaches {threshold:.1f}"
    )


def _sweep(runs: pd.DataFrame, scale: str, what: str) -> str:
    return f"sweeps, {scale} scale, {runs.seed.nunique()} seeds per setting; {what}"


# ---------------------------------------------------------------------------------------------
# Table 3: the networks
# ---------------------------------------------------------------------------------------------


@rules.claim("param_counts")
def param_counts(results: Results, scale: str) -> Claim:
    """Table 3: largenet has 6,716,748 parameters, smallnet 432,492 (6.3 %).

    Counting parameters is arithmetic, so this checks our *reading* of the architecture: reproduced
    if a layout of the paper's widths gives both counts exactly (ours: 80x80 frames, ``same``
    padding, online and target network counted together); partly if no layout does but smallnet is
    within one percentage point of 6.3 % of largenet in the Nature-DQN layout; not reproduced otherwise.
    """
    if claim := unavailable("param_counts", results, ["networks"]):
        return claim
    nets = results["networks"].set_index(["layout", "network"]).parameters
    large, small = nets[PAPER_LAYOUT, "largenet"], nets[PAPER_LAYOUT, "smallnet"]
    nature = 100 * nets["atari", "smallnet"] / nets["atari", "largenet"]
    ours = (
        f"{PAPER_LAYOUT}: largenet {large:,}, smallnet {small:,}; Nature-DQN layout on 84x84x4: "
        f"{nets['atari', 'largenet']:,} and {nets['atari', 'smallnet']:,} ({nature:.1f} %)"
    )
    if large == PAPER_LARGENET and small == PAPER_SMALLNET:
        verdict, why = REPRODUCED, "our layout gives both of the paper's counts exactly (a calculation, our reading)"
    elif abs(nature - PAPER_SIZE_PCT) <= 1:
        verdict, why = PARTLY, "no layout gives the counts, but the size ratio is within 1 point of 6.3 %"
    else:
        verdict, why = NOT_REPRODUCED, "neither the counts nor the 6.3 % ratio (within 1 point) come out"
    return Claim("param_counts", verdict, ours, "networks table (counted by torch, no training)", why)


# ---------------------------------------------------------------------------------------------
# Case 1: rewards (Fig. 4)
# ---------------------------------------------------------------------------------------------


@rules.claim("compact_student_near_teacher")
def compact_student_near_teacher(results: Results, scale: str) -> Claim:
    """Table 3, section V-B1: smallnet (about 6 % of largenet's parameters) trained by OD3 reaches
    average rewards very close to the cloud teacher's.

    Rule: the EDGE-OD3 students' mean evaluation return (ε = 0.05) over that of the teacher that
    taught them; reproduced at >= 90 %, partly at >= 70 %, else not reproduced. A student above
    10 % of the teacher's parameters is not "compact": then at most partly. Not testable when the
    teacher's return is not positive (a ratio says nothing).
    """
    if claim := unavailable("compact_student_near_teacher", results, ["final_eval", "table3_runs"]):
        return claim
    runs, evals = results["table3_runs"], results["final_eval"]
    teacher_eval = float(runs.teacher_eval.iloc[0])
    od3 = evals[evals.method == "EDGE-OD3"].eval_return
    edge = evals[evals.method == "EDGE"].eval_return
    size = float(runs[runs.method == "EDGE-OD3"].size_pct.iloc[0])
    measured = (
        f"final_eval, {scale} scale: {od3.size} evaluation episodes (ε = 0.05) of EDGE-OD3 over "
        f"{runs.seed.nunique()} seeds, against the teacher that taught them"
    )
    if od3.empty or math.isnan(teacher_eval):
        why = "this run has no evaluation episodes"
        return Claim("compact_student_near_teacher", NOT_TESTABLE, measured=measured, why=why)
    if teacher_eval <= 0:
        why = f"the teacher's evaluation return is {teacher_eval:.1f}, not positive, so a ratio says nothing"
        return Claim("compact_student_near_teacher", NOT_TESTABLE, measured=measured, why=why)
    ratio = float(od3.mean()) / teacher_eval
    verdict = graded(ratio, 0.9, 0.7)
    verdict = _cap(verdict, size <= 10)
    ours = (
        f"student {size:.1f} % of the teacher's parameters; EDGE-OD3 return {od3.mean():.1f} = "
        f"{100 * ratio:.0f} % of the teacher's {teacher_eval:.1f} (EDGE {edge.mean():.1f})"
    )
    why = (
        "reproduced if EDGE-OD3 reaches >= 90 % of the teacher's return, partly if >= 70 %; "
        "at most partly if the student has more than 10 % of the teacher's parameters"
    )
    return Claim("compact_student_near_teacher", verdict, ours, measured, why)


@rules.claim("od3_beats_edge_reward")
def od3_beats_edge_reward(results: Results, scale: str) -> Claim:
    """Fig. 4: EDGE-OD3 significantly outperforms EDGE (the same smallnet trained by DQN from
    scratch) in average reward.

    Rule: the run mean (average training reward averaged over the run's checkpoints, i.e. the area
    under Fig. 4's curve) of EDGE-OD3 minus EDGE, paired by seed; ``beats_verdict`` on its 95 %
    paired t interval (reproduced if it excludes 0 on EDGE-OD3's side, partly if only the mean is).
    """
    if claim := unavailable("od3_beats_edge_reward", results, ["table3_runs"]):
        return claim
    runs = results["table3_runs"]
    return beats_claim(
        "od3_beats_edge_reward",
        _per_seed(runs, "EDGE-OD3", "run_mean"),
        _per_seed(runs, "EDGE", "run_mean"),
        "EDGE-OD3",
        "EDGE",
        measured=_case1(runs, scale, "run mean over checkpoints"),
        ours="run mean of the average reward",
        digits=1,
    )


@rules.claim("pong_reward_levels")
def pong_reward_levels(results: Results, scale: str) -> Claim:
    """Table 3 and Fig. 4 on Pong: CLOUD and EDGE-OD3 reach the convergence point of 6.2 reward
    points within the 3 M steps.

    Only a Pong run can test it (the ``paper`` scale): elsewhere not testable. Rule: reproduced if
    every CLOUD and EDGE-OD3 run reaches 6.2; partly if some run of each method does; not
    reproduced otherwise.
    """
    if claim := unavailable("pong_reward_levels", results, ["table3_runs"]):
        return claim
    runs = results["table3_runs"]
    env = str(runs.env.iloc[0])
    if env != "pong":
        why = f"the {scale} scale runs {env}, whose rewards are not Pong's; only the paper scale runs Pong"
        return Claim("pong_reward_levels", NOT_TESTABLE, measured=f"table3_runs, {scale} scale ({env})", why=why)
    share = {m: float(runs[runs.method == m].converged.mean()) for m in ("CLOUD", "EDGE-OD3")}
    if min(share.values()) == 1:
        verdict = REPRODUCED
    elif min(share.values()) > 0:
        verdict = PARTLY
    else:
        verdict = NOT_REPRODUCED
    ours = ", ".join(f"{m}: {100 * s:.0f} % of runs reach {runs.threshold.iloc[0]:.1f}" for m, s in share.items())
    why = "reproduced if every CLOUD and EDGE-OD3 run reaches 6.2, partly if some run of each does"
    return Claim("pong_reward_levels", verdict, ours, _case1(runs, scale, "Pong"), why)


# ---------------------------------------------------------------------------------------------
# Case 1: timesteps and time to convergence (Fig. 4, Fig. 5, Table 3)
# ---------------------------------------------------------------------------------------------


@rules.claim("od3_fewer_timesteps")
def od3_fewer_timesteps(results: Results, scale: str) -> Claim:
    """Section IV, V-B1 and Fig. 4: EDGE-OD3 converges in fewer timesteps than EDGE and than CLOUD.

    Rule: steps to the convergence reward, paired by seed, EDGE-OD3 against EDGE and against CLOUD
    (``beats_verdict``, lower is better, 95 % paired t). Reproduced if both intervals favour
    EDGE-OD3; not reproduced if either comparison is not reproduced; partly otherwise, and at most
    partly while some EDGE-OD3 run has not converged.
    """
    if claim := unavailable("od3_fewer_timesteps", results, ["table3_runs"]):
        return claim
    runs = results["table3_runs"]
    od3 = _per_seed(runs, "EDGE-OD3", "steps_to_converge", "total_steps")
    measured = _case1(runs, scale, "a run that never converges counts as its length")
    parts = {}
    for other in ("EDGE", "CLOUD"):
        theirs = _per_seed(runs, other, "steps_to_converge", "total_steps")
        if claim := too_few_seeds("od3_fewer_timesteps", _n_pairs(od3, theirs), measured):
            return claim
        comparison = _paired(od3, theirs)
        parts[other] = (comparison, *beats_verdict(comparison, "EDGE-OD3", other, higher_is_better=False))
    verdicts = [v for _, v, _ in parts.values()]
    if NOT_REPRODUCED in verdicts:
        verdict = NOT_REPRODUCED
    elif all(v == REPRODUCED for v in verdicts):
        verdict = REPRODUCED
    else:
        verdict = PARTLY
    converged, note = _all_od3_converged(runs)
    verdict = _cap(verdict, converged)
    ours = "; ".join(f"steps, EDGE-OD3 - {o}: {c.describe(0)}" for o, (c, _, _) in parts.items()) + f"; {note}"
    why = "; ".join(w for _, _, w in parts.values())
    why += "; reproduced if both favour EDGE-OD3, at most partly while an EDGE-OD3 run has not converged"
    return Claim("od3_fewer_timesteps", verdict, ours, measured, why)


@rules.claim("od3_third_of_cloud_steps")
def od3_third_of_cloud_steps(results: Results, scale: str) -> Claim:
    """Section V-B1: EDGE-OD3 converges at 1 M timesteps, CLOUD at 3 M: about 66 % fewer.

    Rule: the reduction 1 - mean(EDGE-OD3 steps) / mean(CLOUD steps) to the convergence reward;
    reproduced at >= 50 %, partly at >= 20 %, else not reproduced; at most partly while an
    EDGE-OD3 run has not converged, not reproduced if none has.
    """
    if claim := unavailable("od3_third_of_cloud_steps", results, ["table3_runs"]):
        return claim
    runs = results["table3_runs"]
    od3 = _per_seed(runs, "EDGE-OD3", "steps_to_converge", "total_steps")
    cloud = _per_seed(runs, "CLOUD", "steps_to_converge", "total_steps")
    reduction = 1 - float(od3.mean()) / float(cloud.mean())
    converged, note = _all_od3_converged(runs)
    if not runs[runs.method == "EDGE-OD3"].converged.any():
        verdict = NOT_REPRODUCED
    else:
        verdict = _cap(graded(reduction, 0.5, 0.2), converged)
    ours = f"EDGE-OD3 {od3.mean():,.0f} steps vs CLOUD {cloud.mean():,.0f}: {100 * reduction:.0f} % fewer; {note}"
    why = "reproduced if EDGE-OD3 needs >= 50 % fewer steps than CLOUD (paper: 66 %), partly if >= 20 %"
    return Claim("od3_third_of_cloud_steps", verdict, ours, _case1(runs, scale, "means over seeds"), why)


@rules.claim("edge_not_converged")
def edge_not_converged(results: Results, scale: str) -> Claim:
    """Table 3 caption: EDGE (smallnet by DQN from scratch) does not converge within the training
    timesteps.

    Rule: the share of EDGE runs that reach the convergence reward within their steps;
    reproduced if none does, partly if at most half do, not reproduced if more than half do.
    """
    if claim := unavailable("edge_not_converged", results, ["table3_runs"]):
        return claim
    runs = results["table3_runs"]
    edge = runs[runs.method == "EDGE"]
    share = float(edge.converged.mean())
    verdict = graded(share, 0.0, 0.5, higher_is_better=False)
    n_conv, budget = int(edge.converged.sum()), edge.total_steps.max()
    ours = f"{n_conv}/{len(edge)} EDGE runs reach the convergence reward within {budget:,.0f} steps"
    why = "reproduced if no EDGE run converges, partly if at most half do"
    return Claim("edge_not_converged", verdict, ours, _case1(runs, scale, "share of runs"), why)


@rules.claim("od3_less_time_than_edge")
def od3_less_time_than_edge(results: Results, scale: str) -> Claim:
    """Abstract and section VI: edge training with OD3 takes significantly less time than edge
    training from scratch.

    Rule: wall time to the convergence reward, EDGE-OD3 against EDGE paired by seed
    (``beats_verdict``, lower is better, 95 % paired t); at most partly while an EDGE-OD3 run has
    not converged. Both run on the same machine here, as on the paper's edge device.
    """
    if claim := unavailable("od3_less_time_than_edge", results, ["table3_runs"]):
        return claim
    runs = results["table3_runs"]
    claim = beats_claim(
        "od3_less_time_than_edge",
        _per_seed(runs, "EDGE-OD3", "wall_s_to_converge", "total_wall_s"),
        _per_seed(runs, "EDGE", "wall_s_to_converge", "total_wall_s"),
        "EDGE-OD3",
        "EDGE",
        higher_is_better=False,
        measured=_case1(runs, scale, "wall time on one shared CPU; a run that never converges counts as its whole run"),
        ours="wall time (s) to converge",
        digits=2,
    )
    if claim.verdict == NOT_TESTABLE:
        return claim
    converged, note = _all_od3_converged(runs)
    return replace(claim, verdict=_cap(claim.verdict, converged), ours=f"{claim.ours}; {note}")


@rules.claim("od3_time_vs_cloud")
def od3_time_vs_cloud(results: Results, scale: str) -> Claim:
    """Table 3 and Fig. 5: EDGE-OD3 reaches the convergence reward as quickly as CLOUD, in 115 % of
    CLOUD's wall time (on a Jetson TX2 against a V100).

    Tested as its analogue: both run on the same CPU here, so the ratio measures the methods, not
    the devices. Rule: mean wall time to converge of EDGE-OD3 over CLOUD's; reproduced if at most
    115 % (no slower than the paper's), partly if at most 150 %, else not reproduced; at most partly
    while an EDGE-OD3 run has not converged.
    """
    if claim := unavailable("od3_time_vs_cloud", results, ["table3_runs"]):
        return claim
    runs = results["table3_runs"]
    od3 = _per_seed(runs, "EDGE-OD3", "wall_s_to_converge", "total_wall_s")
    cloud = _per_seed(runs, "CLOUD", "wall_s_to_converge", "total_wall_s")
    ratio = float(od3.mean()) / float(cloud.mean())
    converged, note = _all_od3_converged(runs)
    verdict = _cap(graded(ratio, 1.15, 1.5, higher_is_better=False), converged)
    ours = f"EDGE-OD3 {od3.mean():.2f} s vs CLOUD {cloud.mean():.2f} s to converge: {100 * ratio:.0f} % of CLOUD's"
    comparison = _paired(od3, cloud)
    if comparison is not None:
        ours += f" (difference in s: {comparison.describe(2)})"
    ours += f"; {note}"
    measured = _case1(runs, scale, "wall time, both methods on the same CPU (not the paper's V100 and Jetson TX2)")
    why = "reproduced if EDGE-OD3 needs at most 115 % of CLOUD's time (the paper's ratio), partly if at most 150 %"
    return Claim("od3_time_vs_cloud", verdict, ours, measured, why)


# ---------------------------------------------------------------------------------------------
# The sharpened target (section III-C)
# ---------------------------------------------------------------------------------------------


@rules.claim("sharpened_target")
def sharpened_target(results: Results, scale: str) -> Claim:
    """Section III-C: a temperature below 1 (κ = 0.01, the paper's τ) sharpens the teacher's Q-values into a
    distribution that gives unambiguous information about the action to take.

    That the greedy action's probability grows as κ falls is a theorem (prop-od3-temperature);
    how close to greedy it gets at κ = 0.01 depends on the teacher's action gaps, and that is what
    is checked. Rule: the mean probability of the teacher's greedy action at κ = 0.01 over the states
    it visits; reproduced at >= 0.9, partly at >= 0.6, else not reproduced.
    """
    if claim := unavailable("sharpened_target", results, ["sharpening"]):
        return claim
    table = results["sharpening"].set_index("tau")
    sharp, plain = float(table.loc[0.01, "greedy_prob"]), float(table.loc[1.0, "greedy_prob"])
    verdict = graded(sharp, 0.9, 0.6)
    ours = (
        f"greedy action's mean probability {sharp:.3f} at κ = 0.01 vs {plain:.3f} at κ = 1; median gap between "
        f"the teacher's best and second-best Q-value {table.median_gap.iloc[0]:.3g}"
    )
    measured = f"sharpening, {scale} scale: the teacher's Q-values on {int(table.states.iloc[0])} states it visits"
    why = "reproduced if the greedy action's probability at κ = 0.01 (the paper's τ) is >= 0.9, partly if >= 0.6"
    return Claim("sharpened_target", verdict, ours, measured, why)


# ---------------------------------------------------------------------------------------------
# Case 2: mini-batch size and update frequency (Figs. 6-9)
# ---------------------------------------------------------------------------------------------


def _setting(runs: pd.DataFrame, sweep: str, value: int, column: str) -> pd.Series:
    return runs[(runs.sweep == sweep) & (runs.value == value)].set_index("seed")[column]


@rules.claim("small_batch_faster")
def small_batch_faster(results: Results, scale: str) -> Claim:
    """Fig. 7: a smaller mini-batch (32 down to 4) significantly reduces EDGE-OD3's training time.

    Rule: total wall time of the smallest against the largest mini-batch, paired by seed
    (``beats_verdict``, lower is better, 95 % paired t); a significant saving of under 25 % is
    only partly "significantly" less time.
    """
    if claim := unavailable("small_batch_faster", results, ["sweeps"]):
        return claim
    runs = sweep_runs(results["sweeps"])
    values = sorted(runs[runs.sweep == "batch"].value.unique())
    small, large = _setting(runs, "batch", values[0], "wall_s"), _setting(runs, "batch", values[-1], "wall_s")
    a, b = f"BS{values[0]}", f"BS{values[-1]}"
    saving = 1 - float(small.mean()) / float(large.mean())
    claim = beats_claim(
        "small_batch_faster",
        small,
        large,
        a,
        b,
        higher_is_better=False,
        measured=_sweep(runs, scale, "total wall time on a shared CPU"),
        ours=f"wall time (s), {100 * saving:.0f} % less with {a} than with {b}",
        digits=2,
    )
    if claim.verdict == REPRODUCED and saving < 0.25:
        claim = replace(claim, verdict=PARTLY, why=claim.why + f", but it saves only {100 * saving:.0f} % (< 25 %)")
    return claim


@rules.claim("batch_size_keeps_reward")
def batch_size_keeps_reward(results: Results, scale: str) -> Claim:
    """Fig. 6: the average rewards of EDGE-OD3 with mini-batches of 32, 16, 8 and 4 differ only slightly.

    Rule: the largest gap between a smaller batch's mean run mean (average reward over the run's
    checkpoints, the curve of Fig. 6) and that of the largest batch, relative to the latter;
    reproduced if <= 10 %, partly if <= 25 %, else not reproduced. Needs two seeds.
    """
    if claim := unavailable("batch_size_keeps_reward", results, ["sweeps"]):
        return claim
    runs = sweep_runs(results["sweeps"])
    measured = _sweep(runs, scale, "run mean over checkpoints")
    if claim := too_few_seeds("batch_size_keeps_reward", runs.seed.nunique(), measured):
        return claim
    values = sorted(runs[runs.sweep == "batch"].value.unique())
    means = {v: float(_setting(runs, "batch", v, "run_mean").mean()) for v in values}
    base = means[values[-1]]
    gaps = {v: abs(m - base) / abs(base) for v, m in means.items() if v != values[-1]}
    worst = max(gaps, key=gaps.get)
    verdict = graded(gaps[worst], 0.10, 0.25, higher_is_better=False)
    comparison = _paired(
        _setting(runs, "batch", values[0], "run_mean"), _setting(runs, "batch", values[-1], "run_mean")
    )
    ours = (
        ", ".join(f"BS{v} {m:.1f}" for v, m in means.items())
        + f" (run means); largest gap {100 * gaps[worst]:.0f} % (BS{worst})"
    )
    ours += f"; BS{values[0]} - BS{values[-1]}: {comparison.describe(1)}"
    why = f"reproduced if every batch's run mean is within 10 % of BS{values[-1]}'s, partly if within 25 %"
    return Claim("batch_size_keeps_reward", verdict, ours, measured, why)


@rules.claim("update_freq_lowers_reward")
def update_freq_lowers_reward(results: Results, scale: str) -> Claim:
    """Fig. 8: EDGE-OD3's average reward decreases considerably as the update frequency grows
    from one update every 4 steps to one every 32.

    Rule: run mean (average reward over the run's checkpoints) of LF4 minus LF32, paired by seed
    (``beats_verdict``, 95 % paired t); a significant drop smaller than 10 % of LF4's is only partly
    "considerable".
    """
    if claim := unavailable("update_freq_lowers_reward", results, ["sweeps"]):
        return claim
    runs = sweep_runs(results["sweeps"])
    values = sorted(runs[runs.sweep == "update"].value.unique())
    often, rarely = _setting(runs, "update", values[0], "run_mean"), _setting(runs, "update", values[-1], "run_mean")
    measured = _sweep(runs, scale, "run mean over checkpoints")
    if claim := too_few_seeds("update_freq_lowers_reward", _n_pairs(often, rarely), measured):
        return claim
    comparison = _paired(often, rarely)
    a, b = f"LF{values[0]}", f"LF{values[-1]}"
    verdict, why = beats_verdict(comparison, a, b)
    drop = comparison.mean / abs(float(often.mean()))
    if verdict == REPRODUCED and drop < 0.10:
        verdict, why = PARTLY, why + f", but the drop is only {100 * drop:.0f} % (< 10 %)"
    means = ", ".join(f"LF{v} {_setting(runs, 'update', v, 'run_mean').mean():.1f}" for v in values)
    ours = f"run means {means}; {a} - {b}: {comparison.describe(1)} ({100 * drop:.0f} % of {a})"
    return Claim("update_freq_lowers_reward", verdict, ours, measured, why)


@rules.claim("update_freq_finishes_sooner")
def update_freq_finishes_sooner(results: Results, scale: str) -> Claim:
    """Fig. 9: with rarer updates the training finishes sooner.

    Rule: total wall time of LF32 against LF4, paired by seed (``beats_verdict``, lower is better,
    95 % paired t).
    """
    if claim := unavailable("update_freq_finishes_sooner", results, ["sweeps"]):
        return claim
    runs = sweep_runs(results["sweeps"])
    values = sorted(runs[runs.sweep == "update"].value.unique())
    rarely, often = _setting(runs, "update", values[-1], "wall_s"), _setting(runs, "update", values[0], "wall_s")
    a, b = f"LF{values[-1]}", f"LF{values[0]}"
    share = float(rarely.mean() / often.mean())
    return beats_claim(
        "update_freq_finishes_sooner",
        rarely,
        often,
        a,
        b,
        higher_is_better=False,
        measured=_sweep(runs, scale, "total wall time on a shared CPU"),
        ours=f"wall time (s), {a} takes {100 * share:.0f} % of {b}'s",
        digits=2,
    )
