"""The reproduction scorecard: each paper's claims, the paper's value, ours, a verdict.

Paper values live in ``data/paper/<paper>.yaml`` (every checkable statement of the paper with
its source). Each paper's package judges them in its ``claims`` module: one function per
claim, registered on a :class:`ClaimRules`, from the tidy result tables of a run (and its
scale) to a :class:`Claim`. :meth:`ClaimRules.judge` runs them all and returns the ``claims``
table a chapter saves; :func:`scorecard` joins the tables with the YAML for the book, and
:func:`headline` counts verdicts per paper.

Verdicts are one of :data:`VERDICTS`. A rule must be able to give each of the first three
(tests feed it synthetic tables that reach every one), and gives :data:`NOT_TESTABLE` with its
reason where the run cannot decide the claim. A claim that no run here can test is marked in
the YAML (``testable: false`` with a ``reason``) and gets that row without a rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from edgelearn.core.record import load_recorded
from edgelearn.core.results import load_result, repo_root
from edgelearn.core.stats import PairedComparison, paired_difference

REPRODUCED = "reproduced"
PARTLY = "partly reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_TESTABLE = "not testable here"
VERDICTS: tuple[str, ...] = (REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_TESTABLE)
NOT_RUN = "not run"
NOT_RECORDED = "not recorded"
#: Papers whose "claims" are textbook results a chapter checks, counted apart from the five papers.
KINDS = ("paper", "textbook")

Results = Mapping[str, pd.DataFrame]
Rule = Callable[[Results, str], "Claim"]


@dataclass(frozen=True)
class Claim:
    """Our judgement of one claim of ``data/paper/<paper>.yaml``.

    ``ours`` is our value with its uncertainty and units; ``measured`` says how (tables, scale,
    seeds, the statistical test); ``why`` gives the rule that turned it into ``verdict``.
    """

    id: str
    verdict: str
    ours: str = ""
    measured: str = ""
    why: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"'verdict' must be one of {VERDICTS}, got {self.verdict!r}")
        if self.verdict == NOT_TESTABLE and not self.why:
            raise ValueError(f"claim {self.id!r}: a 'not testable here' verdict needs its reason in 'why'")


def paper_dir() -> Path:
    """The folder of the papers' values: ``<repo>/data/paper``."""
    return repo_root() / "data" / "paper"


def paper_values(paper: str) -> dict:
    """Read and check ``data/paper/<paper>.yaml``."""
    path = paper_dir() / f"{paper}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in paper_dir().glob("*.yaml"))
        raise FileNotFoundError(f"no paper values for {paper!r} at {path}; known papers: {known}")
    spec = yaml.safe_load(path.read_text())
    for key in ("paper", "title", "citation", "claims"):
        if key not in spec:
            raise ValueError(f"{path}: missing key {key!r}")
    if spec.setdefault("kind", "paper") not in KINDS:
        raise ValueError(f"{path}: 'kind' must be one of {KINDS}, got {spec['kind']!r}")
    ids = [c.get("id") for c in spec["claims"]]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: claim ids must be unique, got {ids}")
    for claim in spec["claims"]:
        missing = {"id", "claim", "paper_value", "source"} - set(claim)
        if missing:
            raise ValueError(f"{path}: claim {claim.get('id')!r} lacks {sorted(missing)}")
        if claim.get("testable", True) is False and not claim.get("reason"):
            raise ValueError(f"{path}: claim {claim['id']!r} is marked 'testable: false' without a 'reason'")
    return spec


def claims_frame(paper: str, claims: Sequence[Claim]) -> pd.DataFrame:
    """A chapter's judged claims as a table, checked against the paper's YAML ids."""
    known = {c["id"] for c in paper_values(paper)["claims"]}
    unknown = [c.id for c in claims if c.id not in known]
    if unknown:
        raise ValueError(f"claims {unknown} are not in data/paper/{paper}.yaml (known: {sorted(known)})")
    return pd.DataFrame([asdict(c) for c in claims], columns=[f.name for f in Claim.__dataclass_fields__.values()])


