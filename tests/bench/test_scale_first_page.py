"""`make demo` from a fresh clone, timed to its first page: the command, what it inherits, the
figure, and every process of it ended whatever happened."""

import signal
import subprocess

import pytest

from bench import scale


class _FakeMachine:
    """Stands for git, `make demo` and the portal it serves: the page answers `serves_after`
    seconds of a fake clock after the command started (never when None); the command exits
    with `exits_with` after `exits_after` seconds (never when None)."""

    def __init__(self, *, serves_after=None, exits_after=None, exits_with=2,
                 clone_fails=False) -> None:
        self.serves_after, self.exits_after, self.exits_with = serves_after, exits_after, exits_with
        self.clone_fails = clone_fails
        self.now = 1000.0
        self.started_at = None
        self.runs, self.popens, self.signals, self.asked = [], [], [], []

    # time
    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    # git
    def run(self, command, **kwargs):
        self.runs.append(command)
        if command[:2] == ["git", "clone"] and self.clone_fails:
            raise subprocess.CalledProcessError(128, command, stderr="fatal: not a git repository")
        return subprocess.CompletedProcess(command, 0, "abc1234\n", "")

    # make demo
    def popen(self, command, *, cwd, env, stdout, stderr, start_new_session):
        machine = self
        stdout.write(b"Starting development server\n")
        self.started_at = self.now

        class Process:
            pid = 4242
            returncode = None

            def __init__(self):
                self.command, self.cwd, self.env = command, cwd, env
                self.own_session = start_new_session

            def poll(self):
                if machine.exits_after is not None and \
                        machine.now - machine.started_at >= machine.exits_after:
                    self.returncode = machine.exits_with
                return self.returncode

            def wait(self, timeout=None):
                self.returncode = -15 if self.returncode is None else self.returncode
                return self.returncode

        process = Process()
        self.popens.append(process)
        return process

    def killpg(self, pid, sig) -> None:
        self.signals.append((pid, sig))

    # the portal
    def answers(self, url: str) -> bool:
        self.asked.append(url)
        return self.serves_after is not None and self.now - self.started_at >= self.serves_after


@pytest.fixture
def machine(monkeypatch, tmp_path):
    fake = _FakeMachine()
    monkeypatch.setattr(scale.subprocess, "run", fake.run)
    monkeypatch.setattr(scale.subprocess, "Popen", fake.popen)
    monkeypatch.setattr(scale.os, "killpg", fake.killpg)
    monkeypatch.setattr(scale.time, "perf_counter", fake.clock)
    monkeypatch.setattr(scale.time, "sleep", fake.sleep)
    monkeypatch.setattr(scale, "_answers", fake.answers)
    monkeypatch.setattr(scale.tempfile, "tempdir", str(tmp_path))
    return fake


def _measure(**kwargs) -> dict:
    results = []
    scale.measure_demo_first_page(results, **kwargs)
    (row,) = results
    return row


def test_the_first_page_is_timed_from_the_command_in_a_fresh_clone(machine, monkeypatch, tmp_path):
    machine.serves_after = 41.2
    monkeypatch.setattr(scale, "STARTING_ENV", {
        "PATH": "/usr/bin", "HOME": "/home/someone", "PYTHONDONTWRITEBYTECODE": "1",
        "MAKEFLAGS": "-j2", "MAKELEVEL": "1", "DEMO_DOSSIERS": "5", "PORT": "9"})

    row = _measure()

    assert row["name"] == "demo_first_page_seconds"
    assert (row["value"], row["unit"], row["goal"], row["met"]) == (41.2, "s", "< 60", True)
    assert row["commit"] == "abc1234"
    assert "error" not in row
    clone = machine.runs[1]
    assert clone[:3] == ["git", "clone", "-q"] and clone[3] == str(scale.ROOT)
    (process,) = machine.popens
    assert process.command == ["make", "demo"]
    assert str(process.cwd) == clone[4]
    assert process.own_session
    # A newcomer's shell: the run's own make and bytecode settings are not passed on, and the
    # portal listens on a port of its own, which is the one asked for the page.
    env = process.env
    assert {"PATH": "/usr/bin", "HOME": "/home/someone"}.items() <= env.items()
    for gone in ("PYTHONDONTWRITEBYTECODE", "MAKEFLAGS", "MAKELEVEL", "DEMO_DOSSIERS"):
        assert gone not in env
    assert env["PORT"] != "9" and env["SIM_PORT"] != env["PORT"]
    assert set(machine.asked) == {f"http://127.0.0.1:{env['PORT']}/"}
    # Once served, the whole group is ended; the clone is gone.
    assert machine.signals == [(4242, signal.SIGTERM)]
    assert list(tmp_path.iterdir()) == []


def test_a_page_after_the_goal_is_not_met(machine):
    machine.serves_after = 75.0

    row = _measure()

    assert (row["value"], row["met"]) == (75.0, False)


def test_a_command_that_exits_before_serving_fails_with_its_output(machine):
    machine.exits_after, machine.exits_with = 12.0, 2

    row = _measure()

    assert row["met"] is False
    assert row["value"] == pytest.approx(12.0, abs=0.3)
    assert row["error"].startswith("make demo exited with code 2: ")
    assert "Starting development server" in row["error"]


def test_a_command_that_never_serves_is_given_up_and_ended(machine):
    row = _measure(wait=30)

    assert row["met"] is False
    assert row["value"] == pytest.approx(30.0, abs=0.3)
    assert row["error"].startswith("no page within 30 s")
    assert machine.signals == [(4242, signal.SIGTERM)]


def test_a_failed_clone_starts_nothing(machine, tmp_path):
    machine.clone_fails = True

    row = _measure()

    assert (row["value"], row["met"]) == (0.0, False)
    assert row["error"] == "git clone failed: fatal: not a git repository"
    assert machine.popens == []
    assert list(tmp_path.iterdir()) == []


def test_a_group_that_outlives_its_signal_is_killed(monkeypatch):
    signals = []

    class Stubborn:
        pid = 77

        def __init__(self):
            self.waits = 0

        def poll(self):
            return None

        def wait(self, timeout=None):
            self.waits += 1
            if self.waits == 1:
                raise subprocess.TimeoutExpired("make", timeout)
            return -9

    monkeypatch.setattr(scale.os, "killpg", lambda pid, sig: signals.append((pid, sig)))
    proc = Stubborn()

    scale.stop_sessions([proc], wait=1)

    assert signals == [(77, signal.SIGTERM), (77, signal.SIGKILL)]
    assert proc.waits == 2


def test_a_machine_without_make_reports_it_and_keeps_the_run_going(machine, monkeypatch, tmp_path):
    def missing(command, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", command[0])

    monkeypatch.setattr(scale.subprocess, "Popen", missing)

    row = _measure()

    assert (row["value"], row["met"]) == (0.0, False)
    assert row["error"].startswith("could not run make: ")
    assert list(tmp_path.iterdir()) == []
