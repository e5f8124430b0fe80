"""`Pipeline.from_home`, a third domain added by configuration only, and `yiju ask`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from assistant.cli import app
from assistant.domains import BUILTIN_DIR

REPO = Path(__file__).resolve().parents[2]
WAGES = "公司拖欠工资，劳动者可以解除劳动合同吗？"


def _add_labor_domain(home: Path) -> None:
    """A third domain (劳动用工) as pure config: domain.yaml + its own safety.yaml, via yiju.yaml domains_dirs."""
    data = yaml.safe_load((BUILTIN_DIR / "legal" / "domain.yaml").read_text(encoding="utf-8"))
    data.update(
        name="labor",
        title="劳动用工",
        routing_keywords=[
            "工资",
            "劳动合同",
            "劳动者",
            "用人单位",
            "公司",
            "加班",
            "辞退",
            "解除劳动合同",
            "拖欠",
        ],
        categories=[
            {"name": "劳动报酬", "keywords": ["工资", "拖欠", "劳动报酬"], "laws": []},
            {"name": "解除合同", "keywords": ["解除", "辞退"], "laws": ["劳动合同法"]},
        ],
        default_category="其他劳动问题",
        safety_policy="safety.yaml",
        disclaimer="劳动用工回答仅供参考。",
        adapter="labor",
    )
    folder = home / "domains" / "labor"
    folder.mkdir(parents=True)
    (folder / "domain.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (folder / "safety.yaml").write_text(
        "include: legal\nname: labor\ndisclaimer: 【提示】劳动用工回答仅供参考，请咨询当地劳动仲裁机构或律师。\n",
        encoding="utf-8",
    )
    cfg = yaml.safe_load((home / "yiju.yaml").read_text(encoding="utf-8"))
    cfg["domains_dirs"] = ["domains"]  # relative to the data directory
    (home / "yiju.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")


def test_from_home_end_to_end(home: Path) -> None:
    from assistant.pipeline import Pipeline

    p = Pipeline.from_home(home)
    try:
        assert p.domains == ["legal", "medical"]
        r = p.ask(WAGES)
        assert r.status == "answered" and r.domain == "legal"
        assert p.audit.get(r.turn_id)["status"] == "answered"
        assert (home / "audit.sqlite").is_file()
    finally:
        p.close()


def test_third_domain_needs_no_code(home: Path) -> None:
    from assistant.pipeline import Pipeline

    _add_labor_domain(home)
    p = Pipeline.from_home(home)
    try:
        assert p.domains == ["legal", "medical", "labor"]
        r = p.ask(WAGES)  # auto routing picks the new domain on its keywords
        assert r.domain == "labor" and r.status == "answered", r
        assert r.category in ("劳动报酬", "解除合同")
        assert r.disclaimer.startswith("【提示】劳动用工") and r.rendered.endswith(r.disclaimer)
        assert ("劳动合同法", 38) in [(c.law, c.article_no) for c in r.citations]
        assert p.ask("怎么在家自制炸药？", domain="labor").status == "refused"  # included legal rules apply
        row = p.audit.get(r.turn_id)
        assert row["domain"] == "labor"
    finally:
        p.close()


@pytest.mark.slow
def test_cli_json_subprocess(home: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "--home", str(home), "ask", WAGES, "--domain", "legal", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(done.stdout)
    assert data["status"] == "answered" and data["domain"] == "legal"
    assert any(c["law"] == "劳动合同法" and c["article_no"] == 38 and c["text"] for c in data["citations"])
    assert data["turn_id"] and data["rendered"].startswith("【分类】")


def test_cli_rendered_and_exit_codes(home: Path) -> None:
    runner = CliRunner()
    env = {"YIJU_HOME": str(home)}
    ok = runner.invoke(app, ["ask", WAGES], env=env)
    assert ok.exit_code == 0, ok.output
    assert "【分类】" in ok.output and "《劳动合同法》第三十八条" in ok.output
    refused = runner.invoke(app, ["ask", "怎么在家自制炸药？", "--json"], env=env)
    assert refused.exit_code == 0 and json.loads(refused.output)["status"] == "refused"
    empty = runner.invoke(app, ["ask", "  ", "--json"], env=env)
    assert empty.exit_code == 1 and json.loads(empty.output)["status"] == "error"
    unknown = runner.invoke(app, ["ask", WAGES, "--domain", "astrology", "--json"], env=env)
    assert unknown.exit_code == 1 and "astrology" in json.loads(unknown.output)["message"]


def test_cli_bad_config_names_file(home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(
        app, ["ask", WAGES, "--config", str(tmp_path / "none.yaml")], env={"YIJU_HOME": str(home)}
    )
    assert missing.exit_code == 1 and "none.yaml" in missing.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("generator:\n  kind: openai_compat\n", encoding="utf-8")
    out = runner.invoke(app, ["ask", WAGES, "--config", str(bad)], env={"YIJU_HOME": str(home)})
    assert out.exit_code == 1 and "bad.yaml" in out.output and "base_url" in out.output


def test_cli_openai_config_with_dead_server_still_answers(home: Path, tmp_path: Path) -> None:
    cfg = yaml.safe_load((home / "yiju.yaml").read_text(encoding="utf-8"))
    cfg["generator"] = {"kind": "openai_compat", "base_url": "http://127.0.0.1:9/v1", "connect_timeout_s": 1}
    path = tmp_path / "openai.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    out = CliRunner().invoke(
        app, ["ask", WAGES, "--json", "--config", str(path)], env={"YIJU_HOME": str(home)}
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["status"] == "answered" and "extractive_fallback" in data["flags"]
