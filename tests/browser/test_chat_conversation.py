"""The chat as a conversation, in a real browser: three turns per domain with the follow-ups of issue 12,
history kept on screen, Enter/Shift+Enter, examples, copy, 👍/👎 with a comment, the one-click domain
switch, and 新对话.

The server runs over the starter knowledge base plus a small medical regulation written for this test
(《高血压用药测试规范》, three numbered articles): the starter holds nothing about blood pressure, and what
is asserted here is what the conversation layer guarantees — the follow-up is understood in its
conversation, answered in the right domain, and cites articles of the relevant law.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import CHROMIUM
from tests.conftest import ARTIFACTS
from tests.server_harness import REPO_ROOT, _env, create_key, prepare_home, start_server, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.server]

TEST_REGULATION = [
    "高血压患者应当在医生指导下长期规范服用降压药物，不得自行停药或者减量。",
    "高血压患者经治疗血压已经正常的，仍应当继续服用降压药物并定期监测血压；确需调整或者停用降压药物的，"
    "应当由医生评估后决定。",
    "高血压患者应当减少钠盐摄入，合理膳食，控制体重，戒烟限酒，适量运动。",
]
WAGES = "公司拖欠工资，劳动者可以解除劳动合同吗？"
COMPENSATION = "那可以要求经济补偿吗？"
BP = "高血压可以停药吗？"
BP_FOLLOW = "那如果血压已经正常了呢？"
# Gradio's own button labels in the zh-CN locale the pages are opened with.
DISLIKE, COPY = "踩", "Copy message"


@pytest.fixture(scope="module")
def convo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed (make browser-deps)")
    root = tmp_path_factory.mktemp("convo-browser")
    home = root / "home"
    prepare_home(home)
    source = root / "高血压用药测试规范.jsonl"
    rows = [
        {"title": "高血压用药测试规范", "article_no": i, "text": text, "domain": "medical"}
        for i, text in enumerate(TEST_REGULATION, 1)
    ]
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "assistant", "kb", "import", str(source), "--domain", "medical"],
        env=_env(home, None),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    reviewer = create_key(home, "reviewer", "convo-reviewer")
    proc, base_url = start_server(home)
    try:
        # The pipeline is built on the first question (knowledge base, embedder, policies): do it here, so
        # the tests' waits measure answers, not the server's start-up on a busy machine.
        warm = httpx.post(base_url + "/v1/ask", json={"question": WAGES}, timeout=600)
        assert warm.status_code == 200, warm.text
        yield {"base_url": base_url, "home": home, "reviewer": reviewer}
    finally:
        stop_server(proc)


@pytest.fixture
def chat(browser, convo_server) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 1100}, locale="zh-CN")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=convo_server["base_url"])
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(convo_server["base_url"] + "/")
    page.wait_for_selector("#chat-question textarea")
    page.locator("#chat-history button.example").first.wait_for()
    try:
        yield page
    finally:
        context.close()


def answers(page):
    """The main answer of each turn (the first bot message after each user message)."""
    return page.locator("#chat-history [data-testid=bot]:not(:has(.thought-group))")


def send(page, question: str) -> str:
    """Type a question, press Enter, wait for its verified answer; returns the answer's text."""
    before = answers(page).count()
    page.fill("#chat-question textarea", question)
    page.press("#chat-question textarea", "Enter")
    try:
        page.wait_for_function(
            "n => { const a = document.querySelectorAll("
            "'#chat-history [data-testid=bot]:not(:has(.thought-group))');"
            " return a.length > n && a[a.length - 1].innerText.includes('领域：'); }",
            arg=before,
        )
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "chat-send-timeout.png"), full_page=True)
        raise
    return answers(page).last.inner_text()


def citation_titles(page) -> list[str]:
    return [t.strip() for t in page.locator("#chat-history .thought-group .title").all_inner_texts()]


