"""What a simulated system should get wrong, set at run time."""

import random
import threading
from dataclasses import dataclass

ERROR = "error"  # answer 5xx without processing
TIMEOUT = "timeout"  # process, then stay silent past the client's timeout
DROP = "drop"  # process, then close the connection without answering
KINDS = (ERROR, TIMEOUT, DROP)


@dataclass
class FaultSettings:
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    drop_rate: float = 0.0
    error_status: int = 503
    timeout_seconds: float = 1.0
    down: bool = False


class FaultPlan:
    """Faults of one system: forced ones first (`fail_next`), then random shares."""

    def __init__(self, seed: int = 0) -> None:
        self.settings = FaultSettings()
        self._forced: list[str] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def configure(self, *, seed: int | None = None, **changes) -> None:
        with self._lock:
            for name, value in changes.items():
                if not hasattr(self.settings, name):
                    raise ValueError(f"unknown fault setting {name!r}")
                setattr(self.settings, name, type(getattr(self.settings, name))(value))
            rates = (self.settings.error_rate, self.settings.timeout_rate, self.settings.drop_rate)
            if any(r < 0 for r in rates) or sum(rates) > 1:
                raise ValueError("fault rates must be >= 0 and sum to at most 1")
            if not 0 < self.settings.timeout_seconds <= 60:
                raise ValueError("timeout_seconds must be in (0, 60]")
            if not 500 <= self.settings.error_status <= 599:
                raise ValueError("error_status must be a 5xx")
            if seed is not None:
                self._random.seed(seed)

    def fail_next(self, kind: str, count: int = 1) -> None:
        if kind not in KINDS:
            raise ValueError(f"fault kind must be one of {KINDS}")
        with self._lock:
            self._forced.extend([kind] * count)

    def reset(self) -> None:
        with self._lock:
            self.settings = FaultSettings()
            self._forced.clear()

    def draw(self) -> str | None:
        """The fault for the next request, or None."""
        with self._lock:
            if self.settings.down:
                return ERROR
            if self._forced:
                return self._forced.pop(0)
            roll = self._random.random()
            s = self.settings
            if roll < s.error_rate:
                return ERROR
            if roll < s.error_rate + s.timeout_rate:
                return TIMEOUT
            if roll < s.error_rate + s.timeout_rate + s.drop_rate:
                return DROP
            return None
