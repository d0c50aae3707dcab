r"""Checks of the key-line exercises: the student's function against the library's own.

Every ``check_*`` function takes the student's function, calls it on fixed seeded inputs, and
compares the result with the library function it re-implements (named in its docstring) and with
the invariants the library's tests assert: shapes, probabilities summing to one, unbiasedness,
analytic values of tiny cases. A failure raises :class:`ExerciseError` (an ``AssertionError``)
whose message says what is wrong and, where a common slip explains the numbers, which slip; a pass
returns a one-line summary. The exercise notebooks' otter-grader tests call these functions, so a
student sees these messages under ``grader.check("<name>")``.

:data:`EXERCISES` lists every exercise: its chapter, the function the student writes, its check
and the key line it asks for.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from edgelearn.core.seeding import numpy_generator, seeded


class ExerciseError(AssertionError):
    """The student's function does not do what the exercise asks; the message says what is wrong."""


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _call(fn: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, turning a missing function, the stub's ``NotImplementedError``, any
    other exception and a forgotten ``return`` into an :class:`ExerciseError` that says so."""
    if fn is None or not callable(fn):
        raise ExerciseError(f"`{name}` is not defined (or is not a function): run the cell that defines it first.")
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError:
        raise ExerciseError(
            f"`{name}` is not implemented yet: replace the `raise NotImplementedError(...)` line with your code."
        ) from None
    except Exception as err:  # the student's bug: report it, with its type
        raise ExerciseError(f"`{name}` raised {type(err).__name__}: {err}") from err
    if out is None:
        raise ExerciseError(f"`{name}` returned None: did you forget the `return`?")
    return out


def _array(out: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """``out`` as a float array of ``shape``, else an :class:`ExerciseError`."""
    if isinstance(out, torch.Tensor):
        out = out.detach().cpu().numpy()
    try:
        arr = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        raise ExerciseError(f"`{name}` must return an array of numbers, got {type(out).__name__}") from None
    if arr.shape != shape:
        raise ExerciseError(f"`{name}` must return an array of shape {shape}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ExerciseError(f"`{name}` returned NaN or infinite values: {arr}")
    return arr


def _tensor(out: Any, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    """``out`` as a finite float tensor of ``shape``, else an :class:`ExerciseError`."""
    if not isinstance(out, torch.Tensor):
        raise ExerciseError(f"`{name}` must return a torch.Tensor, got {type(out).__name__}")
    if tuple(out.shape) != shape:
        raise ExerciseError(f"`{name}` must return a tensor of shape {shape}, got shape {tuple(out.shape)}")
    if not torch.isfinite(out).all():
        raise ExerciseError(f"`{name}` returned NaN or infinite values: {out}")
    return out


def _close(actual: Any, expected: Any, what: str, hint: str = "", rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """Raise :class:`ExerciseError` when ``actual`` and ``expected`` differ, showing both."""
    a, e = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    if not np.allclose(a, e, rtol=rtol, atol=atol):
        with np.printoptions(precision=6, suppress=True, threshold=12):
            msg = f"{what}: expected {e}, got {a}."
        raise ExerciseError(msg + (f" {hint}" if hint else ""))


def _matches(actual: Any, candidate: Any) -> bool:
    a, c = np.asarray(actual, dtype=float), np.asarray(candidate, dtype=float)
    return a.shape == c.shape and bool(np.allclose(a, c, rtol=1e-6, atol=1e-8))


def _passed(name: str, n_checks: int) -> str:
    return f"{name}: all {n_checks} checks passed"


# --------------------------------------------------------------------------------------------
# EXP3 (book/exp3/theory.md; edgelearn.exp3.exp3)
# --------------------------------------------------------------------------------------------


def check_exp3_estimator(loss_estimate: Callable) -> str:
    r"""``loss_estimate(p, arm, loss)`` -> :math:`\hat\ell_t` with :math:`\hat\ell_{t,i} = \mathbb 1\{A_t=i\}
    \ell_{t,A_t}/p_{t,i}` (eq. exp3-estimator), against :meth:`edgelearn.exp3.Exp3.update`."""
    from edgelearn.exp3 import Exp3

    name = "loss_estimate"
    p = np.array([0.5, 0.25, 0.25])
    est = _array(_call(loss_estimate, name, p.copy(), 1, 0.5), name, (3,))
    if est[0] != 0 or est[2] != 0:
        raise ExerciseError(
            f"only the played arm's estimate may be non-zero (the indicator 1{{A_t = i}}): with arm 1 played "
            f"you returned {est}"
        )
    hint = ""
    if math.isclose(est[1], 0.5):
        hint = "You returned the loss itself: divide it by the probability p[arm] of the played arm."
    elif math.isclose(est[1], 0.125):
        hint = "You multiplied by p[arm]: the importance weight divides by it."
    _close(est[1], 2.0, "played arm 1 with p = 0.25 and loss 0.5: its estimate", hint)

    # the library's estimate, on a seeded prior and arm
    rng = numpy_generator(7)
    prior = rng.dirichlet(np.ones(6))
    learner = Exp3(6, 0.1, n_runs=1, prior=prior, seed=3)
    arm, loss = int(learner.sample()[0]), 0.8
    expected = learner.update(np.array([arm]), np.array([loss]))[0]
    est = _array(_call(loss_estimate, name, prior.copy(), arm, loss), name, (6,))
    _close(est[arm], expected, f"estimate of the played arm {arm} (Exp3.update's, seeded prior)")

    # unbiasedness: sum_a p_a * loss_estimate(p, a, l_a) = l exactly
    losses = rng.random(6)
    mean = sum(prior[a] * _array(_call(loss_estimate, name, prior.copy(), a, losses[a]), name, (6,)) for a in range(6))
    _close(mean, losses, "E[estimate] = sum_a p_a * loss_estimate(p, a, losses[a]) (it must equal the losses)")
    return _passed(name, 4)


def check_exp3_distribution(exp3_distribution: Callable) -> str:
    r"""``exp3_distribution(prior, cum_estimates, eta)`` -> :math:`p_t \propto p_0 e^{-\eta \hat L_{t-1}}`
    (eq. exp3-weights), against :meth:`edgelearn.exp3.Exp3.probabilities` after the same rounds."""
    from edgelearn.exp3 import Exp3

    name = "exp3_distribution"
    eta = 0.5
    p = _array(
        _call(exp3_distribution, name, np.array([0.5, 0.5]), np.array([0.0, math.log(2) / eta]), eta), name, (2,)
    )
    hint = "The weight of arm i is p0_i * exp(-eta * L_i): a larger cumulative loss gives a smaller probability."
    _close(p, [2 / 3, 1 / 3], "uniform prior, L = [0, ln2/eta]", hint)

    # the library's distribution after 50 seeded rounds
    rng = numpy_generator(11)
    prior = rng.dirichlet(np.ones(5))
    learner = Exp3(5, 0.3, n_runs=1, prior=prior, seed=5)
    cumulative = np.zeros(5)
    for _ in range(50):
        arm = learner.sample()
        loss = rng.random(1)
        cumulative[arm[0]] += learner.update(arm, loss)[0]
    p = _array(_call(exp3_distribution, name, prior.copy(), cumulative.copy(), 0.3), name, (5,))
    if not (np.all(p >= 0) and math.isclose(p.sum(), 1.0, abs_tol=1e-9)):
        raise ExerciseError(f"the result must be a probability vector (>= 0, summing to 1): got {p}, sum {p.sum():.6g}")
    _close(p, learner.probabilities()[0], "distribution after 50 rounds (Exp3.probabilities)")

    # numerical stability and zero-prior arms
    big = np.array([1e4, 1e4 + 1.0, 2e4])
    with np.errstate(all="ignore"):
        out = _call(exp3_distribution, name, np.array([0.0, 0.5, 0.5]), big, 1.0)
    if not np.all(np.isfinite(np.asarray(out, dtype=float))):
        raise ExerciseError(
            "with cumulative estimates of order 1e4 your distribution has NaN/inf: exp(-eta * L) underflows to 0 "
            "for every arm. Subtract the smallest eta * L (or use a log-sum-exp) before exponentiating; "
            "p_t does not change."
        )
    p = _array(out, name, (3,))
    _close(p, [0.0, 1.0, 0.0], "prior [0, .5, .5], L = [1e4, 1e4 + 1, 2e4], eta = 1", "A zero-prior arm keeps p = 0.")
    return _passed(name, 4)


# --------------------------------------------------------------------------------------------
# Slicing for AI (book/slicing/theory.md; edgelearn.slicing)
# --------------------------------------------------------------------------------------------


def check_pareto_filter(pareto_filter: Callable) -> str:
    """``pareto_filter(points)`` -> sorted indices of the rows no other row dominates (OLS-RSA's
    criteria 1 and 2), against :func:`edgelearn.slicing.system.pareto_maximal`."""
    from edgelearn.slicing.system import pareto_maximal

    name = "pareto_filter"

    def run(points: np.ndarray) -> np.ndarray:
        out = _call(pareto_filter, name, points.copy())
        try:
            idx = np.sort(np.asarray(out, dtype=np.int64).ravel())
        except (TypeError, ValueError):
            raise ExerciseError(f"`{name}` must return an array of row indices, got {out!r}") from None
        if idx.size and (idx.min() < 0 or idx.max() >= len(points)):
            raise ExerciseError(f"`{name}` must return row indices in 0..{len(points) - 1}, got {idx}")
        return idx

    def explain(points: np.ndarray, idx: np.ndarray, expected: np.ndarray) -> None:
        if np.array_equal(idx, expected):
            return
        kept_dominated = sorted(set(idx) - set(expected))
        if kept_dominated:
            i = kept_dominated[0]
            j = next(j for j in range(len(points)) if np.all(points[j] >= points[i]) and np.any(points[j] > points[i]))
            raise ExerciseError(
                f"you kept row {i} {points[i].tolist()}, but row {j} {points[j].tolist()} dominates it "
                "(at least as much of everything, more of something)."
            )
        i = sorted(set(expected) - set(idx))[0]
        raise ExerciseError(
            f"you dropped row {i} {points[i].tolist()}, which no row dominates. A row dominates another only when "
            "it is >= in every coordinate AND > in at least one: equal rows do not dominate each other."
        )

    tiny = np.array([[1, 1], [2, 1], [1, 2], [0, 3], [2, 1]])
    explain(tiny, run(tiny), np.array([1, 2, 3, 4]))
    rng = numpy_generator(2)
    for dim in (2, 4):
        points = rng.integers(0, 5, size=(120, dim))
        explain(points, run(points), pareto_maximal(points))
    return _passed(name, 3)


def check_sbs_prior(sbs_prior: Callable) -> str:
    """``sbs_prior(coordinates, centre, size)`` -> SBS's initial distribution: uniform on the ``size``
    super actions nearest ``centre``, zero elsewhere, against :func:`edgelearn.slicing.sbs_prior`."""
    from edgelearn.slicing.ols import sbs_prior as library_sbs_prior

    name = "sbs_prior"
    rng = numpy_generator(4)
    coords = rng.random((40, 4))
    centre = rng.random(4)
    for size in (1, 7, 40):
        p = _array(_call(sbs_prior, name, coords.copy(), centre.copy(), size), name, (40,))
        if not (np.all(p >= 0) and math.isclose(p.sum(), 1.0, abs_tol=1e-9)):
            raise ExerciseError(f"size {size}: the prior must be a probability vector (>= 0, sum 1), got sum {p.sum()}")
        if np.count_nonzero(p) != size:
            raise ExerciseError(
                f"size {size}: the prior must put mass on exactly {size} arms, got {np.count_nonzero(p)}"
            )
        space = SimpleNamespace(hyper=coords, coordinates=lambda: coords)
        expected = library_sbs_prior(space, centre, size)
        if not _matches(p, expected):
            far = np.linalg.norm(coords - centre, axis=1)
            raise ExerciseError(
                f"size {size}: your prior is not uniform on the {size} super actions nearest the centre "
                f"(Euclidean distance; nearest distances {np.sort(far)[:size].round(3)}). Expected mass 1/{size} on "
                f"rows {np.flatnonzero(expected)[:10]}, got mass on rows {np.flatnonzero(p)[:10]}."
            )
    return _passed(name, 3)


# --------------------------------------------------------------------------------------------
# MA2ML (book/ma2ml/theory.md; edgelearn.ma2ml.ma2ml)
# --------------------------------------------------------------------------------------------


def _ma2ml_case() -> tuple[Any, torch.Tensor, torch.Tensor]:
    from edgelearn.ma2ml.ma2ml import CentralCritic

    dims = (3, 4, 2)
    critic = CentralCritic(dims, hidden=16, seed=0)
    gen = torch.Generator().manual_seed(1)
    actions = torch.stack([torch.randint(d, (8,), generator=gen) for d in dims], dim=1)
    policy = torch.softmax(torch.randn(4, generator=gen), -1)
    return critic, actions, policy


def check_counterfactual_baseline(counterfactual_baseline: Callable) -> str:
    r"""``counterfactual_baseline(critic, policy, actions, agent)`` -> :math:`b(A_{-i}) = \sum_a \pi_i(a)\,
    Q(a, A_{-i})`, against :func:`edgelearn.ma2ml.ma2ml.counterfactual_baseline`."""
    from edgelearn.ma2ml.ma2ml import counterfactual_baseline as library_baseline

    name = "counterfactual_baseline"
    critic, actions, policy = _ma2ml_case()
    with torch.no_grad():
        b = _tensor(_call(counterfactual_baseline, name, critic, policy, actions.clone(), 1), name, (8,))
        expected = library_baseline(critic, policy, actions, 1)
        q = critic(actions)
    hint = ""
    if _matches(b, q):
        hint = "You returned Q(A) itself: the baseline averages Q over agent i's choices a, with A_-i fixed."
    elif _matches(b, critic.counterfactual(actions, 1).detach().mean(-1)):
        hint = "You averaged Q(a, A_-i) uniformly: weight each choice a by the agent's policy pi_i(a)."
    _close(b, expected, "baseline of agent 1 (library counterfactual_baseline)", hint, rtol=1e-5, atol=1e-6)

    changed = actions.clone()
    changed[:, 1] = (changed[:, 1] + 1) % 4
    with torch.no_grad():
        b2 = _tensor(_call(counterfactual_baseline, name, critic, policy, changed, 1), name, (8,))
    _close(b2, b, "the baseline after changing only agent 1's own actions", "b may depend on A_-i only.", rtol=1e-5)

    one_hot = torch.zeros(4)
    one_hot[2] = 1.0
    with torch.no_grad():
        b3 = _tensor(_call(counterfactual_baseline, name, critic, one_hot, actions.clone(), 1), name, (8,))
        fixed = actions.clone()
        fixed[:, 1] = 2
        _close(b3, critic(fixed), "with pi_1 all on choice 2 the baseline must be Q(2, A_-1)", rtol=1e-5, atol=1e-6)
    return _passed(name, 3)


def check_kl_divergence(kl_divergence: Callable) -> str:
    r"""``kl_divergence(pi_logits, rho_logits)`` -> :math:`\mathrm{KL}(\pi\|\rho) = \sum_a \pi(a)\log\frac{\pi(a)}
    {\rho(a)}` row by row, against :func:`edgelearn.ma2ml.ma2ml.kl_divergence`."""
    from edgelearn.ma2ml.ma2ml import kl_divergence as library_kl

    name = "kl_divergence"
    pi = torch.zeros(1, 2)
    rho = torch.log(torch.tensor([[0.25, 0.75]]))
    kl = _tensor(_call(kl_divergence, name, pi.clone(), rho.clone()), name, (1,))
    exact = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    hint = ""
    if math.isclose(float(kl[0]), float(library_kl(rho, pi)[0]), rel_tol=1e-6):
        hint = "You computed KL(rho || pi): the regulariser weights log(pi/rho) by pi, the policy being updated."
    _close(kl, [exact], "KL([.5, .5] || [.25, .75])", hint)

    gen = torch.Generator().manual_seed(3)
    a, b = torch.randn(6, 5, generator=gen), torch.randn(6, 5, generator=gen)
    kl = _tensor(_call(kl_divergence, name, a.clone(), b.clone()), name, (6,))
    _close(kl, library_kl(a, b).detach(), "KL of 6 seeded pairs of logit vectors (library kl_divergence)", rtol=1e-5)
    if (kl < -1e-7).any():
        raise ExerciseError(f"a KL divergence is never negative, got {kl}")
    same = _tensor(_call(kl_divergence, name, a.clone(), a.clone() + 3.0), name, (6,))
    _close(same, torch.zeros(6), "KL(pi || pi) with the logits shifted by 3 (same distribution)", atol=1e-6)
    return _passed(name, 3)


# --------------------------------------------------------------------------------------------
# TRL-HPO (book/trl_hpo/theory.md; edgelearn.trl_hpo.trl_hpo)
# --------------------------------------------------------------------------------------------


def check_layer_reward(layer_reward: Callable) -> str:
    r"""``layer_reward(perf, prev_perf, collapsed, penalty)`` -> :math:`r_t = \frac1{32}\sum_b (p_{t,b} - p_{t-1,b})`,
    ``penalty`` for collapsed architectures, against :func:`edgelearn.trl_hpo.trl_hpo.step_rewards`."""
    from edgelearn.trl_hpo.trl_hpo import TRLConfig, step_rewards

    name = "layer_reward"
    gen = torch.Generator().manual_seed(5)
    prev = torch.rand(4, 32, generator=gen) * 0.6
    perf = (prev + torch.rand(4, 32, generator=gen) * 0.3).clamp(max=1.0)
    collapsed = torch.tensor([False, True, False, False])
    r = _tensor(_call(layer_reward, name, perf.clone(), prev.clone(), collapsed.clone(), -1.0), name, (4,))
    expected, _ = step_rewards(perf, prev, collapsed, 1, TRLConfig())
    hint = ""
    if _matches(r[0], perf[0].mean()):
        hint = "You returned the accuracy itself: the reward is the improvement over the previous layer's accuracy."
    elif not math.isclose(float(r[1]), -1.0):
        hint = "A collapsed architecture (row 1) gets the penalty instead of the improvement."
    _close(r, expected, "rewards of 4 models, model 1 collapsed (library step_rewards)", hint, rtol=1e-5)

    # with gamma = 1 the rewards of one model telescope to its final mean accuracy
    steps = torch.cumsum(torch.rand(4, 32, generator=gen) * 0.2, dim=0)
    total, before = 0.0, torch.zeros(1, 32)
    for t in range(4):
        now = steps[t : t + 1]
        total += float(_tensor(_call(layer_reward, name, now, before, torch.tensor([False]), -1.0), name, (1,))[0])
        before = now
    _close(total, float(steps[-1].mean()), "sum of the rewards of 4 layers (it must telescope to the final accuracy)")
    return _passed(name, 2)


def check_ddpg_target(ddpg_target: Callable) -> str:
    r"""``ddpg_target(reward, done, next_state, actor_target, critic_target, gamma)`` ->
    :math:`y = r + \gamma(1-d)\,Q'(s', \mu'(s'))`, the critic's regression target of
    :meth:`edgelearn.trl_hpo.trl_hpo.Agent.update` (computed here with the library's networks)."""
    from edgelearn.trl_hpo.trl_hpo import Actor, TransformerCritic, TRLConfig

    name = "ddpg_target"
    cfg = TRLConfig(d_model=16, n_heads=2, expansion=2)
    with seeded(0):
        actor, critic = Actor(cfg).eval(), TransformerCritic(cfg).eval()
    gen = torch.Generator().manual_seed(6)
    next_state = torch.rand(5, cfg.max_layers, cfg.d_model, generator=gen) * 2 - 1
    reward = torch.rand(5, generator=gen)
    done = torch.tensor([0.0, 1.0, 0.0, 0.0, 1.0])
    with torch.no_grad():
        next_q = critic(next_state, actor(next_state))
    for gamma in (1.0, 0.9):
        y = _call(ddpg_target, name, reward.clone(), done.clone(), next_state.clone(), actor, critic, gamma)
        y = _tensor(y, name, (5,))
        if y.requires_grad:
            raise ExerciseError(
                "the target must be a constant for the critic's regression: compute it under torch.no_grad() "
                "(or .detach() it)."
            )
        hint = ""
        if _matches(y, reward + gamma * next_q):
            hint = "Terminal transitions (done = 1) must not bootstrap: multiply the next value by (1 - done)."
        _close(y, reward + gamma * (1 - done) * next_q, f"DDPG targets with gamma = {gamma}", hint, rtol=1e-5)
    return _passed(name, 2)


# --------------------------------------------------------------------------------------------
# OD3 (book/od3/theory.md; edgelearn.core.rl, edgelearn.od3.od3)
# --------------------------------------------------------------------------------------------


def _dqn_case() -> tuple[dict[str, torch.Tensor], torch.nn.Module, torch.nn.Module]:
    """A batch and two differently seeded networks whose greedy actions disagree on some rows."""
    with seeded(0):
        online = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    with seeded(1):
        target = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    gen = torch.Generator().manual_seed(2)
    batch = {
        "obs": torch.randn(32, 4, generator=gen),
        "action": torch.randint(3, (32,), generator=gen),
        "reward": torch.rand(32, generator=gen),
        "next_obs": torch.randn(32, 4, generator=gen),
        "done": (torch.rand(32, generator=gen) < 0.25).float(),
    }
    return batch, target, online


def check_double_dqn_target(double_dqn_target: Callable) -> str:
    r"""``double_dqn_target(batch, target_net, online_net, gamma)`` ->
    :math:`r + \gamma(1-d)\,Q_{\theta^-}(s', \arg\max_a Q_\theta(s', a))`, against
    :func:`edgelearn.core.rl.td_target` with ``online_net``."""
    from edgelearn.core.rl import td_target

    name = "double_dqn_target"
    batch, target, online = _dqn_case()
    y = _call(double_dqn_target, name, {k: v.clone() for k, v in batch.items()}, target, online, 0.99)
    y = _tensor(y, name, (32,))
    if y.requires_grad:
        raise ExerciseError("the TD target must be a constant: compute it under torch.no_grad() (or .detach() it).")
    with torch.no_grad():
        expected = td_target(batch, target, 0.99, online)
        dqn, online_only = td_target(batch, target, 0.99), td_target(batch, online, 0.99)
        best = online(batch["next_obs"]).argmax(1, keepdim=True)
        no_done = batch["reward"] + 0.99 * target(batch["next_obs"]).gather(1, best).squeeze(1)
    hint = ""
    if _matches(y, dqn):
        hint = (
            "This is DQN's target (the target network both picks and scores the next action). In Double DQN "
            "the online network picks argmax_a Q_online(s', a); the target network scores it."
        )
    elif _matches(y, online_only):
        hint = "You used the online network for both steps: the target network must score the chosen action."
    elif _matches(y, no_done):
        hint = "Terminal transitions (done = 1) must not bootstrap: multiply the next value by (1 - done)."
    _close(y, expected, "Double-DQN targets of a seeded batch (core.rl.td_target with online_net)", hint, rtol=1e-5)
    return _passed(name, 2)


def check_od3_loss(distillation_loss: Callable) -> str:
    r"""``distillation_loss(student_logits, teacher_q, tau)`` -> :math:`\mathrm{KL}(F_{sm}(q_T/\tau)\,\|\,F_{sm}(z_S))`
    averaged over the batch (OD3 eqs. 3-5), against :func:`edgelearn.od3.od3.od3_loss`."""
    import torch.nn.functional as F

    from edgelearn.od3.od3 import od3_loss

    name = "distillation_loss"
    gen = torch.Generator().manual_seed(4)
    teacher = torch.randn(16, 6, generator=gen)
    student = torch.randn(16, 6, generator=gen)
    expected = od3_loss(student, teacher, 0.01)
    loss = _tensor(_call(distillation_loss, name, student.clone(), teacher.clone(), 0.01), name, ())
    t_soft, s_log = F.softmax(teacher / 0.01, 1), F.log_softmax(student, 1)
    hint = ""
    if _matches(loss, od3_loss(student, teacher, 1.0)):
        hint = "The teacher's Q-values are sharpened by the temperature: softmax(q_T / tau) with tau = 0.01."
    elif _matches(loss, F.kl_div(F.log_softmax(teacher / 0.01, 1), F.softmax(student, 1), reduction="batchmean")):
        hint = "You computed KL(student || teacher): the teacher's distribution is the first argument, KL(p_T || p_S)."
    elif _matches(loss, (t_soft * (t_soft.clamp_min(1e-30).log() - s_log)).sum()):
        hint = "Average over the batch (F.kl_div's reduction='batchmean'), do not sum."
    _close(loss, expected, "distillation loss of a seeded batch, tau = 0.01 (od3.od3_loss)", hint, rtol=1e-4)

    teacher_g, student_g = teacher.clone().requires_grad_(True), student.clone().requires_grad_(True)
    loss = _tensor(_call(distillation_loss, name, student_g, teacher_g, 0.01), name, ())
    if not loss.requires_grad:
        raise ExerciseError("the loss carries no gradient to the student's logits: do not detach the student.")
    loss.backward()
    if teacher_g.grad is not None and teacher_g.grad.abs().sum() > 0:
        raise ExerciseError("the teacher received gradients: detach teacher_q, only the student learns.")
    matched = _tensor(_call(distillation_loss, name, teacher / 0.01 + 2.0, teacher.clone(), 0.01), name, ())
    _close(matched, 0.0, "the loss of a student whose logits equal q_T / tau (+ a constant)", atol=1e-5)
    return _passed(name, 3)


# --------------------------------------------------------------------------------------------
# ATS (book/ats/theory.md; edgelearn.ats.ats)
# --------------------------------------------------------------------------------------------


def check_ats_psi(training_value: Callable) -> str:
    r"""``training_value(q_net, obs, obs_after_training)`` -> :math:`\psi(s) = V(s^+) - V(s)` with
    :math:`V(s) = \max_a Q(s, a)`, as :func:`edgelearn.ats.ats.run` computes it from
    :meth:`edgelearn.ats.ats.DoubleDQNAgent.values`."""
    from edgelearn.ats.ats import AgentConfig, DoubleDQNAgent

    name = "training_value"
    agent = DoubleDQNAgent(6, 4, AgentConfig(hidden=(16,), batch_size=8, buffer_capacity=64), seed=0)
    rng = numpy_generator(9)
    for _ in range(3):
        obs, after = rng.random(6).astype(np.float32), rng.random(6).astype(np.float32)
        out = _call(training_value, name, agent.q, obs.copy(), after.copy())
        try:
            psi = float(out)
        except (TypeError, ValueError):
            raise ExerciseError(f"`{name}` must return one number (a float), got {out!r}") from None
        v_now, v_train = agent.values(np.stack([obs, after]))
        expected = float(v_train - v_now)
        hint = ""
        if math.isclose(psi, -expected, rel_tol=1e-5):
            hint = "The sign is reversed: psi = V(s+) - V(s), the value after the training job minus the value now."
        else:
            with torch.no_grad():
                q = agent.q(torch.from_numpy(np.stack([obs, after])))
            if math.isclose(psi, float(q[1].mean() - q[0].mean()), rel_tol=1e-5):
                hint = "V(s) = max_a Q(s, a), the greedy value, not the mean over actions."
        _close(psi, expected, "psi of a seeded pair of observations", hint, rtol=1e-5, atol=1e-6)
    return _passed(name, 3)


def check_ats_rule(should_train: Callable) -> str:
    """``should_train(psi, history, percentile)`` -> whether ATS trains: psi above the ``percentile``-th
    percentile of the recent values ``history`` (before psi joins them), against
    :meth:`edgelearn.ats.ats.TrainingRule.adaptive` with a trusted Q-function."""
    from edgelearn.ats.ats import TrainingRule, TrainingRuleConfig

    name = "should_train"
    rng = numpy_generator(8)
    history = rng.normal(size=200)
    for percentile in (90.0, 50.0):
        threshold = float(np.percentile(history, percentile))
        for psi in (threshold - 0.05, threshold, threshold + 0.05, float(history.max()) + 1, float(history.min()) - 1):
            rule = TrainingRule("ATS", TrainingRuleConfig(percentile=percentile, window=500, min_history=1), 10)
            rule.psi.extend(history.tolist())
            expected = rule.adaptive(psi, relative_td=0.0)
            out = _call(should_train, name, psi, history.copy(), percentile)
            if not isinstance(out, (bool, np.bool_)):
                raise ExerciseError(f"`{name}` must return a bool (True: train now), got {type(out).__name__}")
            if bool(out) != expected:
                where = "equal to" if psi == threshold else ("above" if psi > threshold else "below")
                hint = ""
                if psi == threshold:
                    hint = " The rule is strict: train only when psi is *above* the percentile."
                elif expected and not out and psi > threshold:
                    hint = " Take the percentile of the history as given (without psi), with np.percentile(history, q)."
                else:
                    hint = " Train when psi is large (a training slot costs little), not when it is small."
                raise ExerciseError(
                    f"psi = {psi:.4f} is {where} the {percentile:g}th percentile of the history ({threshold:.4f}): "
                    f"should_train must return {expected}, got {bool(out)}.{hint}"
                )
    return _passed(name, 10)


# --------------------------------------------------------------------------------------------
# the list of exercises
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    """One key-line exercise: the otter question ``name`` in ``exercises/<chapter>.md``, the function
    the student writes, its check, and the key line in words."""

    name: str
    chapter: str
    function: str
    check: Callable[[Callable], str]
    key_line: str


EXERCISES: tuple[Exercise, ...] = (
    Exercise("exp3_estimator", "exp3", "loss_estimate", check_exp3_estimator,
             "importance-weighted loss estimate 1{A_t=i} l_t / p_t,i"),
    Exercise("exp3_distribution", "exp3", "exp3_distribution", check_exp3_distribution,
             "exponential weights p_t ∝ p_0 exp(-eta L_hat), computed stably"),
    Exercise("pareto_filter", "slicing", "pareto_filter", check_pareto_filter,
             "Pareto filter behind OLS-RSA's reduced super actions"),
    Exercise("sbs_prior", "slicing", "sbs_prior", check_sbs_prior,
             "SBS prior: uniform on the K' super actions nearest the guess"),
    Exercise("counterfactual_baseline", "ma2ml", "counterfactual_baseline", check_counterfactual_baseline,
             "counterfactual baseline b(A_-i) = sum_a pi_i(a) Q(a, A_-i)"),
    Exercise("kl_divergence", "ma2ml", "kl_divergence", check_kl_divergence,
             "KL(pi_i || rho_i) regulariser of the off-policy update"),
    Exercise("layer_reward", "trl_hpo", "layer_reward", check_layer_reward,
             "per-layer reward r_t = mean_b(p_t,b - p_t-1,b), penalty on collapse"),
    Exercise("ddpg_target", "trl_hpo", "ddpg_target", check_ddpg_target,
             "DDPG critic target y = r + gamma (1 - d) Q'(s', mu'(s'))"),
    Exercise("double_dqn_target", "od3", "double_dqn_target", check_double_dqn_target,
             "Double-DQN target: online net picks, target net scores"),
    Exercise("od3_loss", "od3", "distillation_loss", check_od3_loss,
             "tempered KL distillation loss KL(softmax(q_T/tau) || softmax(z_S)), tau = 0.01"),
    Exercise("ats_psi", "ats", "training_value", check_ats_psi,
             "psi(s) = V(s+) - V(s) with V = max_a Q"),
    Exercise("ats_rule", "ats", "should_train", check_ats_rule,
             "percentile training rule: psi > percentile_q(history)"),
)  # fmt: skip
"""Every exercise, in the order of the book's chapters."""
