"""Serving the retrieval snapshot while the knowledge base changes: questions never wait for an index build.

After an import, a removal or a domain change the old snapshot keeps answering while a new one is built
(for the importer, or in one background thread; while a snapshot serves, the build itself runs in a child
process, knowledge/worker.py, so it does not hold this interpreter), then the new one is swapped in with a
single assignment. Ids removed since the serving snapshot was built are remembered ("tombstones") and filtered out
of results at once, so a removed law is never returned after `remove()` returned. What a snapshot holds is
knowledge.retrieval's business; when it is built is this module's.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from knowledge.retrieval import Snapshot
from knowledge.worker import ChildWork

# While an import or an index build runs in a thread of a serving process, questions in other threads wait for
# the GIL at every switch: a shorter switch interval (default 5 ms) lets them through sooner.
BUSY_SWITCH_INTERVAL_S = 0.0005
_busy_lock = threading.Lock()
_busy_depth = 0
_saved_interval = sys.getswitchinterval()


@contextmanager
def sharing_the_interpreter() -> Iterator[None]:
    """Shorten the interpreter's thread switch interval while long knowledge work runs (nested uses count)."""
    global _busy_depth, _saved_interval
    with _busy_lock:
        if _busy_depth == 0:
            _saved_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(_saved_interval, BUSY_SWITCH_INTERVAL_S))
        _busy_depth += 1
    try:
        yield
    finally:
        with _busy_lock:
            _busy_depth -= 1
            if _busy_depth == 0:
                sys.setswitchinterval(_saved_interval)


class SnapshotHolder:
    """The snapshot in service, its rebuilds and the tombstones of removed ids. Thread-safe."""

    def __init__(
        self,
        build: Callable[[ChildWork | None], Snapshot],
        version: Callable[[], str],
        write_lock: threading.RLock,
    ):
        # reads the manifest; called with write_lock held so no write interleaves. Given a ChildWork, the
        # build runs in that child process (else the builder decides: knowledge.kb.KnowledgeBase.child_work)
        self._build = build
        self._version = version
        self._write_lock = write_lock
        self._snapshot: Snapshot | None = None
        self._first_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._tombstones: dict[str, int] = {}  # removed id -> change number when it was removed
        self._changes = 0
        self.builds = 0

    @property
    def serving(self) -> Snapshot | None:
        """The snapshot answering questions now (None before the first build)."""
        return self._snapshot

    def current(self) -> Snapshot:
        """The snapshot to search. Builds synchronously only when there is none yet; when the content moved on,
        returns the one in service and has a newer one built in the background."""
        snap = self._snapshot
        if snap is not None:
            if snap.kb_version != self._version():
                self.schedule()
            return snap
        with self._first_lock:
            if self._snapshot is None:  # nothing serves yet: the asker waits anyway, build it here
                self._swap(*self._build_consistent(ChildWork(isolated=False)))
            return self._snapshot  # type: ignore[return-value]

    def _build_consistent(self, child: ChildWork | None = None) -> tuple[Snapshot, int]:
        with (
            self._write_lock,
            sharing_the_interpreter(),
        ):  # no import/removal commits while the manifest is read
            with self._state_lock:
                seen = self._changes
            return self._build(child), seen

    def _swap(self, snap: Snapshot, seen: int) -> None:
        with self._state_lock:
            self._snapshot = snap
            self.builds += 1
            # ids removed before this build started are absent from it: no need to filter them any more
            self._tombstones = {i: n for i, n in self._tombstones.items() if n > seen}

    def rebuild_now(self, child: ChildWork | None = None) -> Snapshot:
        """Build a snapshot of the current content and put it in service (the old one serves meanwhile);
        this thread waits for it. Used at the end of an import so the first question does not pay for the
        build; `child` is the import's worker process, when it has one."""
        snap, seen = self._build_consistent(child)
        self._swap(snap, seen)
        return snap

    def schedule(self) -> None:
        """Have the snapshot rebuilt in one background thread (no-op while one is running); it loops until the
        snapshot matches the content."""
        with self._state_lock:
            if self._worker is not None and self._worker.is_alive():
                return
            self._worker = threading.Thread(target=self._rebuild_loop, name="yiju-kb-index", daemon=True)
            self._worker.start()

    def _rebuild_loop(self) -> None:
        for _ in range(10):  # content that keeps changing is caught up with by the next schedule()
            snap = self.rebuild_now()
            if snap.kb_version == self._version():
                return

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait for a background rebuild to finish (tests and benchmarks); True when none is running."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True

    def forget(self, ids: Iterable[str]) -> None:
        """Ids just removed from the manifest: never returned again, even by the snapshot still in service."""
        with self._state_lock:
            self._changes += 1
            for i in ids:
                self._tombstones[i] = self._changes

    def revive(self, ids: Iterable[str]) -> None:
        """Ids imported again: stop filtering them."""
        with self._state_lock:
            self._changes += 1
            for i in ids:
                self._tombstones.pop(i, None)

    def removed(self) -> frozenset[str]:
        """Ids to filter out of results now."""
        with self._state_lock:
            return frozenset(self._tombstones)
