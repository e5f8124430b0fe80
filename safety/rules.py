"""Safety rules: small objects behind one narrow protocol, registered by kind in one dict.

A policy file lists which rule kinds it enables (`rules:`); each kind's factory turns the validated policy
config into rule objects. Built-ins go through the same registry an extension would
(`register_rule_kind("my_rule", factory)`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from knowledge.types import Passage
from safety.pii import contains_pii
from safety.types import Answer, Question, Verdict

if TYPE_CHECKING:  # only for type hints; policy imports this module at run time
    from safety.policy import InterceptGroup, PolicyConfig, RefusalCategory

ALLOW = Verdict(action="allow")
_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
_NON_WORD = re.compile(r"[\W_]+")
# Traditional → simplified for the characters the policies' patterns use, so "怎麼製作炸彈" cannot slip past
# patterns written in simplified Chinese. (A full converter would be a new dependency for little gain.)
_TRAD = (
    "麼么製制彈弹藥药槍枪殺杀買买賣卖錢钱詐诈騙骗偽伪僞伪證证據据處处幫帮搶抢們们這这會会為为個个沒没說说讓让"
    "給给開开門门樣样條条術术傷伤體体劑剂醫医療疗診诊斷断寫写詩诗聽听號号碼码與与對对發发現现將将學学應应"
    "關关間间動动國国無无種种從从過过進进還还點点後后實实權权機机險险萬万煉炼純纯錄录竊窃監监蹤踪裝装車车"
    "軌轨跡迹帳账盜盗隱隐轉转債债執执審审劃划辦办絕绝產产臟脏腎肾級级結结見见歲岁懷怀墮堕鑑鉴鑒鉴別别嗎吗"
    "氣气樂乐搖摇頭头鹼碱遺遗囑嘱鐵铁護护輕轻盡尽難难憂忧鬱郁癥症書书師师詢询讀读刪删電电話话麗丽殘残憑凭"
    "訴诉訟讼財财稅税貸贷詞词劇剧腳脚廣广綁绑撲扑熱热針针濟济嬰婴兒儿辭辞蘇苏麥麦黃黄鎮镇靜静鴉鸦張张範范"
    "雖虽錯错誤误識识別别網网絡络資资訊讯軟软件件數数據据庫库統统計计據据價价費费買买貨货單单據据紙纸筆笔"
    "員员職职業业勞劳務务廠厂礦矿場场區区縣县鄉乡鎮镇廳厅衛卫環环境境農农業业園园漁渔礙碍殘残疾疾聯联係系"
    "親亲屬属婦妇孫孙爺爷媽妈愛爱婚婚離离養养撫抚贍赡務务繼继承承遺遗囑嘱產产權权債债償偿賠赔償偿損损傷伤"
    "違违規规罰罚訴诉訟讼審审判判決决裁裁執执行行檢检察察偵侦查查監监獄狱罪罪犯犯嫌嫌疑疑辯辩護护律律師师"
    "條条款款項项則则規规範范條条例例憲宪經经濟济稅税務务銀银險险證证券券貿贸易易運运輸输郵邮電电訊讯廣广"
    "滅灭災灾爆爆炸炸雷雷管管燒烧燃燃瓶瓶噴喷霧雾劍剑彎弯鋼钢鐵铁鋁铝銅铜組组裝装改改造造焊焊鑄铸"
    "紅红綠绿藍蓝麵面飯饭湯汤飲饮餵喂醫医藥药處处方方劑剂量量癒愈瘡疮瘍疡腫肿瘤瘤癌癌膽胆腸肠腦脑臟脏"
    "嘔呕吐吐瀉泻燒烧發发熱热頭头痛痛咳咳嗽嗽喉喉嚨咙鼻鼻塞塞痠酸膚肤癢痒腎肾臟脏脈脉壓压糖糖尿尿"
    "療疗癒愈養养護护檢检驗验測测診诊斷断術术復复發发傳传染染毒毒疫疫苗苗預预防防殺杀菌菌"
    "懼惧慮虑煩烦悶闷憂忧傷伤絕绝望望輕轻生生盡尽殺杀跳跳樓楼割割腕腕吊吊燒烧炭炭"
    "這这那那誰谁麼么嗎吗呢呢吧吧啊啊還还沒没讓让給给會会將将能能該该須须應应當当與与及及或或"
    "麼么麽么裡里裏里隻只祇只乾干幹干亂乱憑凭緊紧鬆松穩稳韓韩寶宝貝贝賭赌錄录燈灯礎础處处"
)
_TRAD_MAP = str.maketrans(
    {_TRAD[i]: _TRAD[i + 1] for i in range(0, len(_TRAD) - 1, 2) if _TRAD[i] != _TRAD[i + 1]}
)


@runtime_checkable
class SafetyRule(Protocol):
    """One rule: looks at the question (before retrieval) and at the answer (before it is shown)."""

    name: str

    def check_input(self, q: Question) -> Verdict: ...

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict: ...


def normalize_forms(text: str) -> tuple[str, str]:
    """Two views of `text` that patterns are matched against.

    `spaced`: NFKC (full-width → half-width), lower case, zero-width characters removed, whitespace collapsed.
    `compact`: the same with every space and punctuation mark removed, so "炸 药" / "炸*药" still match 炸药.
    """
    s = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text or "")).lower().translate(_TRAD_MAP)
    spaced = " ".join(s.split())
    return spaced, _NON_WORD.sub("", spaced)


@dataclass
class CompiledPatterns:
    """Regexes with an optional `unless` list checked in a window around each match.

    The window check (rather than the whole text) keeps "如何防范诈骗" allowed without letting an
    unrelated benign word elsewhere in the question excuse a harmful request.
    """

    patterns: list[re.Pattern[str]]
    unless: list[re.Pattern[str]] = field(default_factory=list)
    window: int = 12

    def first_match(self, text: str) -> str | None:
        """The first matched snippet in either normalised form of `text` not excused by `unless`."""
        for form in normalize_forms(text):
            for pat in self.patterns:
                for m in pat.finditer(form):
                    lo, hi = max(0, m.start() - self.window), min(len(form), m.end() + self.window)
                    ctx = form[lo:hi]
                    if any(u.search(ctx) for u in self.unless):
                        continue
                    return m.group(0)
        return None


def compile_patterns(patterns: Sequence[str]) -> list[re.Pattern[str]]:
    """Compile regexes case-insensitively (validated earlier by the policy loader)."""
    return [re.compile(p, re.IGNORECASE) for p in patterns]


class RefusalRule:
    """Refuses questions matching a refusal category (`refuse.<category>`)."""

    def __init__(self, cat: RefusalCategory) -> None:
        self.cat = cat
        self.name = f"refuse.{cat.name}"
        self.soft = CompiledPatterns(
            compile_patterns(cat.patterns), compile_patterns(cat.unless), cat.unless_window
        )
        self.hard = CompiledPatterns(compile_patterns(cat.hard_patterns))

    def check_input(self, q: Question) -> Verdict:
        hit = self.hard.first_match(q.text) or self.soft.first_match(q.text)
        if hit is None:
            return ALLOW
        return Verdict(
            action="refuse",
            rule=self.name,
            category=self.cat.name,
            message=self.cat.message.strip(),
            details={"match": hit},
        )

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        return ALLOW


def answer_text(a: Answer) -> str:
    """What the generator asserted: category, key points and — when nothing was parsed — the raw text."""
    parts = [a.category, *a.points]
    if not a.points:
        parts.append(a.raw)
    return "\n".join(p for p in parts if p)


class InterceptRule:
    """Holds an answer for human review when it contains a keyword group (`intercept.<group>`)."""

    def __init__(self, group: InterceptGroup, review_message: str) -> None:
        self.group = group
        self.name = f"intercept.{group.name}"
        self.any = CompiledPatterns(
            compile_patterns(group.patterns), compile_patterns(group.unless), group.unless_window
        )
        self.all = [CompiledPatterns([p]) for p in compile_patterns(group.require_all)]
        self.review_message = review_message

    def check_input(self, q: Question) -> Verdict:
        return ALLOW

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        text = answer_text(a)
        hit = self.any.first_match(text) if self.group.patterns else ""
        if hit is None or any(c.first_match(text) is None for c in self.all):
            return ALLOW
        return Verdict(
            action=self.group.action,
            rule=self.name,
            category=self.group.name,
            message=(self.group.message or self.review_message).strip(),
            details={"match": hit or ""},
        )


class InjectionRule:
    """Prompt injection is a signal, never configuration.

    In a question it is recorded (`flag.prompt_injection`) and the answer is held for review; inside a
    retrieved passage it holds the answer too. Nothing here can switch another rule off: every rule runs on
    every turn regardless of what the text says.
    """

    name = "intercept.prompt_injection"

    def __init__(self, patterns: Sequence[str], review_message: str, hold: bool = True) -> None:
        self.matcher = CompiledPatterns(compile_patterns(patterns))
        self.review_message = review_message
        self.hold = hold

    def detect(self, text: str) -> str | None:
        """The injection phrase found in `text`, if any."""
        return self.matcher.first_match(text)

    def check_input(self, q: Question) -> Verdict:
        hit = self.detect(q.text)
        if hit is None:
            return ALLOW
        return Verdict(
            action="flag", rule="flag.prompt_injection", category="prompt_injection", details={"match": hit}
        )

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        if not self.hold:
            return ALLOW
        hit = self.detect(q.text)
        where = "question"
        if hit is None:
            for p in passages:
                hit = self.detect(p.text)
                if hit is not None:
                    where = f"passage:{p.id}"
                    break
        if hit is None:
            hit = self.detect(answer_text(a))
            where = "answer"
        if hit is None:
            return ALLOW
        return Verdict(
            action="flag",
            rule=self.name,
            category="prompt_injection",
            message=self.review_message,
            details={"match": hit, "where": where},
        )


class DisclaimerRule:
    """Asks for the domain disclaimer (`amend.disclaimer`) when the answer lacks it verbatim."""

    name = "amend.disclaimer"

    def __init__(self, disclaimer: str) -> None:
        self.disclaimer = disclaimer

    def check_input(self, q: Question) -> Verdict:
        return ALLOW

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        if self.disclaimer and a.disclaimer.strip() != self.disclaimer.strip():
            return Verdict(
                action="amend", rule=self.name, category="disclaimer", details={"disclaimer": self.disclaimer}
            )
        return ALLOW


class PiiOutputRule:
    """Holds answers that would show an ID-card or mobile number (`intercept.pii_in_answer`)."""

    name = "intercept.pii_in_answer"

    def __init__(self, review_message: str) -> None:
        self.review_message = review_message

    def check_input(self, q: Question) -> Verdict:
        return ALLOW

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        if contains_pii(answer_text(a)):
            return Verdict(action="flag", rule=self.name, category="pii", message=self.review_message)
        return ALLOW


class CitationRule:
    """Defence in depth: a citation whose text is not verbatim from a retrieved passage holds the answer."""

    name = "intercept.unverified_citation"

    def __init__(self, review_message: str) -> None:
        self.review_message = review_message

    def check_input(self, q: Question) -> Verdict:
        return ALLOW

    def check_output(self, q: Question, a: Answer, passages: Sequence[Passage]) -> Verdict:
        by_id = {p.id: p for p in passages}
        bad = [
            c.law + (c.article_label or "")
            for c in a.citations
            if c.passage_id not in by_id or by_id[c.passage_id].text != c.text
        ]
        if not bad:
            return ALLOW
        return Verdict(
            action="flag",
            rule=self.name,
            category="citation",
            message=self.review_message,
            details={"citations": bad},
        )


RuleFactory = Callable[["PolicyConfig"], list[SafetyRule]]


def _refusal(cfg: PolicyConfig) -> list[SafetyRule]:
    cats = sorted((c for c in cfg.refusal_categories if c.enabled), key=lambda c: c.priority)
    return [RefusalRule(c) for c in cats]


def _intercept(cfg: PolicyConfig) -> list[SafetyRule]:
    return [InterceptRule(g, cfg.review_message) for g in cfg.intercepts if g.enabled]


def _injection(cfg: PolicyConfig) -> list[SafetyRule]:
    return [InjectionRule(cfg.injection.patterns, cfg.review_message, cfg.injection.hold_for_review)]


def _disclaimer(cfg: PolicyConfig) -> list[SafetyRule]:
    return [DisclaimerRule(cfg.disclaimer)]


def _pii_output(cfg: PolicyConfig) -> list[SafetyRule]:
    return [PiiOutputRule(cfg.review_message)]


def _citations(cfg: PolicyConfig) -> list[SafetyRule]:
    return [CitationRule(cfg.review_message)]


RULE_KINDS: dict[str, RuleFactory] = {
    "refusal": _refusal,
    "injection": _injection,
    "intercept": _intercept,
    "pii_output": _pii_output,
    "citations": _citations,
    "disclaimer": _disclaimer,
}


def register_rule_kind(kind: str, factory: RuleFactory) -> None:
    """Make a new rule kind available to policy files (`rules: [..., kind]`)."""
    RULE_KINDS[kind] = factory
