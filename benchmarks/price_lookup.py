"""Benchmark: the price of a cell from the bundled table, and the whole cost line a magic prints (goal: <= 5 ms).

Measures, in a fresh process:
  * the first lookup, which reads and indexes prices.json (once per kernel);
  * a warm lookup of a cell in the table and of a cell that is not (both one dict access);
  * the full line `%%sm_train` prints before creating a job (lookup + arithmetic + text).

    python benchmarks/price_lookup.py [--repeat 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.4f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()

    start = time.perf_counter()
    from sm_magics.workflow import costs, pricing  # noqa: E402
    from sm_magics.workflow.session import Backend  # noqa: E402
    imported = time.perf_counter() - start

    start = time.perf_counter()
    book = pricing.PriceBook(None)  # what the local engine (or AWS when the Price List API is refused) uses
    first = book.hourly("ml.m5.large", "us-east-1", "Training")
    cold = time.perf_counter() - start

    def timed(fn) -> list[float]:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return times

    held = timed(lambda: book.hourly("ml.m5.large", "us-east-1", "Training"))
    absent = timed(lambda: book.hourly("ml.c5.xlarge", "ap-northeast-1", "Hosting"))
    backend = Backend("local", "us-east-1", "benchmark")
    backend._prices = book
    line = timed(lambda: costs.training_line(backend, "ml.m5.large", 2, 3600))

    print(f"entries in the bundled table: {len(pricing.bundled()['prices'])}; first figure: {first}")
    print(f"import of pricing + costs (botocore):    {_ms(imported)}")
    print(f"first lookup (reads, indexes the table): {_ms(cold)}")
    for label, times in (("lookup, cell in the table", held), ("lookup, cell not in the table", absent),
                         ("whole %%sm_train cost line", line)):
        print(f"{label:<40} median {_ms(statistics.median(times))}, max {_ms(max(times))} over {args.repeat}")
    print("goal: <= 5 ms per lookup for a cell")


if __name__ == "__main__":
    main()