def test_legal_conversation_resolves_the_compensation_follow_up(chat, artifacts_dir: Path) -> None:
    first = send(chat, WAGES)
    assert "【分类】" in first and "领域：法律" in first and "理解为" not in first
    second = send(chat, COMPENSATION)
    assert "理解为：公司拖欠工资，劳动者解除劳动合同，可以要求经济补偿吗？" in second
    assert "领域：法律（沿用本次对话的领域）" in second
    assert "《劳动合同法》第四十六条" in second  # the compensation article, not 竞业限制
    assert "12348" in second  # the legal disclaimer's hotline
    third = send(chat, "经济补偿怎么计算？")
    assert "理解为：" in third and "经济补偿" in third and "领域：法律" in third
    assert "【依据】" in third and "《劳动合同法》" in third
    # History stays on screen: every question and every answer of the conversation.
    users = chat.locator("#chat-history [data-testid=user]").all_inner_texts()
    assert [u.strip() for u in users] == [WAGES, COMPENSATION, "经济补偿怎么计算？"]
    assert answers(chat).count() == 3
    assert all(t.startswith("《劳动合同法》") for t in citation_titles(chat)), citation_titles(chat)
    # A citation expands to the article's verbatim text, with its version.
    title = chat.locator("#chat-history .thought-group .title", has_text="第四十六条").first
    assert "2012-12-28 版" in title.inner_text()
    title.click()
    chat.locator("#chat-history").get_by_text("用人单位应当向劳动者支付经济补偿").first.wait_for()
    chat.screenshot(path=str(artifacts_dir / "chat-conversation-legal.png"), full_page=True)


def test_medical_conversation_keeps_the_blood_pressure_topic(chat, artifacts_dir: Path) -> None:
    first = send(chat, BP)
    assert "领域：医疗" in first and "《高血压用药测试规范》" in first
    second = send(chat, BP_FOLLOW)  # issue 12: went to legal and got 〔无依据〕
    assert "理解为：高血压，如果血压已经正常了，可以停药吗？" in second
    assert "领域：医疗（沿用本次对话的领域）" in second and "〔无依据〕" not in second
    assert "《高血压用药测试规范》第二条" in second
    assert "120" in second and "12320" in second  # the medical disclaimer's hotlines
    third = send(chat, "平时饮食要注意什么？")
    assert "理解为：高血压，平时饮食要注意什么？" in third and "《高血压用药测试规范》第三条" in third
    users = [u.strip() for u in chat.locator("#chat-history [data-testid=user]").all_inner_texts()]
    assert users == [BP, BP_FOLLOW, "平时饮食要注意什么？"] and answers(chat).count() == 3
    assert all(t.startswith("《高血压用药测试规范》") for t in citation_titles(chat)), citation_titles(chat)
    chat.screenshot(path=str(artifacts_dir / "chat-conversation-medical.png"), full_page=True)


def test_enter_shift_enter_examples_copy_and_new_conversation(chat) -> None:
    box = chat.locator("#chat-question textarea")
    box.click()
    chat.keyboard.type("第一行")
    chat.keyboard.press("Shift+Enter")
    chat.keyboard.type("第二行")
    assert box.input_value() == "第一行\n第二行"  # Shift+Enter: a new line, nothing sent
    assert chat.locator("#chat-history [data-testid=user]").count() == 0
    box.fill("")
    # A clicked example is asked at once.
    chat.locator("#chat-history button.example", has_text="被狗咬了要打狂犬疫苗吗？").click()
    chat.wait_for_function("() => document.querySelector('#chat-history').innerText.includes('领域：')")
    assert "领域：医疗" in answers(chat).last.inner_text()  # issue 9/12: was routed to legal
    # Copy gives readable text, not markup.
    chat.locator(f"#chat-history button[aria-label='{COPY}']").last.click()
    copied = chat.evaluate("navigator.clipboard.readText()")
    assert "领域：医疗" in copied and "<" not in copied and "**" not in copied
    conversation = chat.locator("#chat-conversation").inner_text()
    assert "对话编号" in conversation
    chat.click("#chat-new")
    chat.locator("#chat-history button.example").first.wait_for()
    assert chat.locator("#chat-history [data-testid=user]").count() == 0
    send(chat, WAGES)
    assert chat.locator("#chat-conversation").inner_text() != conversation  # a new conversation id


