"""The demo seeding's rate: the dossiers a larger seed adds over the time it adds."""

import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from bench import scale


class _FakeRuns:
    """Stands for the migrate and seed_demo processes: a seed of n dossiers "takes"
    `fixed + n * each` seconds of a fake clock; every call's command and env are kept."""

    def __init__(self, *, fixed: float, each: float, failing: int | None = None) -> None:
        self.fixed, self.each, self.failing = fixed, each, failing
        self.slowed: list[float] = []  # seconds another load adds to each run, in order
        self.now = 0.0
        self.calls = []

    def clock(self) -> float:
        return self.now

    def run(self, command, *, env, **kwargs):
        self.calls.append((command, env))
        if command[2] == "migrate":
            Path(env["DATABASE_URL"].removeprefix("sqlite:///")).write_bytes(b"")
            return subprocess.CompletedProcess(command, 0, "", "")
        dossiers = int(command[-1])
        extra = self.slowed.pop(0) if self.slowed else 0.0
        self.now += self.fixed + dossiers * self.each + extra
        code = 1 if dossiers == self.failing else 0
        return subprocess.CompletedProcess(command, code, "", "boom" if code else "")


def _measure(monkeypatch, runs: _FakeRuns, count: int = 20) -> dict:
    monkeypatch.setattr(scale.subprocess, "run", runs.run)
    monkeypatch.setattr(scale.time, "perf_counter", runs.clock)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    results = []
    scale.measure_demo_seeding(results, count)
    (row,) = results
    return row


def test_the_demo_rate_is_the_added_dossiers_over_the_added_time(monkeypatch):
    runs = _FakeRuns(fixed=4.0, each=0.05)

    row = _measure(monkeypatch, runs)

    seeded = [int(command[-1]) for command, _env in runs.calls if command[2] == "seed_demo"]
    assert seeded == [20, 60] * 3
    assert row["repeats"] == 3
    # 40 more dossiers in 2 more seconds: the start-up's 4 s are charged to neither run.
    assert row["value"] == 20.0
    assert row["met"] is True
    assert (row["dossiers"], row["seconds"]) == (60, 7.0)
    assert (row["baseline_dossiers"], row["baseline_seconds"]) == (20, 5.0)
    assert row["overall_per_second"] == round(60 / 7.0, 2)
    assert row["note"].startswith("20 then 60 dossiers")
    # Like a fresh machine, the seeding processes write their bytecode.
    assert all("PYTHONDONTWRITEBYTECODE" not in env for _command, env in runs.calls)


def test_each_size_counts_its_quickest_run(monkeypatch):
    runs = _FakeRuns(fixed=4.0, each=0.05)
    runs.slowed = [0.0, 3.0, 2.5, 0.0, 0.0, 1.0]  # the machine was busy during three runs

    row = _measure(monkeypatch, runs)

    assert (row["baseline_seconds"], row["seconds"]) == (5.0, 7.0)
    assert row["value"] == 20.0
    assert row["runs_seconds"] == {20: [5.0, 7.5, 5.0], 60: [10.0, 7.0, 8.0]}


def test_a_slow_or_failed_demo_seed_does_not_meet_the_goal(monkeypatch):
    slow = _measure(monkeypatch, _FakeRuns(fixed=4.0, each=0.15))
    failed = _measure(monkeypatch, _FakeRuns(fixed=4.0, each=0.01, failing=60))

    assert slow["value"] == round(40 / 6.0, 2)
    assert slow["met"] is False
    assert failed["met"] is False
    assert failed["error"] == "boom"


def _logged(path: Path, value: int) -> sqlite3.Connection:
    """A database in write-ahead logging whose row is still in its -wal file only."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE t (x)")
    db.execute("INSERT INTO t VALUES (?)", (value,))
    db.commit()
    return db


def test_a_database_in_wal_is_copied_whole_and_without_an_old_copy_s_log(tmp_path):
    source, target = tmp_path / "migrated.sqlite3", tmp_path / "demo.sqlite3"
    with closing(_logged(source, 1)):  # still open: the row is in migrated.sqlite3-wal
        # An earlier seed's log left beside the target.
        with closing(_logged(target, 99)):
            shutil.copyfile(f"{target}-wal", tmp_path / "old-wal")
        shutil.copyfile(tmp_path / "old-wal", f"{target}-wal")

        scale.sqlite_copy(source, target)

    with closing(sqlite3.connect(target)) as copy:
        assert copy.execute("SELECT x FROM t").fetchall() == [(1,)]
