"""REINFORCE (Williams 1992) for NAS (Zoph & Le 2017): a policy of independent categoricals, one per
dimension of the space (NAS-Bench-201's RL baseline, Dong & Yang 2020), trained with Adam on a batch
of samples per update, a moving-average baseline and an entropy bonus.

The reward puts the latency term in MnasNet's form (Tan et al. 2019): `soft` is
`acc * (latency_ms / budget_ms) ** latency_weight` on both sides of the budget (their alpha = beta =
-0.07); `hard` is a cut: accuracy when feasible, `infeasible_reward` otherwise (the default: under a
hard budget the soft form's reward for being faster than the budget pulls towards less accurate
cells, which is why MnasNet sets alpha = 0 for hard constraints). Pure numpy, seeded.
"""

from __future__ import annotations

import numpy as np

from hwnas.core.errors import HwnasError, finite_number, whole_number
from hwnas.core.space import Arch, SearchSpace
from hwnas.core.strategy import Strategy, Trial

PENALTIES = ("soft", "hard")


class Reinforce(Strategy):
    def __init__(self, space: SearchSpace, budget_ms: float, seed: int = 0, *,
                 learning_rate: float = 0.1, batch: int = 10, baseline_decay: float = 0.9,
                 entropy_weight: float = 0.01, penalty: str = "soft", latency_weight: float = -0.07,
                 infeasible_reward: float = 0.0):
        super().__init__(space, budget_ms, seed)
        if penalty not in PENALTIES:
            raise HwnasError(f"reinforce: unknown penalty {penalty!r}; valid: {', '.join(PENALTIES)}")
        batch = whole_number("reinforce", "batch", batch, 1)
        learning_rate, baseline_decay, entropy_weight, latency_weight, infeasible_reward = (
            finite_number("reinforce", key, value) for key, value in (
                ("learning_rate", learning_rate), ("baseline_decay", baseline_decay),
                ("entropy_weight", entropy_weight), ("latency_weight", latency_weight),
                ("infeasible_reward", infeasible_reward)))
        if not 0.0 <= baseline_decay < 1.0 or learning_rate <= 0:
            raise HwnasError(f"reinforce needs batch >= 1 (got {batch}), 0 <= baseline_decay < 1 "
                             f"(got {baseline_decay}) and learning_rate > 0 (got {learning_rate})")
        self.learning_rate, self.batch, self.baseline_decay = learning_rate, batch, baseline_decay
        self.entropy_weight, self.penalty = entropy_weight, penalty
        self.latency_weight, self.infeasible_reward = latency_weight, infeasible_reward
        sizes = np.array([len(d) for d in space.dimensions()])
        self._mask = np.arange(sizes.max())[None, :] < sizes[:, None]           # (dims, max choices)
        self.logits = np.where(self._mask, 0.0, -np.inf)
        self._adam_m = np.zeros_like(self.logits, dtype=float)
        self._adam_v = np.zeros_like(self.logits, dtype=float)
        self._steps = 0
        self.baseline: float | None = None
        self._buffer: list[tuple[Arch, float]] = []
        self._rng = np.random.default_rng(seed)

    def probabilities(self) -> np.ndarray:
        """Choice probabilities, (dims, max choices); zero where a dimension has fewer choices."""
        shifted = self.logits - self.logits.max(axis=1, keepdims=True)
        weights = np.where(self._mask, np.exp(shifted), 0.0)
        return weights / weights.sum(axis=1, keepdims=True)

    def ask(self, n: int = 1) -> list[Arch]:
        cumulative = np.cumsum(self.probabilities(), axis=1)
        draws = self._rng.random((n, len(cumulative), 1))
        choices = (draws > cumulative[None, :, :]).sum(axis=2)
        choices = np.minimum(choices, self._mask.sum(axis=1) - 1)
        return [self.space.canonical(row) for row in choices]

    def reward(self, trial: Trial) -> float:
        """MnasNet-style reward on accuracy as a fraction."""
        accuracy = trial.accuracy / 100.0
        if self.penalty == "hard":
            return accuracy if trial.feasible else self.infeasible_reward
        ratio = max(trial.latency_ms, 1e-9) / self.budget_ms
        return accuracy * ratio ** self.latency_weight

    def tell(self, trials: list[Trial]) -> None:
        """Screened trials (no accuracy) are left out: the screen rejection-samples the policy, and with a
        baseline near the mean reward the gradient over the evaluated ones is that of the screened policy."""
        self._buffer.extend((t.arch, self.reward(t)) for t in trials if t.evaluated)
        while len(self._buffer) >= self.batch:
            batch, self._buffer = self._buffer[:self.batch], self._buffer[self.batch:]
            self._update(np.asarray([a for a, _ in batch], dtype=np.int64), np.array([r for _, r in batch]))

    def revise(self, trials: list[Trial]) -> None:
        """Rewards still waiting in the batch buffer are recomputed from corrected latencies; past policy
        steps stay taken (a policy gradient cannot be undone)."""
        corrected = {t.arch: t for t in trials}
        self._buffer = [(a, self.reward(corrected[a])) if a in corrected else (a, r) for a, r in self._buffer]

    def _update(self, archs: np.ndarray, rewards: np.ndarray) -> None:
        """One policy-gradient ascent step (Adam) on mean advantage * grad log p + entropy bonus."""
        if self.baseline is None:
            self.baseline = float(rewards.mean())
        advantage = rewards - self.baseline
        self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * float(rewards.mean())
        probs = self.probabilities()
        onehot = np.zeros((len(archs),) + probs.shape)
        onehot[np.arange(len(archs))[:, None], np.arange(probs.shape[0]), archs] = 1.0
        grad = (advantage[:, None, None] * (onehot - probs)).mean(axis=0)
        log_p = np.log(np.where(self._mask, probs, 1.0))
        entropy = -(probs * log_p).sum(axis=1, keepdims=True)
        grad += self.entropy_weight * np.where(self._mask, -probs * (log_p + entropy), 0.0)
        self._steps += 1
        self._adam_m = 0.9 * self._adam_m + 0.1 * grad
        self._adam_v = 0.999 * self._adam_v + 0.001 * grad ** 2
        m_hat = self._adam_m / (1 - 0.9 ** self._steps)
        v_hat = self._adam_v / (1 - 0.999 ** self._steps)
        step = self.learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)
        self.logits = np.where(self._mask, self.logits + step, -np.inf)
