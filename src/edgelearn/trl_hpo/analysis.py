"""The figures of TRL-HPO (Shaer et al. 2024) from a search's rows and its final actor.

* :func:`negative_reward_pairs` — Fig. 2: the (previous layer, layer) pairs whose new layer got a
  negative reward;
* :func:`slot_attention`, :func:`attention_differences` — Fig. 3: attention on each model's
  best-reward layer minus attention on its negative-reward layers;
* :func:`best_so_far` — best accuracy found so far, against wall time and trained candidates.
"""

from __future__ import annotations

import pandas as pd
import torch

from .trl_hpo import Actor, SearchResult

KIND_LABEL = {"conv": "Conv", "fc": "FC", "pool": "MaxPool", "input": "input"}
ATTENTION_COLUMNS = [
    "seed", "episode", "model", "best_step", "neg_step", "diff_attention", "diff_authors", "att_best", "att_neg",
    "att_empty",
]  # fmt: skip


def negative_reward_pairs(steps: pd.DataFrame) -> pd.DataFrame:
    """Fig. 2: the (previous layer, layer) pairs of trained layers with a negative reward, counted.

    Collapsed layers (penalty, never trained) are left out; their count is in ``collapsed``.
    """
    neg = steps[(steps.reward < 0) & ~steps.collapsed]
    pairs = (neg.prev_kind.map(KIND_LABEL) + "→" + neg.kind.map(KIND_LABEL)).value_counts()
    out = pairs.rename_axis("pair").reset_index(name="count")
    out["share"] = out["count"] / max(int(out["count"].sum()), 1)
    return out


@torch.no_grad()
def slot_attention(actor: Actor, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention each of the 6 slots receives in the actor's first block, for each state.

    Returns (true, authors'): ``true`` is the softmax attention weight received by slot j, averaged
    over heads and query positions (rows sum to 1); ``authors'`` is the quantity of the authors'
    code: a softmax over positions of the first block's attention output, averaged over features.
    """
    actor.eval()
    _, weights, outputs = actor(states, return_attention=True)
    received = weights[0].mean(dim=(1, 2))  # (n, key)
    proxy = torch.softmax(outputs[0].mean(dim=2), dim=1)
    return received, proxy


def attention_differences(result: SearchResult) -> pd.DataFrame:
    """Fig. 3: for every model with a trained negative-reward layer, the attention on its best-reward
    layer minus the attention on each negative-reward layer (final actor, the model's final state).

    Also the weights themselves: ``att_best``, ``att_neg`` and ``att_empty``, the mean weight on the
    model's slots yet to be generated (still -1; NaN when the model filled all of them).
    """
    if result.agent is None or result.steps.empty:
        return pd.DataFrame(columns=ATTENTION_COLUMNS)
    received, proxy = slot_attention(result.agent.actor, result.final_states)
    M = result.agent.cfg.models_per_episode
    rows = []
    L = result.final_states.shape[1]
    for (episode, model), g in result.steps.groupby(["episode", "model"]):
        filled = int(g.step.max()) + 1  # a collapsed step writes its slot too
        g = g[~g.collapsed]
        neg = g[g.reward < 0]
        if neg.empty:
            continue
        best = int(g.loc[g.reward.idxmax(), "step"])
        n = int(episode) * M + int(model)
        empty = float(received[n, filled:].mean()) if filled < L else float("nan")
        for s in neg.step.astype(int):
            rows.append({
                "seed": int(g.seed.iloc[0]), "episode": int(episode), "model": int(model), "best_step": best,
                "neg_step": s, "diff_attention": float(received[n, best] - received[n, s]),
                "diff_authors": float(proxy[n, best] - proxy[n, s]), "att_best": float(received[n, best]),
                "att_neg": float(received[n, s]), "att_empty": empty,
            })  # fmt: skip
    return pd.DataFrame(rows, columns=ATTENTION_COLUMNS)


def best_so_far(steps: pd.DataFrame, metric: str = "val_accuracy") -> pd.DataFrame:
    """Best ``metric`` among the trained candidates so far, against wall time and trained count."""
    s = steps[~steps.collapsed].sort_values(["wall_s", "n_trained"])
    return pd.DataFrame({
        "policy": s.policy.values, "seed": s.seed.values, "wall_s": s.wall_s.values,
        "n_trained": s.n_trained.values, "best": s[metric].cummax().values,
    })  # fmt: skip
