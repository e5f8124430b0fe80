"""Random and adversarial input to the file loaders: only the documented error types, never a crash.

Knowledge loaders (statute md/txt, JSONL, CSV) may raise only `knowledge.errors.LoadError` (a
KnowledgeError naming the file); training-data loaders (JSONL, chat JSONL, CSV, dialogue) only
`adapters.errors.DataError`. A KB import of bad files leaves the store exactly as it was.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.data import load_file as load_training_file
from adapters.errors import DataError
from knowledge.errors import KnowledgeError, LoadError
from knowledge.sources import load_file as load_kb_file

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Text that looks like statutes some of the time: headings, article markers, numerals, noise.
_FRAGMENTS = st.sampled_from(
    [
        "# 中华人民共和国测试法",
        "# ",
        "## 第一章 总则",
        "### 第一节",
        "<!-- INFO END -->",
        "第一条 ",
        "第十条之一 ",
        "第〇条",
        "第九九九九九九九九九九条 ",
        "第1条",
        "第０１条",
        "第一百零二条　",
        "第条",
        "第一章",
        "2020年1月1日",
        "（一）",
        "劳动者可以解除劳动合同。",
        "\u200b",
        "\ufeff",
        "\x00",
        "\r",
        "",
        "《》",
        "```",
    ]
)
statute_text = st.lists(st.one_of(_FRAGMENTS, st.text(max_size=40)), max_size=30).map("\n".join)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_KB_KEYS = st.sampled_from(
    ["title", "text", "source", "article_no", "effective_date", "domain", "chapter", "x"]
)
kb_record = st.dictionaries(_KB_KEYS, json_value | st.text(max_size=30), max_size=6)
_TRAIN_KEYS = st.sampled_from(
    ["prompt", "completion", "question", "answer", "messages", "system", "instruction", "output", "input"]
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "tool", "", 3]), "content": json_value}
    ),
    max_size=4,
)
train_record = st.dictionaries(_TRAIN_KEYS, st.text(max_size=30) | json_value | messages, max_size=5)


def _jsonl(records: list, junk: list[str]) -> str:
    lines = [json.dumps(r, ensure_ascii=False) if not isinstance(r, str) else r for r in records]
    return "\n".join(lines + junk)


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


csv_text = st.builds(
    _csv_text,
    st.lists(
        st.sampled_from(["title", "text", "source", "article_no", "question", "answer", "问题", "x", ""]),
        max_size=5,
    ),
    st.lists(st.lists(st.text(max_size=20), max_size=6), max_size=5),
) | st.text(max_size=200)
raw_bytes = st.binary(max_size=300) | statute_text.map(lambda t: t.encode("gb18030", errors="ignore"))


def _write(dir_: Path, name: str, content: str | bytes) -> Path:
    path = dir_ / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    return path


def _load_kb(path: Path) -> None:
    try:
        docs = load_kb_file(path)
    except LoadError as exc:
        assert exc.file and str(path.name) in str(exc), exc  # names the file
        return
    for doc in docs:
        for art in doc.articles:
            assert isinstance(art.text, str)


@SETTINGS
@given(text=statute_text, suffix=st.sampled_from([".md", ".txt"]))
def test_statute_loader_raises_only_load_error(tmp_path: Path, text: str, suffix: str) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        try:
            path = _write(Path(d), f"law{suffix}", text)
        except UnicodeEncodeError:
            return  # lone surrogates cannot be written as a file at all
        _load_kb(path)


@SETTINGS
@given(data=raw_bytes, suffix=st.sampled_from([".md", ".txt", ".jsonl", ".csv"]))
def test_kb_loaders_on_raw_bytes_raise_only_load_error(tmp_path: Path, data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        _load_kb(_write(Path(d), f"x{suffix}", data))


@SETTINGS
@given(
    records=st.lists(kb_record | st.text(max_size=20), max_size=6),
    junk=st.lists(st.text(max_size=20), max_size=2),
)
def test_kb_jsonl_loader_raises_only_load_error(tmp_path: Path, records: list, junk: list[str]) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        try:
            path = _write(Path(d), "p.jsonl", _jsonl(records, junk))
        except UnicodeEncodeError:
            return
        _load_kb(path)


@SETTINGS
@given(text=csv_text)
def test_kb_csv_loader_raises_only_load_error(tmp_path: Path, text: str) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        try:
            path = _write(Path(d), "p.csv", text)
        except UnicodeEncodeError:
            return
        _load_kb(path)


def _load_training(path: Path, fmt: str = "auto") -> None:
    try:
        samples = load_training_file(path, fmt)
    except DataError as exc:
        assert path.name in str(exc), exc  # names the file
        return
    for s in samples:
        assert isinstance(s.prompt, str) and isinstance(s.completion, str)
        assert path.name in s.source


@SETTINGS
@given(
    records=st.lists(train_record | st.text(max_size=20), max_size=6),
    junk=st.lists(st.text(max_size=20), max_size=2),
    fmt=st.sampled_from(["auto", "jsonl", "chat"]),
)
def test_training_jsonl_loader_raises_only_data_error(
    tmp_path: Path, records: list, junk: list[str], fmt: str
) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        try:
            path = _write(Path(d), "train.jsonl", _jsonl(records, junk))
        except UnicodeEncodeError:
            return
        _load_training(path, fmt)


@SETTINGS
@given(text=csv_text)
def test_training_csv_loader_raises_only_data_error(tmp_path: Path, text: str) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        try:
            path = _write(Path(d), "train.csv", text)
        except UnicodeEncodeError:
            return
        _load_training(path)


@pytest.mark.parametrize("content", ["\r0", "question,answer\n问\r题,答\n", "question,answer\r\n1\r2,b\r\n"])
def test_training_csv_with_a_bare_carriage_return_is_a_data_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "train.csv"
    path.write_bytes(content.encode())
    _load_training(path)


dialogue_line = st.one_of(
    st.sampled_from(
        ["用户：", "用户:", "问：", "律师：", "医生：", "答:", "助手：", "", "  ", "用户：律师："]
    ).flatmap(lambda prefix: st.text(max_size=15).map(lambda t: prefix + t)),
    st.text(max_size=15),
)


@SETTINGS
@given(lines=st.lists(dialogue_line, max_size=14))
def test_dialogue_loader_raises_only_data_error(tmp_path: Path, lines: list[str]) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        try:
            path = _write(Path(d), "dialogue.txt", "\n".join(lines))
        except UnicodeEncodeError:
            return
        _load_training(path)


@SETTINGS
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".jsonl", ".csv", ".txt", ".json"]))
def test_training_loaders_on_raw_bytes_raise_only_data_error(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        _load_training(_write(Path(d), f"t{suffix}", data))


# --------------------------------------------------------------------------- KB import: no partial state
@pytest.fixture(scope="module")
def bm25_kb(tmp_path_factory: pytest.TempPathFactory):
    """A KB with no dense embedder (fast imports) holding one good law."""
    from knowledge.config import KnowledgeConfig
    from knowledge.kb import KnowledgeBase

    home = tmp_path_factory.mktemp("prop-kb")
    kb = KnowledgeBase.open(home, KnowledgeConfig.model_validate({"embedder": {"kind": "none"}}))
    good = home / "src" / "基线测试法.md"
    good.parent.mkdir()
    good.write_text("# 基线测试法\n\n第一条 基线条文一。\n\n第二条 基线条文二。\n", encoding="utf-8")
    report = kb.import_path(good, progress=False)
    assert report.articles_added == 2, report
    yield kb
    kb.close()


def _kb_state(kb) -> tuple:
    rows = kb.manifest.query("SELECT id, content_hash, file FROM articles ORDER BY id")
    files = kb.manifest.query("SELECT path, file_hash, n_articles FROM files ORDER BY path")
    return (kb.kb_version, [tuple(r) for r in rows], [tuple(r) for r in files])


def _consistent(kb) -> None:
    """Every file row's article count matches the articles stored for it (no half-written file)."""
    for f in kb.manifest.query("SELECT path, n_articles FROM files"):
        n = kb.manifest.query("SELECT COUNT(*) AS n FROM articles WHERE file=?", (f["path"],))[0]["n"]
        assert n == f["n_articles"], (f["path"], n, f["n_articles"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.one_of(statute_text, st.binary(max_size=200), csv_text),
    suffix=st.sampled_from([".md", ".txt", ".jsonl", ".csv"]),
    strict=st.booleans(),
)
def test_kb_import_of_random_files_is_all_or_nothing(bm25_kb, content, suffix: str, strict: bool) -> None:
    before = _kb_state(bm25_kb)
    folder = Path(tempfile.mkdtemp(prefix="prop-import-"))
    try:
        try:
            _write(folder, f"随机{suffix}", content)
        except UnicodeEncodeError:
            return
        try:
            report = bm25_kb.import_path(folder, strict=strict, progress=False)
        except KnowledgeError:
            assert _kb_state(bm25_kb) == before
            return
        _consistent(bm25_kb)
        if report.errors:
            assert all(e.message for e in report.errors)
            assert report.files_imported == 0 and _kb_state(bm25_kb) == before
        else:
            after = _kb_state(bm25_kb)
            added = len(after[1]) - len(before[1])
            assert added == report.articles_added, report
        # The baseline law is never damaged by a bad import.
        assert bm25_kb.lookup("基线测试法", 2) is not None
        # Clean up what a random but valid file added, so the next example starts from the baseline.
        for law in {x.law for x in bm25_kb.laws()} - {"基线测试法"}:
            bm25_kb.remove(law)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
