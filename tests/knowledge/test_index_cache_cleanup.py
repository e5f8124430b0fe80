"""Older kb_versions' index caches are removed without touching files another build is writing."""

from __future__ import annotations

from pathlib import Path

from knowledge.retrieval import drop_other_versions


def test_other_versions_go_and_files_being_written_stay(tmp_path: Path) -> None:
    folder = tmp_path / "index"
    folder.mkdir()
    old = [folder / "bm25-aaa.npz", folder / "bigram-aaa.vocab.json", folder / "vectors-aaa-static-1.npy"]
    mine = [folder / "bm25-bbb.npz", folder / "heading-bbb.vocab.json"]
    writing = folder / ".bm25-ccc.npz.x1y2.tmp"  # a concurrent build's atomic write in progress
    for f in [*old, *mine, writing]:
        f.write_bytes(b"x")
    drop_other_versions(folder, "bbb")
    assert not any(f.exists() for f in old)
    assert all(f.exists() for f in mine) and writing.exists()
    drop_other_versions(tmp_path / "absent", "bbb")  # no folder yet: nothing to do
