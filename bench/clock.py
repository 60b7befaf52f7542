"""Benchmark of the SLA clock: due times per second and working time over long spans.

Run: .venv/bin/python bench/clock.py [--json FILE]
Pure Python, no database: the default calendar (two sessions, Vietnamese holidays). Each
figure is printed beside a baseline measured in the same run (a naive `start + timedelta`),
so the figures compare across machines.
"""

import argparse
import json
import random
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dossiers import sla  # noqa: E402

GOAL_DUE_PER_S = 100_000
GOAL_SPAN_US = 20.0


def _rate(fn, items, rounds: int = 5) -> float:
    """Best calls per second over a few rounds (the least disturbed by other processes)."""
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for item in items:
            fn(*item)
        best = max(best, len(items) / (time.perf_counter() - start))
    return best


def _per_call_us(fn, args, count: int = 2000, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            fn(*args)
        best = min(best, (time.perf_counter() - start) / count * 1e6)
    return best


def measure() -> list[dict]:
    rnd = random.Random(766)
    calendar = sla.WorkingCalendar()
    origin = datetime(2026, 1, 1, tzinfo=sla.VN_TZ)
    days = ["0.5", "1", "3", "5", "7", "10", "15", "20", "30", "45"]
    items = [
        (origin + timedelta(minutes=rnd.randint(0, 3 * 525_600)), Decimal(rnd.choice(days)),
         calendar)
        for _ in range(20_000)
    ]
    for item in items:  # the calendar's years are laid out once, as in a running worker
        sla.due_at(*item)
    due = _rate(sla.due_at, items)
    deltas = [(start, timedelta(days=float(d)), c) for start, d, c in items]
    naive = _rate(lambda start, delta, _c: start + delta, deltas)
    results = [{
        "name": "sla_due_at_per_second", "value": round(due), "unit": "calls/s",
        "baseline": round(naive), "baseline_name": "naive start + timedelta",
        "goal": f">= {GOAL_DUE_PER_S}", "met": due >= GOAL_DUE_PER_S,
    }]
    start = datetime(2026, 1, 5, 9, 10, tzinfo=sla.VN_TZ)
    for span in (30, 365, 1825):
        end = start + timedelta(days=span, hours=3)
        calendar.working_minutes_between(start, end)
        took = _per_call_us(calendar.working_minutes_between, (start, end))
        naive_us = _per_call_us(lambda a, b: (b - a).total_seconds() / 60, (start, end))
        results.append({
            "name": f"sla_working_minutes_between_{span}_days", "value": round(took, 2),
            "unit": "µs", "baseline": round(naive_us, 2), "baseline_name": "naive b - a",
            "goal": f"< {GOAL_SPAN_US}", "met": took < GOAL_SPAN_US,
        })
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    results = measure()
    for row in results:
        mark = "met" if row["met"] else "NOT MET"
        print(f"{row['name']:<42} {row['value']:>12,} {row['unit']:<8} "
              f"baseline {row['baseline']:>12,} ({row['baseline_name']})  goal {row['goal']}: {mark}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
