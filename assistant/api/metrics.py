"""Prometheus metrics for `yiju serve`, written by hand in the text exposition format (no extra dependency)."""

from __future__ import annotations

import threading
from collections import defaultdict

LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    inner = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34)).replace(chr(10), " ")}"'
        for k, v in pairs
    )
    return "{" + inner + "}"


class Metrics:
    """Thread-safe counters and one latency histogram; `render()` gives the /metrics text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple, int] = defaultdict(int)
        self.answers: dict[tuple, int] = defaultdict(int)
        self.refusals: dict[tuple, int] = defaultdict(int)
        self.flags: dict[tuple, int] = defaultdict(int)
        self.rate_limited: dict[tuple, int] = defaultdict(int)
        self.auth_failures: dict[tuple, int] = defaultdict(int)
        self._hist_counts: dict[tuple, list[int]] = {}
        self._hist_sum: dict[tuple, float] = defaultdict(float)
        self.in_flight = 0

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished HTTP request and its latency."""
        key = (("method", method), ("route", route), ("status", str(status)))
        hkey = (("route", route),)
        with self._lock:
            self.requests[key] += 1
            counts = self._hist_counts.setdefault(hkey, [0] * (len(LATENCY_BUCKETS) + 1))
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self._hist_sum[hkey] += seconds

    def observe_answer(
        self, domain: str, status: str, flags: list[str] | None = None, channel: str = "api"
    ) -> None:
        """Count one answered turn by outcome; refusals and review flags get their own counters."""
        with self._lock:
            self.answers[(("channel", channel), ("domain", domain), ("status", status))] += 1
            if status == "refused":
                self.refusals[(("domain", domain),)] += 1
            for rule in flags or []:
                self.flags[(("domain", domain), ("rule", rule))] += 1

    def count(self, counter: str, **labels: str) -> None:
        """Increment `rate_limited` or `auth_failures` with the given labels."""
        with self._lock:
            getattr(self, counter)[tuple(sorted(labels.items()))] += 1

    def render(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        out: list[str] = []
        with self._lock:
            self._counter(out, "yiju_http_requests_total", "HTTP requests by route and status", self.requests)
            out.append("# HELP yiju_http_request_duration_seconds HTTP request latency")
            out.append("# TYPE yiju_http_request_duration_seconds histogram")
            for key, counts in sorted(self._hist_counts.items()):
                for bound, n in zip(LATENCY_BUCKETS, counts, strict=False):
                    out.append(
                        f"yiju_http_request_duration_seconds_bucket{_labels(key + (('le', str(bound)),))} {n}"
                    )
                out.append(
                    f"yiju_http_request_duration_seconds_bucket{_labels(key + (('le', '+Inf'),))} {counts[-1]}"
                )
                out.append(f"yiju_http_request_duration_seconds_sum{_labels(key)} {self._hist_sum[key]:.6f}")
                out.append(f"yiju_http_request_duration_seconds_count{_labels(key)} {counts[-1]}")
            self._counter(out, "yiju_answers_total", "Answered turns by outcome", self.answers)
            self._counter(out, "yiju_refusals_total", "Questions refused by the safety policy", self.refusals)
            self._counter(out, "yiju_flags_total", "Answers held for review, by rule", self.flags)
            self._counter(
                out, "yiju_rate_limited_total", "Requests refused by the rate limit", self.rate_limited
            )
            self._counter(
                out,
                "yiju_auth_failures_total",
                "Requests refused for a missing/wrong key or role",
                self.auth_failures,
            )
            out.append("# HELP yiju_http_requests_in_flight HTTP requests being served")
            out.append("# TYPE yiju_http_requests_in_flight gauge")
            out.append(f"yiju_http_requests_in_flight {self.in_flight}")
        return "\n".join(out) + "\n"

    @staticmethod
    def _counter(out: list[str], name: str, help_text: str, values: dict[tuple, int]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} counter")
        if not values:
            out.append(f"{name} 0")
        for key, n in sorted(values.items()):
            out.append(f"{name}{_labels(key)} {n}")