def test_thumbs_down_with_comment_reaches_reviewers(chat, convo_server) -> None:
    send(chat, WAGES)
    chat.locator(f"#chat-history button[aria-label='{DISLIKE}']").last.click()
    chat.locator("#chat-feedback-row").wait_for(state="visible")
    chat.fill("#chat-feedback-comment textarea", "没有说明经济补偿的标准")
    chat.click("#chat-feedback-send")
    chat.locator("#chat-feedback-status").get_by_text("意见已提交").wait_for()
    listed = httpx.get(
        convo_server["base_url"] + "/v1/audit/feedback",
        headers={"Authorization": f"Bearer {convo_server['reviewer']}"},
        params={"rating": "down"},
        timeout=60,
    ).json()
    mine = [f for f in listed if f["comment"] == "没有说明经济补偿的标准"]
    assert len(mine) == 1 and mine[0]["question"] == WAGES and mine[0]["conversation_id"]


def test_unsure_route_offers_the_other_domain_in_one_click(chat) -> None:
    first = send(chat, "疫苗出了问题能赔偿吗？")
    assert "不太确定" in first
    switch = chat.locator("#chat-switch-domain")
    switch.wait_for(state="visible")
    target = "医疗" if "领域：法律" in first else "法律"
    assert target in switch.inner_text()
    switch.click()
    chat.wait_for_function(
        "t => { const a = document.querySelectorAll('#chat-history [data-testid=bot]:not(:has(.thought-group))');"
        " return a.length && a[a.length - 1].innerText.includes('领域：' + t + '（按您选择的领域回答）'); }",
        arg=target,
    )
    # The switched answer replaces the unsure one: one question, one answer on screen.
    assert chat.locator("#chat-history [data-testid=user]").count() == 1 and answers(chat).count() == 1


def test_medical_question_cites_a_guideline_section_expanded_verbatim(chat, artifacts_dir: Path) -> None:
    """Issue 9: a medical answer cites a guideline by its section, and the citation opens to its text."""
    answer = send(chat, "被狗咬伤了，伤口应该怎么处理？要打疫苗吗？")
    assert "领域：医疗" in answer and "【依据】" in answer
    titles = citation_titles(chat)
    wound = [t for t in titles if t.startswith("《狂犬病暴露预防处置要点（示例）》") and "三、伤口处置" in t]
    assert wound, titles
    chat.locator("#chat-history .thought-group .title", has_text="三、伤口处置").first.click()
    chat.locator("#chat-history").get_by_text(
        "流动清水交替彻底冲洗伤口约15分钟", exact=False
    ).first.wait_for()
    chat.screenshot(path=str(artifacts_dir / "chat-guideline-citation.png"), full_page=True)


def test_a_question_typed_and_sent_while_an_answer_is_on_its_way_is_asked(chat) -> None:
    """The stall CI hit: Enter pressed while the previous answer was still finishing was dropped (Gradio's
    trigger_mode "once") and the answer's updates emptied the box. The first question's request is held back
    1.5 s here, so the second is typed and sent while the first is surely still on its way."""
    held = {"n": 0}

    def hold_first_join(route) -> None:
        held["n"] += 1
        if held["n"] == 1:
            time.sleep(1.5)
        route.continue_()

    chat.route("**/gradio_api/queue/join*", hold_first_join)
    box = chat.locator("#chat-question textarea")
    box.fill(BP)
    box.press("Enter")
    # emptied in the browser at once (the first question's request is still held back)
    chat.wait_for_function("() => document.querySelector('#chat-question textarea').value === ''")
    box.fill(BP_FOLLOW)
    box.press("Enter")
    chat.wait_for_function(
        "() => { const a = document.querySelectorAll("
        "'#chat-history [data-testid=bot]:not(:has(.thought-group))');"
        " return a.length >= 2 && a[a.length - 1].innerText.includes('领域：'); }"
    )
    users = [u.strip() for u in chat.locator("#chat-history [data-testid=user]").all_inner_texts()]
    assert users == [BP, BP_FOLLOW]
    assert "《高血压用药测试规范》第二条" in answers(chat).last.inner_text()
    assert held["n"] >= 2
