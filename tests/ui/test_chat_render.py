"""Chat messages as the asker sees (and copies) them: Chinese, plain text, citations with version and date."""

from __future__ import annotations

from assistant.conversation import RoutingInfo
from assistant.pipeline import AskResult
from safety.types import Citation
from ui.render import answer_markdown, answer_messages, citation_title, md_escape, route_note

ART46 = Citation(
    law="劳动合同法",
    article_no=46,
    article_label="第四十六条",
    text="有下列情形之一的，用人单位应当向劳动者支付经济补偿：\n（一）劳动者依照本法第三十八条规定解除劳动合同的；",
    version="2012-12-28",
)


def _answered(**kw) -> AskResult:
    data = dict(
        turn_id="a" * 32,
        domain="legal",
        status="answered",
        category="劳动合同",
        points=["用人单位应当支付经济补偿（《劳动合同法》第四十六条）", "1. 以数字开头的要点"],
        citations=[ART46],
        disclaimer="【免责声明】仅供参考，或拨打 12348 公共法律服务热线。",
        generator="extractive",
        standalone_question="公司拖欠工资，劳动者解除劳动合同，可以要求经济补偿吗？",
        routing=RoutingInfo(source="carried", follow_up=True),
    )
    data.update(kw)
    return AskResult(**data)


def test_answer_message_is_chinese_plain_text_with_the_understood_question() -> None:
    text = answer_markdown(_answered())
    assert text.startswith("理解为：公司拖欠工资，劳动者解除劳动合同，可以要求经济补偿吗？")
    for part in ("【分类】", "【要点】", "【依据】", "- 《劳动合同法》第四十六条 · 2012-12-28 版", "12348"):
        assert part in text
    assert "领域：法律（沿用本次对话的领域）" in text
    assert "<" not in text and "**" not in text and "turn " not in text and "extractive" not in text
    assert "2. 1\\. 以数字开头的要点" in text  # a point's own "1." is not a nested list


def test_each_citation_is_a_collapsed_message_with_the_verbatim_text() -> None:
    main, cite = answer_messages(_answered())
    assert main["role"] == cite["role"] == "assistant"
    assert cite["metadata"] == {"title": "《劳动合同法》第四十六条 · 2012-12-28 版", "status": "done"}
    assert "支付经济补偿" in cite["content"] and "（一）劳动者依照本法第三十八条" in cite["content"]


class _Cited:
    """Duck-typed citations: the fields grounding fills (effective_date, section) whether or not the shared
    Citation type carries them yet."""

    def __init__(self, **kw: object) -> None:
        self.article_no, self.article_label, self.section, self.version, self.effective_date = (
            None,
            "",
            "",
            "",
            "",
        )
        self.__dict__.update(kw)


def test_citation_title_shows_effective_date_and_guideline_section() -> None:
    statute = _Cited(law="劳动合同法", article_no=46, article_label="第四十六条", version="2012-12-28",
                     effective_date="2013-07-01")  # fmt: skip
    assert citation_title(statute) == "《劳动合同法》第四十六条 · 2012-12-28 版 · 2013-07-01 施行"
    guideline = _Cited(law="流行性感冒诊疗方案（2025年版）", section="四、临床表现 > （一）临床表现",
                       version="2025-01-01", effective_date="2025-01-01")  # fmt: skip
    assert (
        citation_title(guideline)
        == "《流行性感冒诊疗方案（2025年版）》四、临床表现 > （一）临床表现 · 2025-01-01 版"
    )


def test_held_refused_and_unsure_messages() -> None:
    held = answer_markdown(_answered(status="under_review", points=[], citations=[], standalone_question=""))
    assert (
        held.startswith("〔审核中〕 该回答已提交人工审核") and "a" * 32 in held and "Under review" not in held
    )
    refused = answer_markdown(_answered(status="refused", message="无法回答该问题。", standalone_question=""))
    assert refused.startswith("〔无法回答〕 无法回答该问题。")
    unsure = _answered(
        routing=RoutingInfo(source="routed", confidence=0.63, unsure=True, alternatives=["medical"])
    )
    assert route_note(unsure) == "领域：法律（自动判断，把握 63%，不太确定）"


def test_md_escape_keeps_statute_text_literal() -> None:
    assert md_escape("第*一*条\n1. 甲\n<b>") == "第\\*一\\*条\n1\\. 甲\n\\<b\\>"


def test_notices_and_a_refusal_citing_the_law() -> None:
    from safety.types import Notice

    first = Notice(name="red_flag", message="胸痛伴呼吸困难，请立即拨打 120。", position="first")
    last = Notice(name="consult", message="具体用药请咨询医生。", position="last")
    answered = _answered(domain="medical", notices=[first, last])
    text = answer_markdown(answered)
    assert text.startswith("胸痛伴呼吸困难，请立即拨打 120。")
    assert text.index("具体用药请咨询医生。") > text.index("【依据】")
    refused = _answered(status="refused", message="该请求违法，无法回答。", standalone_question="")
    main, *cites = answer_messages(refused)
    assert main["content"].startswith("〔无法回答〕 该请求违法") and "【依据】" in main["content"]
    assert [c["metadata"]["title"] for c in cites] == ["《劳动合同法》第四十六条 · 2012-12-28 版"]
