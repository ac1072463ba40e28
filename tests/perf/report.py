"""Figures: printed as `BENCH <name> <value> <unit>` and kept in .bench/results.json."""

from __future__ import annotations

import json
import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS = ROOT / ".bench" / "results.json"


def percentile(samples: list[float], pct: int) -> float:
    """Linear interpolation between closest ranks (numpy's default); exact for any n >= 1."""
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(samples_s: list[float]) -> dict[str, Any]:
    """Context for a list of durations in seconds: count, min, mean, max in ms."""
    ms = [s * 1000 for s in samples_s]
    return {
        "runs": len(ms),
        "min_ms": round(min(ms), 1),
        "mean_ms": round(statistics.mean(ms), 1),
        "max_ms": round(max(ms), 1),
    }


def _memory_mb() -> int | None:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


class Report:
    def __init__(self) -> None:
        self.figures: dict[str, dict[str, Any]] = {}
        self.machine: dict[str, Any] = {
            "nproc": os.cpu_count(),
            "memory_mb": _memory_mb(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        }

    def describe_database(self, server_version: str, fsync: str) -> None:
        self.machine["postgres"] = server_version
        self.machine["postgres_fsync"] = fsync

    def add(self, name: str, value: float, unit: str, **context: Any) -> None:
        digits = 3 if unit == "s" else 1
        value = round(value, digits)
        print(f"BENCH {name} {value} {unit}", flush=True)
        self.figures[name] = {
            "value": value,
            "unit": unit,
            **context,
            "machine": self.machine,
            # Other work on the machine shows up in the figures; this says how much there was.
            "loadavg_1m": round(os.getloadavg()[0], 2),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.write()

    def write(self) -> None:
        """Merge this run's figures into the file: a `--only` run updates its own figures and
        keeps the others'."""
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        try:
            existing = json.loads(RESULTS.read_text())
        except (OSError, ValueError):
            existing = {}
        existing.update(self.figures)
        partial = RESULTS.with_suffix(".json.partial")
        partial.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
        partial.replace(RESULTS)
