"""The adapter registry: every folder under `<home>/adapters/` (and any extra folders) with a manifest."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from adapters.manifest import MANIFEST_NAME, AdapterManifest, read_manifest

__all__ = ["AdapterManifest", "adapters_dir", "find_adapter", "list_adapters"]

log = logging.getLogger("yiju.adapters")


def adapters_dir(home: Path) -> Path:
    """Where trained adapters live in a yiju data directory."""
    return Path(home) / "adapters"


def _candidates(root: Path) -> Iterable[Path]:
    if (root / MANIFEST_NAME).is_file():
        yield root
        return
    if root.is_dir():
        for child in sorted(root.iterdir()):
            if (child / MANIFEST_NAME).is_file():
                yield child


def list_adapters(home: Path, extra_dirs: Iterable[Path] = ()) -> list[AdapterManifest]:
    """Manifests of the adapters in home/adapters/* and in `extra_dirs` (each an adapter or a parent of some).

    Unreadable manifests are skipped with a warning so one broken folder does not hide the rest.
    """
    out: list[AdapterManifest] = []
    seen: set[str] = set()
    for root in [adapters_dir(home), *map(Path, extra_dirs)]:
        for folder in _candidates(root):
            key = str(folder.resolve())
            if key in seen:
                continue
            seen.add(key)
            try:
                out.append(read_manifest(folder))
            except Exception as exc:  # a corrupt manifest must not break `yiju adapters list`
                log.warning("skipping %s: unreadable %s (%s)", folder, MANIFEST_NAME, exc)
    return sorted(out, key=lambda m: (m.domain, m.name, m.created_at))


def find_adapter(home: Path, name_or_path: str, extra_dirs: Iterable[Path] = ()) -> AdapterManifest:
    """An adapter by folder path or registry name (the newest if several share it); KeyError if none."""
    path = Path(name_or_path).expanduser()
    if (path / MANIFEST_NAME).is_file():
        return read_manifest(path)
    matches = [m for m in list_adapters(home, extra_dirs) if m.name == name_or_path]
    if not matches:
        raise KeyError(name_or_path)
    return max(matches, key=lambda m: m.created_at)