@dataclass
class ClaimRules:
    """The verdict rules of one paper, one function per claim of its YAML file.

    >>> rules = ClaimRules("ats")
    >>> @rules.claim("gap_to_ideal")
    ... def gap_to_ideal(results, scale): ...

    A rule takes the run's result tables (by name) and its scale and returns a :class:`Claim`
    with that id. :meth:`judge` runs every rule; claims marked ``testable: false`` in the YAML
    get a :data:`NOT_TESTABLE` row with the YAML's reason.
    """

    paper: str
    rules: dict[str, Rule] = field(default_factory=dict)

    def claim(self, claim_id: str) -> Callable[[Rule], Rule]:
        def register(rule: Rule) -> Rule:
            if claim_id in self.rules:
                raise ValueError(f"{self.paper}: claim {claim_id!r} has two rules")
            self.rules[claim_id] = rule
            return rule

        return register

    def check(self) -> None:
        """Each YAML claim has exactly one of: a rule, or ``testable: false``; no rule is unknown."""
        spec = paper_values(self.paper)["claims"]
        ids = {c["id"] for c in spec}
        untestable = {c["id"] for c in spec if c.get("testable", True) is False}
        problems = []
        if unknown := sorted(set(self.rules) - ids):
            problems.append(f"rules for claims not in the YAML: {unknown}")
        if both := sorted(set(self.rules) & untestable):
            problems.append(f"claims marked 'testable: false' that have a rule: {both}")
        if missing := sorted(ids - untestable - set(self.rules)):
            problems.append(f"claims with neither a rule nor 'testable: false': {missing}")
        if problems:
            where = f"data/paper/{self.paper}.yaml and {self.paper}'s claim rules disagree"
            raise ValueError(f"{where}: " + "; ".join(problems))

    def judge_one(self, claim_id: str, results: Results, scale: str) -> Claim:
        """Run the rule of ``claim_id`` (checking that it answers for that claim)."""
        if claim_id not in self.rules:
            raise KeyError(f"{self.paper} has no rule for claim {claim_id!r}; rules: {sorted(self.rules)}")
        claim = self.rules[claim_id](results, scale)
        if not isinstance(claim, Claim) or claim.id != claim_id:
            raise TypeError(f"the rule of {claim_id!r} must return a Claim with that id, got {claim!r}")
        return claim

    def judge(self, results: Results, scale: str) -> pd.DataFrame:
        """Every claim of the paper judged from ``results``: the ``claims`` table to save."""
        self.check()
        rows = []
        for spec in paper_values(self.paper)["claims"]:
            if spec.get("testable", True) is False:
                rows.append(Claim(spec["id"], NOT_TESTABLE, why=" ".join(str(spec["reason"]).split())))
            else:
                rows.append(self.judge_one(spec["id"], results, scale))
        return claims_frame(self.paper, rows)


# --------------------------------------------------------------------------------------------
# Verdict helpers shared by the papers' rules
# --------------------------------------------------------------------------------------------


def graded(value: float, reproduced: float, partly: float, *, higher_is_better: bool = True) -> str:
    """:data:`REPRODUCED` if ``value`` reaches ``reproduced``, :data:`PARTLY` if it reaches
    ``partly``, else :data:`NOT_REPRODUCED` (reversed when lower is better)."""
    if (reproduced < partly) if higher_is_better else (reproduced > partly):
        raise ValueError(f"thresholds out of order: reproduced={reproduced}, partly={partly}")
    sign = 1.0 if higher_is_better else -1.0
    if sign * value >= sign * reproduced:
        return REPRODUCED
    if sign * value >= sign * partly:
        return PARTLY
    return NOT_REPRODUCED


def beats_verdict(comparison: PairedComparison, a: str, b: str, *, higher_is_better: bool = True) -> tuple[str, str]:
    """The verdict on "``a`` beats ``b``" from a paired interval of ``a - b``, and why.

    Reproduced when the interval lies on ``a``'s side of zero; partly when ``a`` is ahead on
    average but the interval holds zero; not reproduced otherwise (no difference with ``b``
    ahead on average, or ``b`` better). ``higher_is_better=False`` for costs.
    """
    better = comparison.a_better if higher_is_better else comparison.b_better
    worse = comparison.b_better if higher_is_better else comparison.a_better
    ahead = comparison.mean > 0 if higher_is_better else comparison.mean < 0
    level = f"{comparison.level:.0%}"
    if better:
        return REPRODUCED, f"the {level} {comparison.test} interval of {a} - {b} excludes 0 on {a}'s side"
    if worse:
        return NOT_REPRODUCED, f"the {level} {comparison.test} interval of {a} - {b} excludes 0 on {b}'s side"
    if ahead:
        return PARTLY, f"{a} is ahead on average but the {level} {comparison.test} interval of {a} - {b} holds 0"
    return NOT_REPRODUCED, f"{a} is not ahead on average and the {level} {comparison.test} interval holds 0"


