"""Cost of finding portrait n's face, at n = 1, 10^3, 10^6 and 10^9: it must not grow.

    python benchmarks/portrait_cost.py [--dim 100] [--min-distance 4.0]

Each figure is the median of fresh lookups (nothing cached), in microseconds, with its ratio to
the figure at n = 1000 measured in the same run (at n = 1 there is no window of earlier
portraits yet, so it does less).
"""

from __future__ import annotations

import argparse
import statistics
import time

from engine.show.portraits import PortraitSequence


def cost(n: int, dim: int, min_distance: float, repeats: int = 30) -> float:
    times = []
    for r in range(repeats):
        sequence = PortraitSequence(r, dim, min_distance)  # a new show each time: no cache helps
        began = time.perf_counter()
        sequence.seed(n)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--min-distance", type=float, default=4.0)
    args = parser.parse_args()
    figures = {n: cost(n, args.dim, args.min_distance) for n in (1, 10**3, 10**6, 10**9)}
    for n, micros in figures.items():
        print(f"portrait n = {n:>10}: {micros:8.0f} us  ({micros / figures[10**3]:.2f}x n = 1000)")


if __name__ == "__main__":
    main()
