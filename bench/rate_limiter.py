"""Rate limiter benchmark: yiju's bounded LRU/TTL limiter against the `limits` library's in-memory
storage and the first release's unbounded limiter, on a flood of distinct clients (issue 14 item 2).

Run: PYTHONPATH=. .venv/bin/python bench/rate_limiter.py [--clients 100000] [--window 2]
Prints, per implementation: checks per second (ratio against the first release's limiter, same run),
client entries held right after the flood and after the window has passed plus one more check, and CPU
seconds spent (all threads, so the library's background expiry timer counts too).
"""

from __future__ import annotations

import argparse
import gc
import threading
import time
from collections import deque
from collections.abc import Callable

from assistant.api.limits import RateLimiter


class UnboundedLimiter:
    """The first release's limiter, as it was: a deque per client, kept while it has hits (the baseline)."""

    def __init__(self, per_minute: int, window_s: float) -> None:
        self.per_minute, self.window_s = per_minute, window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> float | None:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            while hits and now - hits[0] >= self.window_s:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return self.window_s - (now - hits[0])
            hits.append(now)
            # Its only clean-up: past 10,000 clients, scan them all for empty ones (rarely any).
            if len(self._hits) > 10_000:
                for key in [k for k, v in self._hits.items() if not v]:
                    del self._hits[key]
            return None


class LimitsLibrary:
    """The `limits` library's in-memory storage with one of its strategies."""

    def __init__(self, per_minute: int, window_s: float, strategy: str) -> None:
        from limits import RateLimitItemPerSecond
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

        kind = MovingWindowRateLimiter if strategy == "moving" else SlidingWindowCounterRateLimiter
        self._item = RateLimitItemPerSecond(per_minute, max(1, round(window_s)))
        self._limiter = kind(MemoryStorage())

    def check(self, client: str) -> float | None:
        return None if self._limiter.hit(self._item, client) else 1.0


def remembered(limiter: object) -> int:
    """How many client entries an implementation still holds."""
    if isinstance(limiter, LimitsLibrary):
        storage = limiter._limiter.storage
        return len(storage.events) + len(storage.storage)  # type: ignore[attr-defined]
    return len(limiter._hits)  # type: ignore[attr-defined]


def measure(name: str, make: Callable[[], object], clients: int, window_s: float) -> dict[str, object]:
    """Check `clients` distinct ids once each; then wait out the window and check one more."""
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    limiter = make()
    for i in range(clients):
        limiter.check(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")  # type: ignore[attr-defined]
    wall = time.perf_counter() - wall0
    after_flood = remembered(limiter)
    time.sleep(window_s + 1.5)
    # One more client after the window: implementations that clean up on use get their chance.
    limiter.check("192.0.2.1")  # type: ignore[attr-defined]
    time.sleep(0.5)
    return {
        "name": name,
        "checks_per_s": clients / wall,
        "after_flood": after_flood,
        "after_window": remembered(limiter),
        "cpu_s": time.process_time() - cpu0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--window", type=float, default=2.0, help="window seconds (short, so expiry shows)")
    args = parser.parse_args()
    candidates: list[tuple[str, Callable[[], object]]] = [
        ("first release (unbounded)", lambda: UnboundedLimiter(30, args.window)),
        ("yiju RateLimiter (LRU/TTL)", lambda: RateLimiter(30, window_s=args.window)),
        ("limits MovingWindow + MemoryStorage", lambda: LimitsLibrary(30, args.window, "moving")),
        ("limits SlidingWindowCounter + Memory", lambda: LimitsLibrary(30, args.window, "sliding")),
    ]
    runs = [measure(name, make, args.clients, args.window) for name, make in candidates]
    base = runs[0]
    print(f"{args.clients:,} distinct clients, one check each, window {args.window} s")
    print(f"{'implementation':40} {'checks/s':>10} {'x':>6} {'held':>8} {'held later':>10} {'CPU s':>7}")
    for r in runs:
        print(
            f"{r['name']:40} {r['checks_per_s']:10,.0f} {r['checks_per_s'] / base['checks_per_s']:6.2f} "
            f"{r['after_flood']:8,} {r['after_window']:10,} {r['cpu_s']:7.2f}"
        )


if __name__ == "__main__":
    main()