def linear_rate(t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> np.ndarray:
    """Per-round rate ``a`` of the least-squares fit :math:`y_t \\approx a\\,t + b\\sqrt{t}`, per row.

    Splits a regret curve into a part that grows linearly (a loss per round that never vanishes,
    such as the gap of a learner that cannot play the optimum) and a :math:`\\sqrt{t}` part (the
    cost of learning), for rules that ask whether regret grows linearly. ``y`` is ``(len(t),)`` or
    ``(n_runs, len(t))``; ``t`` holds at least two distinct positive checkpoints.
    """
    t, y = np.asarray(t, float), np.asarray(y, float)
    if t.ndim != 1 or np.unique(t).size < 2 or np.any(t <= 0):
        raise ValueError(f"'t' must hold at least 2 distinct positive checkpoints, got {t}")
    if y.ndim not in (1, 2) or y.shape[-1] != t.size:
        raise ValueError(f"'y' must have len(t) = {t.size} columns, got shape {y.shape}")
    basis = np.column_stack([t, np.sqrt(t)])
    coef = np.linalg.lstsq(basis, np.atleast_2d(y).T, rcond=None)[0]
    return coef[0] if y.ndim == 2 else coef[0, 0]


def unavailable(
    claim_id: str, results: Results, needs: Mapping[str, Sequence[str]] | Sequence[str], measured: str = ""
) -> Claim | None:
    """A :data:`NOT_TESTABLE` claim when the run lacks a table of ``needs`` (names, or names mapped to
    the columns the rule reads), or that table is empty or lacks a column; else ``None``.

    >>> if (claim := unavailable("gap", results, {"episodes": ["reward"]})): return claim
    """
    wanted = needs if isinstance(needs, Mapping) else dict.fromkeys(needs, ())
    for table, columns in wanted.items():
        if table not in results or len(results[table]) == 0:
            return Claim(claim_id, NOT_TESTABLE, measured=measured, why=f"the run made no '{table}' table")
        if absent := [c for c in columns if c not in results[table].columns]:
            why = f"the '{table}' table lacks {absent} (made by an older version of the experiments)"
            return Claim(claim_id, NOT_TESTABLE, measured=measured, why=why)
    return None


def too_few_seeds(
    claim_id: str,
    n: int,
    measured: str = "",
    minimum: int = 2,
    *,
    interval: str = "a paired interval",
    ours: str = "",
) -> Claim | None:
    """A :data:`NOT_TESTABLE` claim when ``n`` seeds cannot make an interval (fewer than ``minimum``);
    ``interval`` names the interval the rule needs (e.g. ``"a confidence interval"``), ``ours`` is
    what can be shown without one (e.g. the single seed's difference)."""
    if n >= minimum:
        return None
    why = f"{n} seed{'' if n == 1 else 's'}: {interval} needs at least {minimum}"
    return Claim(claim_id, NOT_TESTABLE, ours=ours, measured=measured, why=why)


def beats_claim(
    claim_id: str,
    a: pd.Series,
    b: pd.Series,
    a_name: str,
    b_name: str,
    *,
    higher_is_better: bool = True,
    method: str = "t",
    measured: str = "",
    ours: str = "",
    digits: int = 3,
) -> Claim:
    """The claim "``a_name`` beats ``b_name``" judged over paired seeds (two Series indexed by seed):
    :func:`beats_verdict` of :func:`~edgelearn.core.stats.paired_difference`, the interval (its
    test and number of seeds) in ``ours`` after any text given. Pairs where either value is missing
    (NaN) are left out; not testable with fewer than two pairs left."""
    a, b = a.align(b, join="inner")
    known = a.notna() & b.notna()
    a, b = a[known], b[known]
    if claim := too_few_seeds(claim_id, len(a), measured):
        return claim
    comparison = paired_difference(a, b, method=method)
    verdict, why = beats_verdict(comparison, a_name, b_name, higher_is_better=higher_is_better)
    shown = f"{a_name} - {b_name}: {comparison.describe(digits)}"
    return Claim(claim_id, verdict, ours=f"{ours}; {shown}" if ours else shown, measured=measured, why=why)


# --------------------------------------------------------------------------------------------
# The scorecard
# --------------------------------------------------------------------------------------------


def _blank_missing(table: pd.DataFrame) -> pd.DataFrame:
    """Empty text where a claims table has no value (an all-empty column reads back as floats)."""
    return table.astype(object).where(table.notna(), "")


def scorecard(scale: str, papers: Sequence[str] | None = None, recorded_scale: str | None = "deciding") -> pd.DataFrame:
    """One row per claim of every paper: claim, paper value, source, ours, verdict, scale.

    Results must have been made by the current library source (the book never shows a
    stale number); a paper whose notebook has not run at ``scale`` is listed as "not run".
    Beside them, the verdicts of the recorded run at ``recorded_scale`` (``data/recorded``, see
    :mod:`edgelearn.core.record`): ``recorded_verdict`` ("not recorded" when there is none),
    ``recorded_ours``, and ``recorded_changed``, the modules edited since it was made (a recorded
    result is shown with them, never as current).
    """
    names = list(papers or sorted(p.stem for p in paper_dir().glob("*.yaml")))
    rows = []
    for paper in names:
        spec = paper_values(paper)
        try:
            ours, meta = load_result(paper, scale, "claims", require_current=True)
            ours = _blank_missing(ours).set_index("id")
            commit = meta.get("git_commit", "unknown")[:10]
        except FileNotFoundError:
            ours, commit = pd.DataFrame(columns=["ours", "verdict", "measured", "why"]), ""
        recorded = load_recorded(paper, recorded_scale) if recorded_scale else None
        theirs = (
            _blank_missing(recorded.tables["claims"]).set_index("id")
            if recorded and "claims" in recorded.tables
            else None
        )
        for claim in spec["claims"]:
            found = claim["id"] in ours.index
            row = ours.loc[claim["id"]] if found else pd.Series(dtype=object)
            kept = theirs is not None and claim["id"] in theirs.index
            other = theirs.loc[claim["id"]] if kept else pd.Series(dtype=object)
            rows.append(
                {
                    "paper": paper,
                    "kind": spec["kind"],
                    "claim_id": claim["id"],
                    "claim": " ".join(claim["claim"].split()),
                    "paper_value": str(claim["paper_value"]),
                    "source": " ".join(str(claim["source"]).split()),
                    "ours": row.get("ours", ""),
                    "verdict": row["verdict"] if found else NOT_RUN,
                    "measured": row.get("measured", ""),
                    "why": row.get("why", ""),
                    "scale": scale,
                    "commit": commit,
                    "recorded_scale": recorded_scale or "",
                    "recorded_verdict": other["verdict"] if kept else NOT_RECORDED,
                    "recorded_ours": other.get("ours", ""),
                    "recorded_changed": ", ".join(recorded.changed) if kept else "",
                }
            )
    return pd.DataFrame(rows)


def verdict_changes(card: pd.DataFrame) -> pd.DataFrame:
    """The claims whose verdict at the recorded scale differs from this build's (a :func:`scorecard`
    table): ``paper``, ``claim_id``, ``claim``, the build's ``scale``, ``verdict`` and ``ours``, and the
    recorded run's ``recorded_verdict`` and ``recorded_ours``. Claims without a recorded verdict, or
    whose chapter has not run at the build's scale, are left out."""
    recorded = (card.recorded_verdict != NOT_RECORDED) & (card.verdict != NOT_RUN)
    changed = card[recorded & (card.recorded_verdict != card.verdict)]
    columns = ["paper", "claim_id", "claim", "scale", "verdict", "ours", "recorded_scale", "recorded_verdict",
               "recorded_ours"]  # fmt: skip
    return changed[columns].reset_index(drop=True)


def _markdown_text(text: str) -> str:
    """``text`` with the characters Markdown reads as markup (links, emphasis) escaped."""
    return re.sub(r"([\[\]*_`])", r"\\\1", str(text))


def _measured(ours: object) -> str:
    """`` (what a run measured)`` for a list item, or nothing when it measured nothing."""
    return f" ({_markdown_text(ours)})" if isinstance(ours, str) and ours.strip() else ""


def changes_note(card: pd.DataFrame, with_values: bool = False) -> str:
    """Markdown naming the claims of ``card`` whose verdict at the recorded scale differs from the
    build's (:func:`verdict_changes`), a list item each with both verdicts; or a sentence saying that
    none does, or that no run is recorded. ``with_values``: the items are grouped under each paper's
    title and give what each run measured beside its verdict (the scorecard's list)."""
    if "recorded_verdict" not in card or not (card.recorded_verdict != NOT_RECORDED).any():
        return "No run is recorded at a larger scale yet."
    changes = verdict_changes(card)
    recorded_scale = card.recorded_scale.iloc[0]
    if changes.empty:
        return f"The recorded runs ({recorded_scale} scale) confirm every verdict of this build."
    if not with_values:
        items = "".join(
            f"\n- {c.claim.rstrip('.')}: *{c.verdict}* at {c.scale}, *{c.recorded_verdict}* at {c.recorded_scale}"
            for c in changes.itertuples()
        )
        return f"Verdicts that the recorded runs ({recorded_scale} scale) give otherwise:\n{items}\n"
    blocks = []
    for paper, rows in changes.groupby("paper", sort=False):
        try:
            title = paper_values(paper)["title"]
        except FileNotFoundError:
            title = paper
        items = "".join(
            f"\n- {_markdown_text(c.claim.rstrip('.'))}: *{c.verdict}* at {c.scale}{_measured(c.ours)}; "
            f"*{c.recorded_verdict}* at {c.recorded_scale}{_measured(c.recorded_ours)}"
            for c in rows.itertuples()
        )
        blocks.append(f"**{_markdown_text(title)}**\n{items}\n")
    return "\n".join(blocks)


def headline(card: pd.DataFrame) -> pd.DataFrame:
    """Verdict counts per paper, the five papers' total, and the textbook checks apart.

    Rows: each paper in order, then ``"papers (total)"``; textbook papers come after the total.
    Columns: :data:`VERDICTS`, "not run" when any, and ``claims``.
    """
    columns = [*VERDICTS] + ([NOT_RUN] if (card.verdict == NOT_RUN).any() else [])
    counts = pd.crosstab(card.paper, card.verdict).reindex(columns=columns, fill_value=0)
    order = list(dict.fromkeys(card.paper))
    kinds = card.drop_duplicates("paper").set_index("paper").kind
    papers = [p for p in order if kinds[p] == "paper"]
    textbook = [p for p in order if kinds[p] == "textbook"]
    table = counts.reindex(papers)
    table.loc["papers (total)"] = table.sum()
    table = pd.concat([table, counts.reindex(textbook)])
    table["claims"] = table[columns].sum(axis=1)
    table.index.name = "paper"
    return table.astype(int)


COLOURS = {
    REPRODUCED: "#d7f0dd",
    PARTLY: "#fdf1cf",
    NOT_REPRODUCED: "#f8d7d5",
    NOT_TESTABLE: "#e3e8f3",
    NOT_RUN: "#eeeeee",
    NOT_RECORDED: "#eeeeee",
}


def card_html(card: pd.DataFrame) -> str:
    """The scorecard rows of one or more papers as an HTML table for the book.

    One row per claim: the claim, the paper's value over its source, ours over how it was
    measured, and the verdict on its colour over why. When any claim has a recorded run, a last
    column gives its verdict and value at the recorded scale, marked with the modules changed since
    it was made.
    """
    recorded = "recorded_verdict" in card and (card.recorded_verdict != NOT_RECORDED).any()

    def recorded_cell(r) -> str:
        if not recorded:
            return ""
        stale = f"<br><small><b>made by older code</b> (changed: {escape(r.recorded_changed)})</small>"
        return (
            f"<td class='recorded' style='background-color:{COLOURS.get(r.recorded_verdict, 'white')}'>"
            f"{escape(r.recorded_verdict)}<br><small>{escape(str(r.recorded_ours))}</small>"
            + (stale if r.recorded_changed else "")
            + "</td>"
        )

    body = "".join(
        f"<tr><td>{escape(r.claim)}</td>"
        f"<td>{escape(r.paper_value)}<br><small>{escape(r.source)}</small></td>"
        f"<td>{escape(str(r.ours))}<br><small>{escape(str(r.measured))}</small></td>"
        f"<td style='background-color:{COLOURS.get(r.verdict, 'white')}'>{escape(r.verdict)}"
        f"<br><small>{escape(str(r.why))}</small></td>{recorded_cell(r)}</tr>"
        for r in card.itertuples()
    )
    scale = escape(str(card.scale.iloc[0])) if len(card) else ""
    extra = f"<th style='width:16%'>Recorded ({escape(str(card.recorded_scale.iloc[0]))})</th>" if recorded else ""
    return (
        "<table class='table scorecard'><thead><tr><th style='width:24%'>Claim</th>"
        f"<th style='width:20%'>Paper's value</th><th style='width:26%'>Ours ({scale})</th><th>Verdict</th>{extra}"
        f"</tr></thead><tbody>{body}</tbody></table>"
    )
