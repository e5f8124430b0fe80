"""The openai_compat generator against a real HTTP server process on 127.0.0.1 (started and stopped by PID)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.errors import GeneratorError
from assistant.generators import build_generator
from assistant.generators.base import GenParams, Message
from assistant.generators.config import OpenAICompatConfig

pytestmark = pytest.mark.server

STUB = Path(__file__).with_name("openai_stub_server.py")
LEGAL_ANSWER = (
    "【分类】劳动合同\n【要点】\n1. 用人单位未及时足额支付劳动报酬的，劳动者可以解除劳动合同。\n"
    "【依据】\n- 《劳动合同法》第三十八条\n- 《劳动合同法》第九百条"
)
MESSAGES = [Message(role="system", content="规则"), Message(role="user", content="问题")]


class Stub:
    def __init__(self, proc: subprocess.Popen, port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def requests(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]


def _start(tmp_path: Path, replies: dict[str, str]) -> Stub:
    replies_file, log = tmp_path / "replies.json", tmp_path / "requests.jsonl"
    replies_file.write_text(json.dumps(replies, ensure_ascii=False), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(STUB), str(replies_file), str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("READY"):
        proc.kill()
        raise RuntimeError(f"stub server did not start: {line!r} {proc.stderr.read()}")
    return Stub(proc, int(line.split()[1]), log)


def _stop(stub: Stub) -> None:
    os.kill(stub.proc.pid, signal.SIGTERM)
    try:
        stub.proc.wait(5)
    except subprocess.TimeoutExpired:
        os.kill(stub.proc.pid, signal.SIGKILL)
        stub.proc.wait(5)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Stub]:
    stub = _start(
        tmp_path, {"legal": LEGAL_ANSWER, "medical": "【分类】用药\n【要点】\n1. 遵医嘱\n", "*": "BASE"}
    )
    yield stub
    _stop(stub)


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed on exit: nothing listens there


def test_generate_sends_adapter_as_model(server: Stub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIJU_OPENAI_API_KEY", "sk-test")
    gen = build_generator(OpenAICompatConfig(base_url=server.base_url, model="base-model"))
    try:
        assert gen.generate(MESSAGES, GenParams(adapter="legal")) == LEGAL_ANSWER
        assert gen.generate(MESSAGES, GenParams(adapter="medical")).startswith("【分类】用药")
        assert gen.generate(MESSAGES, GenParams(adapter=None)) == "BASE"
    finally:
        gen.close()
    reqs = server.requests()
    assert [r["model"] for r in reqs] == ["legal", "medical", "base-model"]
    assert reqs[0]["messages"] == [m.model_dump() for m in MESSAGES]
    assert reqs[0]["stream"] is False and reqs[0]["_auth"] == "Bearer sk-test"


def test_adapter_model_mapping_and_switch_off(server: Stub) -> None:
    cfg = OpenAICompatConfig(base_url=server.base_url, model="m", adapter_models={"legal": "medical"})
    gen = build_generator(cfg)
    assert gen.generate(MESSAGES, GenParams(adapter="legal")).startswith("【分类】用药")
    off = build_generator(OpenAICompatConfig(base_url=server.base_url, model="m", use_adapters=False))
    assert off.generate(MESSAGES, GenParams(adapter="legal")) == "BASE"
    assert off.resolve_adapter("legal") is None
    gen.close()
    off.close()


def test_http_error_and_timeout_are_generator_errors(tmp_path: Path) -> None:
    stub = _start(tmp_path, {"broken": "!500", "slow": "!sleep:3", "*": "x"})
    try:
        gen = build_generator(OpenAICompatConfig(base_url=stub.base_url, timeout_s=0.5))
        with pytest.raises(GeneratorError, match="HTTP 500"):
            gen.generate(MESSAGES, GenParams(adapter="broken"))
        with pytest.raises(GeneratorError, match="timed out"):
            gen.generate(MESSAGES, GenParams(adapter="slow"))
        gen.close()
    finally:
        _stop(stub)


def test_dead_server_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{_dead_port()}/v1"
    gen = build_generator(OpenAICompatConfig(base_url=url, connect_timeout_s=1))
    with pytest.raises(GeneratorError, match="cannot reach") as err:
        gen.generate(MESSAGES, GenParams())
    assert url in str(err.value)
    gen.close()


def test_pipeline_over_real_server_verifies_citations(server: Stub, make_pipeline, audit) -> None:
    gen = build_generator(OpenAICompatConfig(base_url=server.base_url))
    r = make_pipeline(gen).ask("公司拖欠工资，劳动者可以解除劳动合同吗？", domain="legal")
    gen.close()
    assert r.status == "answered" and r.generator == "openai_compat" and r.adapter == "legal"
    assert [(c.law, c.article_no) for c in r.citations] == [("劳动合同法", 38)]
    assert "citation_removed" in r.flags
    row = audit.get(r.turn_id)
    assert row["generator_kind"] == "openai_compat" and row["adapter_name"] == "legal"
    assert server.base_url in row["generator_model"]
    # The prompt sent to the server carries the retrieved article text.
    sent = server.requests()[-1]["messages"]
    assert "《劳动合同法》第三十八条" in sent[-1]["content"]


def test_pipeline_with_dead_server_falls_back_and_audits(make_pipeline, audit) -> None:
    gen = build_generator(
        OpenAICompatConfig(base_url=f"http://127.0.0.1:{_dead_port()}/v1", connect_timeout_s=1)
    )
    r = make_pipeline(gen).ask("公司拖欠工资，劳动者可以解除劳动合同吗？", domain="legal")
    assert r.status == "answered" and {"generator_error", "extractive_fallback"} <= set(r.flags)
    assert audit.get(r.turn_id)["status"] == "answered"
    r2 = make_pipeline(gen, fallback_to_extractive=False).ask(
        "公司拖欠工资，劳动者可以解除劳动合同吗？", "legal"
    )
    assert r2.status == "error" and audit.get(r2.turn_id)["status"] == "error"
    gen.close()
