"""What a load run's requests say over time: the seconds where many requests were slow at once (a stall hits every
operation together, a slow query only its own), whether password work was in flight then, the slope of a memory
series (over the whole run, or between spikes with the step each spike left), and the requests of a window of the
run (before, during and after a spike)."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bench.common import percentile


@dataclass(frozen=True)
class Request:
    op: str
    start: float  # seconds on the run's clock
    seconds: float
    failed: bool = False

    @property
    def end(self) -> float:
        return self.start + self.seconds


@dataclass(frozen=True)
class SlowSecond:
    """One second of the run: the requests that ended in it, those slower than the threshold by operation, and
    whether a password request (signUp, logIn) was running at any moment of it."""

    second: int
    ended: int
    slow: Counter[str]
    password_work: bool

    @property
    def is_stall(self) -> bool:
        """Several operations slow in the same second: something held them all, not one slow query."""
        return sum(self.slow.values()) >= 3 and len(self.slow) >= 2


def by_second(requests: Iterable[Request], *, slow_s: float, password_ops: frozenset[str]) -> list[SlowSecond]:
    done = sorted(requests, key=lambda r: r.end)
    if not done:
        return []
    last = math.floor(done[-1].end)
    ended = Counter(math.floor(r.end) for r in done)
    slow: dict[int, Counter[str]] = {}
    for r in done:
        if r.seconds > slow_s:
            slow.setdefault(math.floor(r.end), Counter())[r.op] += 1
    hashing: set[int] = set()
    for r in done:
        if r.op in password_ops:
            hashing.update(range(math.floor(r.start), math.floor(r.end) + 1))
    return [
        SlowSecond(s, ended[s], slow.get(s, Counter()), s in hashing)
        for s in range(max(0, math.floor(done[0].end)), last + 1)
    ]


def stall_evidence(seconds: list[SlowSecond]) -> tuple[int, int, float, float]:
    """(stall seconds, all seconds, share of stall seconds with password work in flight, share of all seconds with
    it). A cause that runs in a small share of the seconds yet in most stall seconds is the stall's cause."""
    stalls = [s for s in seconds if s.is_stall]
    with_work = sum(1 for s in seconds if s.password_work)
    stalls_with_work = sum(1 for s in stalls if s.password_work)
    return (
        len(stalls),
        len(seconds),
        stalls_with_work / len(stalls) if stalls else math.nan,
        with_work / len(seconds) if seconds else math.nan,
    )


def slope_per_s(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (t, value): a memory series' growth per second, judged on every sample rather
    than on the first and the last."""
    if len(points) < 2:
        return math.nan
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return math.nan
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread


@dataclass(frozen=True)
class SteadyMemory:
    """A memory series cut at its spikes: the growth per second inside the steady stretches (one slope shared by
    all of them, each stretch with its own level), and how far each spike moved the level.

    A leak grows the steady stretches, or moves the level again at every spike; a high-water mark (an allocator
    keeping what a burst of work needed, for the next burst) moves it once, at the first spike, and a second
    spike of the same size reuses it."""

    slope_per_s: float
    steps: tuple[float, ...]  # one per spike: the level after it less the level before it
    points: int


def steady_memory(
    points: list[tuple[float, float]], spikes: list[tuple[float, float]], settle_s: float
) -> SteadyMemory:
    """`points` (t, value) outside every spike and the `settle_s` after it, in stretches between the spikes: the
    least-squares slope within the stretches (the fixed-effects slope: each stretch measured from its own mean),
    and each spike's step as the difference of the stretches' levels on that slope."""
    edges = sorted(spikes)
    stretches: list[list[tuple[float, float]]] = [[] for _ in range(len(edges) + 1)]
    for t, v in points:
        if any(start <= t < end + settle_s for start, end in edges):
            continue
        stretches[sum(1 for start, _ in edges if t >= start)].append((t, v))
    means = [_means(stretch) if stretch else None for stretch in stretches]
    centred = [(t - m[0], v - m[1]) for stretch, m in zip(stretches, means, strict=True) if m for t, v in stretch]
    spread = sum(dt * dt for dt, _ in centred)
    slope = sum(dt * dv for dt, dv in centred) / spread if spread else math.nan
    levels = [m[1] - slope * m[0] if m else math.nan for m in means]
    steps = tuple(after - before for before, after in itertools.pairwise(levels))
    return SteadyMemory(slope, steps, sum(len(s) for s in stretches))


def _means(points: list[tuple[float, float]]) -> tuple[float, float]:
    return sum(t for t, _ in points) / len(points), sum(v for _, v in points) / len(points)


def window(requests: Iterable[Request], start: float, end: float) -> list[Request]:
    """The requests that started in [start, end)."""
    return [r for r in requests if start <= r.start < end]


def p99_ms(requests: Iterable[Request], ops: frozenset[str]) -> float:
    return percentile(sorted(r.seconds for r in requests if r.op in ops), 99) * 1000
