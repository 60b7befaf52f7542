"""What a simulated system should get wrong, set at run time."""

import random
import threading
from dataclasses import dataclass, replace

ERROR = "error"  # answer 5xx (or 408, 429) without processing
TIMEOUT = "timeout"  # process, then stay silent past the client's timeout
DROP = "drop"  # process, then close the connection without answering
DRIP = "drip"  # process, then send the answer one byte every `drip_seconds`
GARBLED = "garbled"  # process, then answer 200 with a body that is not JSON
KINDS = (ERROR, TIMEOUT, DROP, DRIP, GARBLED)
RETRYABLE_STATUSES = (408, 429)


@dataclass
class FaultSettings:
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    drop_rate: float = 0.0
    error_status: int = 503
    timeout_seconds: float = 1.0
    drip_seconds: float = 0.1
    down: bool = False


class FaultPlan:
    """Faults of one system: forced ones first (`fail_next`), then random shares."""

    def __init__(self, seed: int = 0) -> None:
        self.settings = FaultSettings()
        self._forced: list[str] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def configure(self, *, seed: int | None = None, **changes) -> None:
        """Change some settings; nothing changes when one of them is refused."""
        with self._lock:
            new = replace(self.settings)
            for name, value in changes.items():
                if not hasattr(new, name):
                    raise ValueError(f"unknown fault setting {name!r}")
                setattr(new, name, type(getattr(new, name))(value))
            rates = (new.error_rate, new.timeout_rate, new.drop_rate)
            if any(r < 0 for r in rates) or sum(rates) > 1:
                raise ValueError("fault rates must be >= 0 and sum to at most 1")
            if not 0 < new.timeout_seconds <= 60:
                raise ValueError("timeout_seconds must be in (0, 60]")
            if not 0 < new.drip_seconds <= 5:
                raise ValueError("drip_seconds must be in (0, 5]")
            if not (500 <= new.error_status <= 599 or new.error_status in RETRYABLE_STATUSES):
                raise ValueError("error_status must be a 5xx, 408 or 429")
            self.settings = new
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
