"""The corpus-trained static embedder of a shared manifest: published into the database, fetched by replicas.

Vectors in the shared Chroma server live in a collection named after the embedder that made them
(`static-<hash>`). When one replica trains a new embedder during an import, every other replica must
embed questions with the very same weights, so the trained files are stored in the manifest's database
(table `embedder_files`, by embedder name) and the meta key `embedder_name` names the one in use; a
replica whose local copy (<home>/embedder) has another name fetches the files (a temporary folder, then
one rename) and loads them. A SQLite manifest keeps the embedder beside it on disk: nothing to share.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from knowledge.manifest import Manifest

EMBEDDER_META = "embedder_name"
INFO_FILE = "yiju_embedder.json"


def local_name(embedder_dir: Path) -> str:
    """The name of the embedder stored in `embedder_dir` ('' when there is none)."""
    try:
        info = json.loads((embedder_dir / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    digest = str(info.get("weights_hash", ""))
    return f"static-{digest[:10]}" if digest else ""


def publish(manifest: Manifest, embedder_dir: Path, name: str) -> None:
    """Store the files of the embedder `name` (in `embedder_dir`) as the one every replica uses."""
    if not manifest.shared:
        return
    files = sorted(p for p in embedder_dir.rglob("*") if p.is_file())
    with manifest.transaction() as tx:
        tx.lock("kb:embedder")
        tx.execute("DELETE FROM embedder_files WHERE name<>?", (name,))
        tx.execute("DELETE FROM embedder_files WHERE name=?", (name,))
        tx.executemany(
            "INSERT INTO embedder_files(name, path, data) VALUES (?,?,?)",
            [(name, p.relative_to(embedder_dir).as_posix(), p.read_bytes()) for p in files],
        )
        manifest.set_meta(EMBEDDER_META, name, tx)


def shared_name(manifest: Manifest) -> str:
    """The name of the embedder the shared manifest uses ('' for SQLite or before the first training)."""
    return manifest.get_meta(EMBEDDER_META) if manifest.shared else ""


def fetch(manifest: Manifest, embedder_dir: Path, name: str) -> bool:
    """Replace `embedder_dir` with the stored files of `name`; False when the database has none."""
    rows = manifest.query("SELECT path, data FROM embedder_files WHERE name=? ORDER BY path", (name,))
    if not rows:
        return False
    tmp = embedder_dir.with_name(f"{embedder_dir.name}.fetch-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for row in rows:
        relative = Path(row["path"])
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"embedder_files: unsafe path {row['path']!r} for {name}")
        target = tmp / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(bytes(row["data"]))
    old = embedder_dir.with_name(f"{embedder_dir.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    if embedder_dir.exists():
        embedder_dir.rename(old)
    tmp.rename(embedder_dir)
    shutil.rmtree(old, ignore_errors=True)
    return True
