"""Plate reading accuracy by plate width, over plates rendered on the shared footage (tests/plates.py says how).

make bench-plates BENCH_ARGS="--plates 180"   # exits 1 when plates 100 px and wider read exactly under 90 %
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.adapters.plates import PlateOcr  # noqa: E402
from tests.plates import samples, score  # noqa: E402

READABLE_PX = 100
TARGET_EXACT = 0.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plates", type=int, default=180, help="plates rendered, spread evenly over the widths")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    reader = PlateOcr()
    made = samples(args.plates, seed=args.seed)
    started = time.perf_counter()
    scores = score(reader, made)
    elapsed = time.perf_counter() - started
    print("width_px plates exact_match character_accuracy stored stored_wrong")
    for s in scores.values():
        print(
            f"{s.width:8d} {s.plates:6d} {s.exact / s.plates:11.3f} {s.characters / s.total_characters:18.3f}"
            f" {s.kept / s.plates:6.3f} {s.kept_wrong / s.plates:12.3f}"
        )
    readable = [s for s in scores.values() if s.width >= READABLE_PX]
    exact = sum(s.exact for s in readable) / max(1, sum(s.plates for s in readable))
    print(f"readable (>= {READABLE_PX} px): exact {exact:.3f} (target {TARGET_EXACT})")
    print(f"{elapsed / len(made) * 1000:.0f} ms per vehicle crop on one thread (detector + recogniser)")
    sys.exit(0 if exact >= TARGET_EXACT else 1)


if __name__ == "__main__":
    main()
