"""Data loaders: four formats, encodings, line-numbered errors, dedupe, leakage-free split, templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.data import Sample, dedupe, load_file, load_samples, read_text, split_train_val
from adapters.errors import DataError
from adapters.templates import SECTIONS, apply_template, check_sections, rewrite_structured

ANSWER = "【分类】劳动合同\n【要点】\n1. 可以解除合同。\n【依据】\n《劳动合同法》第三十八条"


def test_jsonl_prompt_completion(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_text(
        json.dumps({"prompt": "拖欠工资怎么办", "completion": ANSWER}, ensure_ascii=False) + "\n\n",
        encoding="utf-8",
    )
    [s] = load_file(f)
    assert s.prompt == "拖欠工资怎么办" and s.completion == ANSWER and s.source == f"{f}:1"


def test_chat_jsonl_one_sample_per_assistant_turn(tmp_path: Path) -> None:
    msgs = [
        {"role": "system", "content": "你是律师"},
        {"role": "user", "content": "问题一"},
        {"role": "assistant", "content": "回答一"},
        {"role": "user", "content": "问题二"},
        {"role": "assistant", "content": "回答二"},
    ]
    f = tmp_path / "chat.jsonl"
    f.write_text(json.dumps({"messages": msgs}, ensure_ascii=False) + "\n", encoding="utf-8")
    a, b = load_file(f)
    assert (a.prompt, a.completion, a.system) == ("问题一", "回答一", "你是律师")
    assert b.prompt.endswith("问题二") and "问题一" in b.prompt and b.completion == "回答二"


def test_csv_question_answer_with_multiline_answers(tmp_path: Path) -> None:
    f = tmp_path / "qa.csv"
    f.write_text('question,answer\n问一,"第一行\n第二行"\n问二,答二\n', encoding="utf-8")
    a, b = load_file(f)
    assert a.completion == "第一行\n第二行" and b.prompt == "问二"
    assert b.source.endswith(":4")


def test_dialogue_txt_blocks(tmp_path: Path) -> None:
    f = tmp_path / "d.txt"
    f.write_text(
        "用户：头疼怎么办？\n医生：注意休息。\n必要时就医。\n\n\n用户：能喝酒吗？\n律师：不建议。\n",
        encoding="utf-8",
    )
    a, b = load_file(f)
    assert a.prompt == "头疼怎么办？" and a.completion == "注意休息。\n必要时就医。"
    assert b.source.endswith(":6") and b.completion == "不建议。"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_encodings(tmp_path: Path, encoding: str) -> None:
    f = tmp_path / "qa.csv"
    f.write_bytes("question,answer\n劳动合同怎么签,书面订立\n".encode(encoding))
    assert read_text(f).startswith("question")
    [s] = load_file(f)
    assert s.prompt == "劳动合同怎么签"


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("bad.jsonl", '{"prompt": "a", "completion": "b"}\n{"prompt": "a"\n', "bad.jsonl:2: not valid JSON"),
        (
            "miss.jsonl",
            '{"prompt": "a", "completion": "b"}\n{"prompt": "x"}\n',
            "miss.jsonl:2: missing or empty completion",
        ),
        ("q.csv", "question,answer\nq1,a1\nq2,\n", "q.csv:3: empty answer"),
        ("hdr.csv", "foo,bar\n1,2\n", "hdr.csv:1: CSV header must have question,answer"),
        ("d.txt", "用户：a\n律师：b\n\n随便一行\n", "d.txt:4: expected a line starting with 用户："),
        ("noans.txt", "用户：a\n\n", "noans.txt:1: sample has no 律师：/医生： answer"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, name: str, content: str, needle: str) -> None:
    f = tmp_path / name
    f.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_file(f)
    assert needle in str(info.value)


def test_undecodable_file_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_bytes(b"\xff\xfe\xfa\xfb" * 10)
    with pytest.raises(DataError, match="cannot decode"):
        read_text(f)


def test_load_samples_folder_and_missing(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("用户：a\n律师：b\n", encoding="utf-8")
    (tmp_path / "d" / "b.csv").write_text("question,answer\nq,a\n", encoding="utf-8")
    (tmp_path / "d" / "ignore.md").write_text("x", encoding="utf-8")
    assert len(load_samples(tmp_path / "d", None)) == 2
    with pytest.raises(DataError, match="not found"):
        load_samples(tmp_path / "nope", None)


def test_dedupe_and_split_without_leakage() -> None:
    samples = [Sample(prompt=f"问题{i % 30}", completion=f"答{i}") for i in range(60)]
    samples += [Sample(prompt="问题 1", completion="答1")]  # whitespace-only variant of a duplicate
    kept, dropped = dedupe(samples)
    assert dropped == 1 and len(kept) == 60
    train, val = split_train_val(kept, 0.2, seed=1)
    assert len(train) + len(val) == 60 and val
    assert not {s.key() for s in train} & {s.key() for s in val}
    assert split_train_val(kept, 0.2, seed=1) == (train, val)


def test_template_check_and_rewrite() -> None:
    assert check_sections(ANSWER) == []
    free = "用人单位拖欠工资的，劳动者可以解除合同。还可以要求经济补偿。依据《劳动合同法》第三十八条"
    assert check_sections(free) == list(SECTIONS)
    fixed = rewrite_structured(free, "legal")
    assert check_sections(fixed) == []
    assert (
        "1. 用人单位拖欠工资的，劳动者可以解除合同。" in fixed
        and "《劳动合同法》第三十八条" in fixed.split("【依据】")[1]
    )
    samples = [
        Sample(prompt="p1", completion=ANSWER, source="f:1"),
        Sample(prompt="p2", completion=free, source="f:2"),
    ]
    same, issues = apply_template(samples, "check", "legal")
    assert same[1].completion == free and [(i.source, i.rewritten) for i in issues] == [("f:2", False)]
    rewritten, issues = apply_template(samples, "rewrite", "legal")
    assert check_sections(rewritten[1].completion) == [] and issues[0].rewritten
