"""The claims of TRL-HPO (Shaer et al. 2024, ``data/paper/trl_hpo.yaml``) judged from a run's tables.

One rule per testable claim, each a pure function of the tables :func:`edgelearn.trl_hpo.experiments.run`
saves (``runs``, ``steps``, ``negative_pairs``, ``attention``, ``controller_cost``) and the scale.
Claims the YAML marks ``testable: false`` get their row from :meth:`ClaimRules.judge`.
:func:`judge` returns the ``claims`` table the notebook saves.
"""

from __future__ import annotations

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
    graded,
    too_few_seeds,
    unavailable,
)

rules = ClaimRules("trl_hpo")

PAPER_N_TRAIN, PAPER_EPOCHS = 20_000, 5
"""The paper's training budget of a candidate (Section IV): absolute accuracies need it."""
MIN_LAYERS = 10
"""Fewest negative-reward layers (or attention pairs) from which a rank or a mean is judged."""


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _table(results: Results, name: str, columns: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """The table ``name`` if the run saved it with ``columns``, else None."""
    table = results.get(name)
    if table is None or table.empty or not set(columns) <= set(table.columns):
        return None
    return table


def _policy(runs: pd.DataFrame, policy: str, column: str) -> pd.Series:
    """``column`` of ``policy``'s runs, indexed by seed, without missing values."""
    return runs[runs.policy == policy].set_index("seed")[column].dropna()


def _seeds(n: int) -> str:
    return f"{n} seed" + ("" if n == 1 else "s")


def _budget_gate(claim_id: str, runs: pd.DataFrame | None, scale: str) -> Claim | None:
    """A NOT_TESTABLE claim unless the run trained candidates with the paper's budget."""
    if runs is None or not {"n_train", "epochs"} <= set(runs.columns):
        return Claim(claim_id, NOT_TESTABLE, why="the run's tables do not record the candidates' training budget")
    n_train, epochs = int(runs.n_train.min()), int(runs.epochs.min())
    if n_train < PAPER_N_TRAIN or epochs < PAPER_EPOCHS:
        return Claim(
            claim_id,
            NOT_TESTABLE,
            measured=f"{scale} scale: {n_train:,} training images, {epochs} epoch(s) per candidate",
            why=(
                f"an absolute accuracy needs the paper's training budget ({PAPER_N_TRAIN:,} images, {PAPER_EPOCHS} "
                f"epochs per candidate; the paper scale with the full MNIST training set); this run trains "
                f"{n_train:,} images for {epochs} epoch(s)"
            ),
        )
    return None


def _pair_ranks(results: Results) -> tuple[pd.Series, int] | None:
    """TRL-HPO's negative-reward pairs ranked by count (ties share the better rank), and the count."""
    pairs = _table(results, "negative_pairs", ("pair", "count", "policy"))
    if pairs is None:
        return None
    ours = pairs[pairs.policy == "TRL-HPO"].set_index("pair")["count"]
    return ours.rank(ascending=False, method="min").astype(int), int(ours.sum())


def _pairs_text(results: Results) -> str:
    pairs = results["negative_pairs"]
    ours = pairs[pairs.policy == "TRL-HPO"].sort_values("count", ascending=False)
    return "; ".join(f"{r.pair} {r.count} ({r.share:.0%})" for r in ours.itertuples())


# --------------------------------------------------------------------------------------------
# Table II
# --------------------------------------------------------------------------------------------


@rules.claim("best_accuracy")
def best_accuracy(results: Results, scale: str) -> Claim:
    """Table II: TRL-HPO's best CNN reaches 99.1 % on MNIST.

    Rule (mean over seeds of the best validation accuracy among TRL-HPO's trained candidates):
    reproduced at 98.6 % or more (within 0.5 points of the paper), partly at 97 % or more, else
    not. Not testable below the paper's training budget of a candidate.
    """
    runs = _table(results, "runs", ("policy", "seed", "best_accuracy"))
    if (gate := _budget_gate("best_accuracy", runs, scale)) is not None:
        return gate
    best = _policy(runs, "trl", "best_accuracy")
    if best.empty:
        return Claim("best_accuracy", NOT_TESTABLE, why="the run has no TRL-HPO search")
    value = 100 * best.mean()
    return Claim(
        "best_accuracy",
        graded(value, 98.6, 97.0),
        ours=f"{value:.2f} % (mean over {_seeds(len(best))})",
        measured=f"runs table, {scale} scale: best validation accuracy of TRL-HPO's trained candidates",
        why="reproduced at >= 98.6 % (0.5 points of the paper's 99.1 %), partly at >= 97 %",
    )


@rules.claim("acctime_value")
def acctime_value(results: Results, scale: str) -> Claim:
    """Table II: TRL-HPO's AccTime is 94.6 % ± 3.8 %.

    Rule (mean over seeds of AccTime, the mean accuracy of the exploitation-phase models):
    reproduced at no more than the paper's standard deviation (3.8 points) below 94.6 % (higher is
    fine), partly within two, else not. Not testable below the paper's training budget of a candidate.
    """
    runs = _table(results, "runs", ("policy", "seed", "acc_time"))
    if (gate := _budget_gate("acctime_value", runs, scale)) is not None:
        return gate
    acc = _policy(runs, "trl", "acc_time")
    if acc.empty:
        return Claim("acctime_value", NOT_TESTABLE, why="no TRL-HPO search reached its exploitation phase")
    value = 100 * acc.mean()
    return Claim(
        "acctime_value",
        graded(value, 94.6 - 3.8, 94.6 - 2 * 3.8),
        ours=f"{value:.1f} % (mean over {_seeds(len(acc))})",
        measured=f"runs table, {scale} scale: mean validation accuracy of TRL-HPO's exploitation-phase models",
        why="reproduced at >= 90.8 % (one paper standard deviation, 3.8 points, below 94.6 %), partly at >= 87.0 %",
    )


def _acctime_pair(results: Results) -> tuple[pd.Series, pd.Series] | None:
    runs = _table(results, "runs", ("policy", "seed", "acc_time"))
    if runs is None:
        return None
    trl, mq = _policy(runs, "trl", "acc_time"), _policy(runs, "metaqnn", "acc_time")
    trl, mq = trl.align(mq, join="inner")
    return (trl, mq) if len(trl) else None


@rules.claim("acctime_advantage")
def acctime_advantage(results: Results, scale: str) -> Claim:
    """Section V-A and the abstract: in AccTime TRL-HPO outperforms MetaQNN by 6.8 % on average.

    Rule (the relative advantage of the mean AccTime over seeds, TRL-HPO over our MetaQNN-style
    searcher at the same budget of trained candidates): reproduced at +3.4 % or more (half the
    paper's), partly when positive, not reproduced at zero or below. Its significance is the
    separate claim ``acctime_significant``.
    """
    pair = _acctime_pair(results)
    if pair is None:
        return Claim("acctime_advantage", NOT_TESTABLE, why="the run lacks TRL-HPO's or MetaQNN's AccTime")
    trl, mq = pair
    advantage = 100 * (trl.mean() / mq.mean() - 1)
    return Claim(
        "acctime_advantage",
        graded(advantage, 3.4, 1e-9),
        ours=f"{advantage:+.1f} % (AccTime TRL-HPO {100 * trl.mean():.1f} % vs MetaQNN {100 * mq.mean():.1f} %)",
        measured=(
            f"runs table, {scale} scale, {_seeds(len(trl))}; MetaQNN's AccTime: mean accuracy of its models "
            "completed within TRL-HPO's number of trained candidates"
        ),
        why="reproduced at >= +3.4 % (half the paper's +6.8 %), partly when above 0, else not",
    )


@rules.claim("acctime_significant")
def acctime_significant(results: Results, scale: str) -> Claim:
    """Section V-A: TRL-HPO's AccTime advantage over MetaQNN is statistically significant (t-test,
    p = 0.02).

    Rule: :func:`~edgelearn.core.scorecard.beats_verdict` on the paired t interval (95 %) of
    AccTime(TRL-HPO) - AccTime(MetaQNN) over seeds (the paper's t-test compares TRL-HPO's models
    with MetaQNN's spread; ours pairs the two searches of each seed). Not testable with one seed.
    """
    pair = _acctime_pair(results)
    if pair is None:
        return Claim("acctime_significant", NOT_TESTABLE, why="the run lacks TRL-HPO's or MetaQNN's AccTime")
    trl, mq = pair
    if claim := too_few_seeds(
        "acctime_significant",
        len(trl),
        f"runs table, {scale} scale, {_seeds(len(trl))}",
        ours=f"AccTime difference {100 * (trl - mq).mean():+.1f} points",
    ):
        return claim
    return beats_claim(
        "acctime_significant",
        trl,
        mq,
        "TRL-HPO",
        "MetaQNN",
        measured=f"runs table, {scale} scale; paired by seed",
        ours="AccTime",
    )


# --------------------------------------------------------------------------------------------
# Section V-A: the cost of the method
# --------------------------------------------------------------------------------------------


def _controller(results: Results, claim_id: str, column: str, paper: float, unit: str) -> Claim:
    cost = _table(results, "controller_cost", ("network", column))
    if cost is None or "actor" not in set(cost.network):
        return Claim(claim_id, NOT_TESTABLE, why="the run did not record the controller's cost")
    value = float(cost.set_index("network").loc["actor", column])
    ratio = value / paper
    best = _table(results, "runs", ("policy", column))
    cnn = (
        ""
        if best is None
        else f"; for comparison, the median best TRL-HPO CNN: {_policy(best, 'trl', column).median():,.0f}"
    )
    return Claim(
        claim_id,
        graded(abs(ratio - 1), 0.10, 0.50, higher_is_better=False),
        ours=f"our actor: {value:,.0f} {unit} ({ratio:.2f} x the paper's){cnn}",
        measured="controller_cost table: the actor network, one 6 x 64 state (FlopCounterMode, 2 per multiply-add)",
        why=(
            "the paper's figure is the method's own cost, the size of the authors' actor (about 78k parameters in "
            "their code), not a searched CNN; reproduced within 10 % of it, partly within 50 %"
        ),
    )


@rules.claim("controller_params")
def controller_params(results: Results, scale: str) -> Claim:
    """Section V-A: TRL-HPO has 78.8k parameters.

    The figure matches the authors' actor (about 78k parameters), not a searched CNN, so we compare
    like with like: our actor's parameters. Rule: reproduced within 10 % of 78.8k, partly within
    50 %, else not. The value is fixed by the architecture, not by the run's length.
    """
    return _controller(results, "controller_params", "params", 78_800, "parameters")


@rules.claim("controller_flops")
def controller_flops(results: Results, scale: str) -> Claim:
    """Section V-A: TRL-HPO requires 991k FLOPs for inference.

    Compared, like :func:`controller_params`, with our actor's forward FLOPs on one state. Rule:
    reproduced within 10 % of 991k, partly within 50 %, else not.
    """
    return _controller(results, "controller_flops", "flops", 991_000, "FLOPs")


# --------------------------------------------------------------------------------------------
# Section IV and VI-A: the search's own statements
# --------------------------------------------------------------------------------------------


@rules.claim("first_layer_highest_reward")
def first_layer_highest_reward(results: Results, scale: str) -> Claim:
    """Section IV: a model's first layer produces the highest reward of its layers.

    A theorem of the reward and the stopping rules, checked numerically: a model continues past
    its first layer only if that layer's accuracy is at least 60 %, so its reward r_0 = p_0 >= 0.6,
    while every later reward is at most 1 - 0.6 = 0.4. Two-way rule (a theorem holds or the code
    is wrong): reproduced when the first layer has the largest reward in every TRL-HPO model with
    two or more layers, else not reproduced; not testable when no model has two layers.
    """
    if claim := unavailable(
        "first_layer_highest_reward", results, {"steps": ("policy", "seed", "episode", "model", "step", "reward")}
    ):
        return claim
    steps = results["steps"]
    ours = steps[steps.policy == "trl"]
    models = ours.groupby(["seed", "episode", "model"])
    longer = models.step.transform("size") >= 2
    ours = ours[longer]
    if ours.empty:
        return Claim(
            "first_layer_highest_reward",
            NOT_TESTABLE,
            measured=f"steps table, {scale} scale",
            why="no TRL-HPO model has two layers at this scale",
        )
    grouped = ours.groupby(["seed", "episode", "model"])
    first = grouped.apply(lambda g: g.loc[g.step.idxmin(), "reward"] >= g.reward.max(), include_groups=False)
    held = int(first.sum())
    return Claim(
        "first_layer_highest_reward",
        REPRODUCED if held == len(first) else NOT_REPRODUCED,
        ours=f"first layer's reward the largest in {held} of {len(first)} models with two or more layers",
        measured=(
            f"steps table, TRL-HPO, {scale} scale; a theorem of the reward and the 60 % stopping rule, "
            "checked numerically"
        ),
        why="a theorem: reproduced only if it holds in every model (else the code is wrong)",
    )


@rules.claim("repeated_candidates")
def repeated_candidates(results: Results, scale: str) -> Claim:
    """Section VI-A: during exploration the agent generates repeated models, so storing trained
    models (a cache) avoids retraining.

    Rule (share of TRL-HPO's exploration-phase layers whose architecture the search had already
    trained, served by the cache): reproduced at 5 % or more, partly above 0, not reproduced at 0.
    The exploitation phase is left out: without noise the actor proposes one architecture for all
    models of an episode, a repeat by construction.
    """
    if claim := unavailable("repeated_candidates", results, {"steps": ("policy", "phase", "collapsed", "trained")}):
        return claim
    steps = results["steps"]
    explore = steps[(steps.policy == "trl") & (steps.phase == "explore") & ~steps.collapsed.astype(bool)]
    if explore.empty:
        return Claim("repeated_candidates", NOT_TESTABLE, why="no trained TRL-HPO layer in an exploration phase")
    share = float((~explore.trained.astype(bool)).mean())
    return Claim(
        "repeated_candidates",
        graded(share, 0.05, 1e-12),
        ours=f"{share:.0%} of {len(explore)} trained exploration-phase layers were repeats (served by the cache)",
        measured=f"steps table, TRL-HPO, all seeds, {scale} scale",
        why="reproduced when >= 5 % of the layers repeat an architecture, partly when any does, else not",
    )


# --------------------------------------------------------------------------------------------
# Fig. 2: negative-reward layer pairs
# --------------------------------------------------------------------------------------------


@rules.claim("fc_stacking_negative")
def fc_stacking_negative(results: Results, scale: str) -> Claim:
    """Fig. 2 (Class 2): negative rewards are "overwhelmingly" due to stacked FC layers (FC→FC).

    Rule (TRL-HPO's trained negative-reward layers, all seeds, ranked by count): reproduced when
    FC→FC is the most frequent pair, partly when it is second, else not reproduced. Not testable
    with fewer than 10 negative-reward layers.
    """
    ranked = _pair_ranks(results)
    if ranked is None or ranked[1] < MIN_LAYERS:
        n = 0 if ranked is None else ranked[1]
        return Claim(
            "fc_stacking_negative", NOT_TESTABLE, why=f"{n} negative-reward layers; a ranking needs {MIN_LAYERS}"
        )
    ranks, n = ranked
    rank = int(ranks.get("FC→FC", len(ranks) + 1))
    verdict = REPRODUCED if rank == 1 else PARTLY if rank == 2 else NOT_REPRODUCED
    return Claim(
        "fc_stacking_negative",
        verdict,
        ours=f"FC→FC ranks {rank} of {len(ranks)} pairs; {_pairs_text(results)}",
        measured=f"negative_pairs table, TRL-HPO, {n} negative-reward layers over all seeds, {scale} scale",
        why="reproduced when FC→FC is the most frequent pair, partly when second, else not",
    )


@rules.claim("convconv_second")
def convconv_second(results: Results, scale: str) -> Claim:
    """Fig. 2 (Class 1): consecutive Conv layers are the other class that stands out, second to FC→FC.

    Rule (same ranking as :func:`fc_stacking_negative`): reproduced when Conv→Conv is the second
    most frequent pair, partly when it is first or third (it stands out, in another place), else
    not reproduced. Not testable with fewer than 10 negative-reward layers.
    """
    ranked = _pair_ranks(results)
    if ranked is None or ranked[1] < MIN_LAYERS:
        n = 0 if ranked is None else ranked[1]
        return Claim("convconv_second", NOT_TESTABLE, why=f"{n} negative-reward layers; a ranking needs {MIN_LAYERS}")
    ranks, n = ranked
    rank = int(ranks.get("Conv→Conv", len(ranks) + 1))
    verdict = REPRODUCED if rank == 2 else PARTLY if rank in (1, 3) else NOT_REPRODUCED
    return Claim(
        "convconv_second",
        verdict,
        ours=f"Conv→Conv ranks {rank} of {len(ranks)} pairs",
        measured=f"negative_pairs table, TRL-HPO, {n} negative-reward layers over all seeds, {scale} scale",
        why="reproduced when Conv→Conv is the second most frequent pair, partly when first or third, else not",
    )


# --------------------------------------------------------------------------------------------
# Fig. 3: attention
# --------------------------------------------------------------------------------------------


def _attention(results: Results, claim_id: str, columns: tuple[str, ...]) -> pd.DataFrame | Claim:
    """The attention table, or a not-testable claim: unlike :func:`~edgelearn.core.scorecard.unavailable`,
    it says why the table can be absent or empty (no trained negative-reward layer)."""
    att = _table(results, "attention")
    if att is None:
        return Claim(
            claim_id, NOT_TESTABLE, why="no attention pairs: no TRL-HPO model had a trained negative-reward layer"
        )
    return unavailable(claim_id, results, {"attention": ("seed", *columns)}) or att


@rules.claim("attention_best_layers")
def attention_best_layers(results: Results, scale: str) -> Claim:
    """Fig. 3: the attention puts more weight on a model's best-reward layer than on its
    negative-reward layers.

    Rule: :func:`~edgelearn.core.scorecard.beats_verdict` on the paired t interval (95 %), over
    seeds, of each seed's mean weight on the best-reward layer minus its mean weight on the
    negative-reward layer (true softmax weights, final actor, first block). Not testable with one seed.
    """
    att = _attention(results, "attention_best_layers", ("diff_attention",))
    if isinstance(att, Claim):
        return att
    per_seed = att.groupby("seed").diff_attention.mean()
    positive = (att.diff_attention > 0).mean()
    ours = f"mean difference {att.diff_attention.mean():+.3f}, positive in {positive:.0%} of {len(att)} pairs"
    if claim := too_few_seeds(
        "attention_best_layers", len(per_seed), f"attention table, {scale} scale, {_seeds(len(per_seed))}", ours=ours
    ):
        return claim
    return beats_claim(
        "attention_best_layers",
        per_seed,
        pd.Series(0.0, index=per_seed.index),
        "best-reward layer",
        "negative-reward layer",
        measured=f"attention table, {scale} scale: softmax attention weights of the final actor's first block",
        ours=ours,
    )


@rules.claim("attention_mean")
def attention_mean(results: Results, scale: str) -> Claim:
    """Fig. 3: the difference in attention (best-reward layer minus negative-reward layer) averages 0.22.

    Rule (mean over all pairs, true softmax weights): reproduced between 0.11 and 0.44 (within a
    factor 2 of 0.22), partly when positive but outside, not reproduced at zero or below. Not
    testable with fewer than 10 pairs. The authors' code plots another quantity (a softmax of the
    attention output); its mean is reported beside ours.
    """
    att = _attention(results, "attention_mean", ("diff_attention", "diff_authors"))
    if isinstance(att, Claim):
        return att
    if len(att) < MIN_LAYERS:
        return Claim("attention_mean", NOT_TESTABLE, why=f"{len(att)} attention pairs; a mean needs {MIN_LAYERS}")
    mean = float(att.diff_attention.mean())
    verdict = REPRODUCED if 0.11 <= mean <= 0.44 else PARTLY if mean > 0 else NOT_REPRODUCED
    return Claim(
        "attention_mean",
        verdict,
        ours=f"{mean:.3f} (softmax weights); authors' quantity {att.diff_authors.mean():.4f}",
        measured=f"attention table, {len(att)} pairs over all seeds, {scale} scale",
        why="reproduced within a factor 2 of 0.22 (0.11 to 0.44), partly when positive, else not",
    )


@rules.claim("negative_above_empty")
def negative_above_empty(results: Results, scale: str) -> Claim:
    """Section V-B: a layer that degrades the model still gets more attention than the slots of
    layers yet to be generated.

    Rule: :func:`~edgelearn.core.scorecard.beats_verdict` on the paired t interval (95 %), over
    seeds, of each seed's mean weight on the negative-reward layer minus the mean weight on the
    model's empty slots (pairs whose model filled every slot are left out). Not testable with one seed.
    """
    att = _attention(results, "negative_above_empty", ("att_neg", "att_empty"))
    if isinstance(att, Claim):
        return att
    att = att.dropna(subset=["att_empty"])
    per_seed = (att.att_neg - att.att_empty).groupby(att.seed).mean()
    if claim := too_few_seeds(
        "negative_above_empty",
        len(per_seed),
        f"attention table, {scale} scale, {_seeds(len(per_seed))} with an empty slot",
    ):
        return claim
    return beats_claim(
        "negative_above_empty",
        per_seed,
        pd.Series(0.0, index=per_seed.index),
        "negative-reward layer",
        "empty slot",
        measured=f"attention table, {len(att)} pairs, {scale} scale: softmax weights of the final actor's first block",
        ours=(
            f"weight on the negative-reward layer {att.att_neg.mean():.3f}, on an empty slot {att.att_empty.mean():.3f}"
        ),
    )


def judge(results: Results, scale: str) -> pd.DataFrame:
    """Every claim of ``data/paper/trl_hpo.yaml`` judged from a run's tables: the ``claims`` table."""
    return rules.judge(results, scale)


__all__ = ["judge", "rules"]
