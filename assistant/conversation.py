"""Conversations: follow-up detection and a standalone rewrite of each question, deterministic (no LLM).

A follow-up such as 「那如果血压已经正常了呢？」 means nothing to retrieval on its own. This module decides
whether a new question continues the conversation and, if so, writes the question retrieval should see:

    高血压可以停药吗？            + 那如果血压已经正常了呢？   → 高血压，如果血压已经正常了，可以停药吗？
    公司拖欠工资，劳动者可以解除劳动合同吗？ + 那可以要求经济补偿吗？ → 公司拖欠工资，劳动者解除劳动合同，可以要求经济补偿吗？
    高血压可以停药吗？            + 平时饮食要注意什么？       → 高血压，平时饮食要注意什么？

How (Chinese question grammar, not a model):
- a question is split at its first modal or question word (可以/能/要/怎么/是否/多少…) into a *subject*
  (高血压; 公司拖欠工资，劳动者) and a *predicate* (可以停药吗; 可以解除劳动合同吗); the predicate's object without
  the modal (解除劳动合同) completes the *situation*;
- 那/那么 ("in that case") carries the whole previous situation; a question with no topic of its own carries
  the subject; 「如果X呢」/「X了呢」 (a new condition, no predicate) is asked with the previous predicate;
  「那X呢」 swaps X for the previous topic word of the same category (高血压 → 糖尿病); 它/这种情况 are replaced;
- a question that names its own topic (no marker, a topic keyword) starts a new topic, as does one the router
  places confidently in another domain.

The domain carries over with the topic; a new topic is routed, and an unsure route stays in the conversation's
domain. Everything here is pure: the pipeline passes the history (from the chat screen, the OpenAI messages,
or the audit trail by conversation id) and records the result.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.domains import DomainSpec
from assistant.routing import RouteDecision, keyword_hits, route

log = logging.getLogger(__name__)

# How many earlier turns are considered (older context is already folded into their standalone questions).
MAX_HISTORY = 10
MAX_STANDALONE_CHARS = 300
CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

# Markers that make a question lean on the previous one, longest first.
_CONSEQUENCE = ("那如果", "那要是", "那假如", "那万一", "那么", "那")  # "in that case …"
_CONDITION = ("如果", "要是", "假如", "万一", "若是")
_CONTINUE = ("还有", "另外", "此外", "同时", "还", "再", "也")
_SITUATION_REFS = (
    "这种情况下",
    "这种情况",
    "这个情况",
    "这样的话",
    "这样",
    "那样的话",
    "上述情况",
    "刚才说的",
)
_THING_REFS = ("这个药", "这种药", "这个病", "这种病", "这个", "这种", "它", "该")
_TRAILING = re.compile(r"[\s？?！!。.，,、；;：:~～…]+$")
_ENDING_NE = re.compile(r"(的话)?呢$")
# A fragment holding one of these is a clause (公司不承认, 已经正常) rather than a bare noun (西瓜, 周末).
_CLAUSE_MARKS = ("不", "没", "已经", "已", "是", "有", "被", "在")
_PRONOUN_TAIL = re.compile(r"[，,]?(?:我们|我|你|他|她)$")
_CONDITION_CLAUSE = re.compile(r"[，,](?:如果|要是|假如|万一|若是)[^，,]*")
# Where the predicate of a question starts (modal verbs and question words), longest first.
_PREDICATE = re.compile(
    r"(可不可以|可以|能不能|能否|不能|能|会不会|会|要不要|需不需要|需要|要|应不应该|应该|该不该|是否|是不是|"
    r"怎么办|怎么|怎样|如何|为什么|有没有|有什么|有哪些|有何|哪些|哪里|什么|多少|多久|多长|几)"
)
_MODALS = re.compile(
    r"^(可不可以|可以|能不能|能否|能|会不会|会|要不要|需不需要|需要|要|应不应该|应该|该不该|是否|是不是)+"
)
_HOW = re.compile(r"^(怎么样|怎么|怎样|如何|为什么|为何)")
_QUESTION_TAIL = re.compile(r"(吗|呢|吧|么|嘛|怎么办|怎么样|如何|是什么|有哪些|有什么)$")
# Words that ask something but name no topic: a question made only of these continues the conversation.
_GENERIC = {
    "治疗", "症状", "药", "用药", "吃药", "服药", "饮食", "吃什么", "注意", "副作用", "剂量", "疼", "痛", "医生",
    "医院", "补偿", "赔偿", "索赔", "起诉", "合法", "违法", "犯法", "投诉", "处罚", "罚款", "仲裁", "律师", "法律",
    "法规", "诉讼", "维权", "刑", "事故", "公司", "单位", "老板",
}  # fmt: skip

DomainSource = Literal["requested", "carried", "routed", "default"]


def new_conversation_id() -> str:
    """A fresh random conversation id (URL-safe, 22 characters)."""
    return secrets.token_urlsafe(16)


def valid_conversation_id(value: str) -> bool:
    """Conversation ids are 8–64 characters of letters, digits, '-' and '_'."""
    return bool(CONVERSATION_ID.match(value or ""))


class PriorTurn(BaseModel):
    """One earlier turn of a conversation, as the rewrite needs it."""

    question: str
    standalone: str = Field(default="", description="How it was understood (empty = the question itself)")
    domain: str = ""
    turn_id: str | None = None

    @property
    def understood(self) -> str:
        return self.standalone or self.question


class Resolution(BaseModel):
    """A question resolved against its conversation: what retrieval should see, and in which domain."""

    question: str
    standalone: str
    follow_up: bool = False
    domain: str
    domain_source: DomainSource
    route: RouteDecision | None = None
    reason: str = Field(default="", description="Why it was (not) treated as a follow-up")

    @property
    def rewritten(self) -> bool:
        return self.standalone != self.question

    def info(self) -> RoutingInfo:
        """What callers are told about the domain choice (API field `routing`)."""
        unsure = self.route is not None and self.domain_source in ("routed", "default") and self.route.unsure
        return RoutingInfo(
            source=self.domain_source,
            confidence=self.route.confidence
            if self.route is not None and self.domain_source != "carried"
            else None,
            unsure=unsure,
            alternatives=[d for d in (self.route.alternatives() if self.route else []) if d != self.domain],
            follow_up=self.follow_up,
            reason=self.reason,
        )


class RoutingInfo(BaseModel):
    """How the domain of a turn was chosen (returned with every answer)."""

    source: DomainSource = Field(
        description="requested: the caller chose it; routed: the router; carried: the conversation's; "
        "default: no evidence"
    )
    confidence: float | None = Field(default=None, description="The router's probability when it chose")
    unsure: bool = Field(default=False, description="Say which domain was chosen and offer the alternatives")
    alternatives: list[str] = Field(default_factory=list, description="Other domains, most likely first")
    follow_up: bool = Field(default=False, description="Resolved against the conversation")
    reason: str = ""


# ---------------------------------------------------------------------- question grammar
def _strip_tail(text: str) -> str:
    return _TRAILING.sub("", text.strip())


def split_question(text: str) -> tuple[str, str]:
    """(subject, predicate) at the first modal/question word: 高血压可以停药吗 → (高血压, 可以停药吗)."""
    body = _strip_tail(text)
    m = _PREDICATE.search(body)
    if m is None:
        return body, ""
    return body[: m.start()].rstrip("，,、 "), body[m.start() :]


def situation(text: str) -> str:
    """A question as a statement of its situation: subject + the predicate's object, no modal or question words.

    公司拖欠工资，劳动者可以解除劳动合同吗 → 公司拖欠工资，劳动者解除劳动合同; 孩子发烧怎么办 → 孩子发烧."""
    subject, predicate = split_question(text)
    obj = _HOW.sub("", _MODALS.sub("", _QUESTION_TAIL.sub("", predicate))).strip("，, ")
    inner = _PREDICATE.search(obj)
    if inner:  # 多少/什么… left inside: keep what comes before it when that says anything
        obj = obj[: inner.start()] if inner.start() >= 2 else ""
    if len(obj) < 2:  # 算: a bare verb adds nothing to the situation
        obj = ""
    if not obj:
        return _QUESTION_TAIL.sub("", subject) or _strip_tail(text)
    joiner = "，" if subject.endswith(("了", "，")) else ""
    return f"{subject}{joiner}{obj}".strip("，")


def _strip_markers(text: str, markers: Sequence[str]) -> tuple[str, str]:
    for marker in markers:
        if text.startswith(marker) and len(text) > len(marker):
            return marker, text[len(marker) :].lstrip("，, ")
    return "", text


def _all_keywords(domains: Mapping[str, DomainSpec]) -> set[str]:
    return {w for spec in domains.values() for w in spec.routing_keywords if w}


def topic_words(text: str, domains: Mapping[str, DomainSpec]) -> list[str]:
    """The domain keywords in `text` that name a topic (not the generic ones such as 治疗, 赔偿)."""
    return [w for w in keyword_hits(text, _all_keywords(domains)) if w not in _GENERIC]


def _same_category_word(new: str, old_text: str, domains: Mapping[str, DomainSpec]) -> str | None:
    """The word of `old_text` that `new` replaces (same category in some domain: 社保 ↔ 公积金), if any."""
    for spec in domains.values():
        for cat in spec.categories:
            words = set(cat.keywords)
            if any(w in new for w in words):
                found = [w for w in keyword_hits(old_text, words) if w not in new]
                if found:
                    return found[0]
    return None


# ---------------------------------------------------------------------- the rewrite
def rewrite(question: str, previous: str, domains: Mapping[str, DomainSpec]) -> tuple[str | None, str]:
    """(standalone question or None when `question` stands alone, reason)."""
    body = _strip_tail(question)
    subject, predicate = split_question(previous)
    prev_situation = situation(previous)

    consequence, rest = _strip_markers(body, _CONSEQUENCE)
    condition, rest = _strip_markers(rest, _CONDITION)
    if consequence[1:] in _CONDITION:  # 那如果 = 那 + 如果
        consequence, condition = "那", consequence[1:]
    cont, rest = ("", rest) if consequence or condition else _strip_markers(rest, _CONTINUE)
    asks_ne = bool(_ENDING_NE.search(rest))
    fragment = _ENDING_NE.sub("", rest).strip("，, ")
    own_predicate = bool(_PREDICATE.search(fragment)) or bool(_QUESTION_TAIL.search(fragment))
    own_topics = topic_words(fragment, domains)

    # 这种情况/这样 → the previous situation; 它/这个药 → the previous subject.
    for ref in _SITUATION_REFS:
        if ref in fragment:
            return _finish(
                fragment.replace(
                    ref, f"{prev_situation}的情况下" if ref.endswith("下") else prev_situation, 1
                )
            ), (f"「{ref}」指上一问的情形")
    for ref in _THING_REFS:
        if fragment.startswith(ref) and subject:
            return _finish(subject + fragment[len(ref) :]), f"「{ref}」指上一问的「{subject}」"

    if not own_predicate and (asks_ne or condition or fragment.endswith("了")):
        # No question of its own: a new condition (如果血压已经正常了, 没有借条) or a swapped topic (那糖尿病呢),
        # asked with the previous question.
        is_clause = bool(condition) or fragment.endswith("了") or any(m in fragment for m in _CLAUSE_MARKS)
        if is_clause and predicate:
            cond = f"{condition or '如果'}{fragment}"
            return _finish(f"{subject}，{cond}，{predicate}"), "新的条件，沿用上一问的问题"
        if not is_clause:
            replaced = _same_category_word(fragment, previous, domains)
            if replaced:
                return _finish(_strip_tail(previous).replace(replaced, fragment, 1)), (
                    f"「{fragment}」替换「{replaced}」"
                )
        # Cannot merge safely: the previous question, then this one (retrieval sees both).
        return _finish(f"{_strip_tail(previous)}？那{condition}{fragment}呢"), "追问，接在上一问之后"
    if consequence:
        return _finish(f"{prev_situation}，{fragment}"), f"「{consequence}」承接上一问的情形"
    if cont or condition:
        return _finish(f"{subject or prev_situation}，{condition}{fragment}"), "承接上一问的话题"
    new_topics = [w for w in own_topics if w not in previous]
    own_subject, _ = split_question(fragment)
    if not new_topics or (not own_subject and len(fragment) <= 6):
        # Asks something (饮食要注意什么, 经济补偿怎么算, 会过敏吗) without naming a topic the conversation has
        # not had: the conversation's topic — its subject when that names one, without the conditions an
        # earlier follow-up added (高血压，如果血压已经正常了 → 高血压), else the whole situation (医生在两家医院执业).
        topic = _PRONOUN_TAIL.sub("", _CONDITION_CLAUSE.sub("", subject)) if subject else ""
        if not topic_words(topic, domains):
            topic = prev_situation
        return _finish(f"{topic}，{fragment}"), "没有新的话题，沿用上一问的话题"
    return None, "问题自带话题，作为新问题"


def _finish(text: str) -> str:
    text = re.sub(r"[，,]{2,}", "，", text).strip("，, ")
    if len(text) > MAX_STANDALONE_CHARS:
        text = text[-MAX_STANDALONE_CHARS:]
    return text + "？"


def resolve(
    question: str,
    history: Sequence[PriorTurn],
    domains: Mapping[str, DomainSpec],
    *,
    requested: str | None = None,
    default: str | None = None,
) -> Resolution:
    """Resolve `question` against the conversation so far.

    `requested`: a domain the user chose (None/"auto" = route). `history`: earlier turns, oldest first.
    """
    requested = None if requested in (None, "", "auto") else requested
    history = [t for t in history if t.question.strip()][-MAX_HISTORY:]
    own = route(question, domains, default)
    if not history or not question.strip():
        return _resolution(question, question, False, own, requested, default, "对话的第一个问题")
    last = history[-1]
    standalone, reason = rewrite(question, last.understood, domains)
    conv_domain = last.domain if last.domain in domains else None
    if standalone is not None and conv_domain and requested is None:
        # A marker does not keep a question that clearly belongs elsewhere (那公司不给报销怎么办 after a
        # medical question is a labour question).
        if own.domain != conv_domain and own.confidence >= 0.9 and topic_words(question, domains):
            return _resolution(
                question, question, False, own, None, default, "问题明显属于另一领域，作为新问题"
            )
    if standalone is None:
        if requested is None and conv_domain and own.unsure:
            # Unsure where a new question belongs: the conversation is evidence too.
            return Resolution(
                question=question,
                standalone=question,
                domain=conv_domain,
                domain_source="carried",
                route=own,
                reason=reason + "；领域不确定，沿用对话的领域",
            )
        return _resolution(question, question, False, own, requested, default, reason)
    if requested is not None:
        return Resolution(
            question=question,
            standalone=standalone,
            follow_up=True,
            domain=requested,
            domain_source="requested",
            route=None,
            reason=reason,
        )
    if conv_domain:
        return Resolution(
            question=question,
            standalone=standalone,
            follow_up=True,
            domain=conv_domain,
            domain_source="carried",
            route=None,
            reason=reason,
        )
    rerouted = route(standalone, domains, default)
    return _resolution(question, standalone, True, rerouted, None, default, reason)


def _resolution(
    question: str,
    standalone: str,
    follow_up: bool,
    decision: RouteDecision,
    requested: str | None,
    default: str | None,
    reason: str,
) -> Resolution:
    if requested is not None:
        return Resolution(
            question=question,
            standalone=standalone,
            follow_up=follow_up,
            domain=requested,
            domain_source="requested",
            reason=reason,
        )
    return Resolution(
        question=question,
        standalone=standalone,
        follow_up=follow_up,
        domain=decision.domain,
        domain_source="default" if decision.fallback else "routed",
        route=decision,
        reason=reason,
    )


def history_from_messages(
    messages: Sequence[tuple[str, str]],
    domains: Mapping[str, DomainSpec],
    requested: str | None = None,
    default: str | None = None,
) -> list[PriorTurn]:
    """Replay earlier user messages ((role, text) pairs, oldest first) into resolved prior turns.

    Used for the OpenAI-compatible endpoint, whose clients send the whole conversation each time: the
    replay is deterministic, so it reproduces what each earlier turn was understood as."""
    history: list[PriorTurn] = []
    for role, text in messages:
        if role != "user" or not text.strip():
            continue
        r = resolve(text, history, domains, requested=requested, default=default)
        history.append(PriorTurn(question=text, standalone=r.standalone, domain=r.domain))
    return history


def history_from_audit(audit: Any, conversation_id: str) -> list[PriorTurn]:
    """A conversation's audited turns, oldest first ([] for an invalid id or a store without conversations).

    The audit trail is the conversation's memory for the HTTP API: clients send only the id."""
    reader = getattr(audit, "conversation_turns", None)
    if reader is None or not valid_conversation_id(conversation_id):
        return []
    try:
        rows = reader(conversation_id, MAX_HISTORY)
    except Exception:  # noqa: BLE001 - a lost context is a weaker answer, not a failed turn
        log.warning("conversation %s: history unreadable", conversation_id, exc_info=True)
        return []
    return [
        PriorTurn(
            question=r.get("question", ""),
            standalone=r.get("standalone_question", ""),
            domain=r.get("domain", ""),
            turn_id=r.get("turn_id"),
        )
        for r in rows
    ]
