"""The reproduction scorecard: each paper's claims, the paper's value, ours, a verdict.

Paper values live in ``data/paper/<paper>.yaml`` (claim, value, source); a chapter's
notebook measures each claim and saves a ``claims`` result table with
:func:`claims_frame`; :func:`scorecard` joins the two for the book's scorecard page.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
import yaml

from edgelearn.core.results import load_result, repo_root

VERDICTS: tuple[str, ...] = ("reproduced", "partly reproduced", "not reproduced")
NOT_RUN = "not run"


@dataclass(frozen=True)
class Claim:
    """Our measurement of one claim of ``data/paper/<paper>.yaml``."""

    id: str  # the claim's id in the YAML file
    ours: str  # our value, with its uncertainty and units
    verdict: str  # one of VERDICTS
    detail: str = ""  # how it was measured (configurations, seeds, scale)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"'verdict' must be one of {VERDICTS}, got {self.verdict!r}")


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
    ids = [c.get("id") for c in spec["claims"]]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: claim ids must be unique, got {ids}")
    for claim in spec["claims"]:
        missing = {"id", "claim", "paper_value", "source"} - set(claim)
        if missing:
            raise ValueError(f"{path}: claim {claim.get('id')!r} lacks {sorted(missing)}")
    return spec


def claims_frame(paper: str, claims: list[Claim]) -> pd.DataFrame:
    """A chapter's measured claims as a table, checked against the paper's YAML ids."""
    known = {c["id"] for c in paper_values(paper)["claims"]}
    unknown = [c.id for c in claims if c.id not in known]
    if unknown:
        raise ValueError(f"claims {unknown} are not in data/paper/{paper}.yaml (known: {sorted(known)})")
    return pd.DataFrame([asdict(c) for c in claims])


def scorecard(scale: str, papers: list[str] | None = None) -> pd.DataFrame:
    """One row per claim of every paper: claim, paper value, source, ours, verdict, scale.

    Results must have been made by the current library source (the book never shows a
    stale number); a paper whose notebook has not run at ``scale`` is listed as "not run".
    """
    names = papers or sorted(p.stem for p in paper_dir().glob("*.yaml"))
    rows = []
    for paper in names:
        spec = paper_values(paper)
        try:
            ours, meta = load_result(paper, scale, "claims", require_current=True)
            ours = ours.fillna("").set_index("id")
            commit = meta.get("git_commit", "unknown")[:10]
        except FileNotFoundError:
            ours, commit = pd.DataFrame(columns=["ours", "verdict", "detail"]), ""
        for claim in spec["claims"]:
            found = claim["id"] in ours.index
            rows.append(
                {
                    "paper": paper,
                    "claim_id": claim["id"],
                    "claim": " ".join(claim["claim"].split()),
                    "paper_value": claim["paper_value"],
                    "source": " ".join(str(claim["source"]).split()),
                    "ours": ours.loc[claim["id"], "ours"] if found else "",
                    "verdict": ours.loc[claim["id"], "verdict"] if found else NOT_RUN,
                    "detail": ours.loc[claim["id"], "detail"] if found else "",
                    "scale": scale,
                    "commit": commit,
                }
            )
    return pd.DataFrame(rows)
