"""The core: machinery every chapter uses and that knows no paper.

* :mod:`~edgelearn.core.store` — atomic writes, the one staleness rule (code fingerprints of the
  modules a result depends on), a disk cache, checkpoints and resumable row logs;
* :mod:`~edgelearn.core.results` — tidy result tables with provenance (:class:`Recorder`);
* :mod:`~edgelearn.core.pool` — independent runs over processes or a Ray cluster (:class:`Pool`);
* :mod:`~edgelearn.core.fit` — one supervised training loop on tensors, and evaluation;
* :mod:`~edgelearn.core.rl` — replay memories, (Double) DQN updates, schedules, evaluation;
* :mod:`~edgelearn.core.devices`, :mod:`~edgelearn.core.seeding`, :mod:`~edgelearn.core.scales`;
* :mod:`~edgelearn.core.data` (MNIST, Fashion-MNIST as tensors), :mod:`~edgelearn.core.costs`
  (parameters, FLOPs), :mod:`~edgelearn.core.stats`, :mod:`~edgelearn.core.plotting`,
  :mod:`~edgelearn.core.scorecard`.

No module here imports a paper's package.
"""
