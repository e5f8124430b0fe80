"""What the staff screens (review, knowledge) share: Chinese labels, local times, errors in Chinese.

Presentation only: the words a reviewer or curator reads for domains, review states and failures.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assistant.api.services import DOMAIN_ALIASES

log = logging.getLogger("yiju.ui")

# One vocabulary with the chat's domain switch (自动/法律/医疗): the labels are the services' aliases.
DOMAIN_LABELS: dict[str, str] = {name: label for label, name in DOMAIN_ALIASES.items() if label}
ALL = "全部"
STATE_LABELS = {"pending": "待审核", "approved": "已通过", "edited": "已修改", "rejected": "已驳回"}
DECISION_LABELS = {"approve": "通过", "edit": "修改后发布", "reject": "驳回"}
RATING_LABELS = {"up": "有帮助", "down": "没帮助"}  # text: the wqy fonts draw emoji as boxes
ROLE_LABELS = {"reviewer": "审核员", "curator": "知识库管理员", "admin": "管理员", "clinic": "机构"}


def domain_label(name: str | None) -> str:
    """法律 / 医疗 for a domain name (another domain keeps its name)."""
    return DOMAIN_LABELS.get(name or "", name or "")


def domain_name(label: str | None) -> str | None:
    """The domain name for a label chosen on a screen; None for 全部 / empty."""
    if not label or label == ALL:
        return None
    return DOMAIN_ALIASES.get(label, label)


def zone(tz_name: str | None) -> Any:
    """The browser's time zone (IANA name sent by the page); the server's local zone when unknown."""
    if tz_name:
        try:
            return ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return datetime.now().astimezone().tzinfo


def local_time(value: str | datetime | None, tz_name: str | None = None, *, seconds: bool = False) -> str:
    """A stored UTC time as the reader's local time: 2026-11-30 21:05 (empty for none)."""
    if not value:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(zone(tz_name)).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def preview(text: str | None, n: int = 40) -> str:
    """The first `n` characters of a text on one line."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


def staff_error(exc: BaseException, role: str = "") -> str:
    """A failure as a staff member should read it, in Chinese (never a traceback)."""
    from assistant.api.errors import AccessDenied
    from safety.audit import ReviewConflict, ReviewNotFound

    if isinstance(exc, AccessDenied):
        need = ROLE_LABELS.get(role, role)
        reason = getattr(exc, "reason", "")
        if reason == "missing":
            return f"〔失败〕请先输入{need}密钥。"
        if reason == "role":
            return f"〔失败〕该密钥没有此权限（需要{need}密钥）。"
        return "〔失败〕密钥无效或已被吊销。"
    if isinstance(exc, ReviewConflict):
        return "〔失败〕该条已由其他审核人处理，请刷新队列。"
    if isinstance(exc, ReviewNotFound):
        return "〔失败〕该条不在审核队列中。"
    if type(exc).__name__ == "SelfReview":
        return "〔失败〕不能审核自己提出的问题，请由其他审核人处理。"
    if type(exc).__name__ == "StoreUnavailable":
        return "〔失败〕知识库暂时无法访问，请稍后再试。"
    from knowledge.errors import KnowledgeError

    if isinstance(exc, ValueError | LookupError | KnowledgeError) or type(exc).__name__ == "UploadRejected":
        return f"〔失败〕{exc}"
    log.error("staff screen action failed", exc_info=exc)
    return "〔失败〕操作未完成，请稍后再试（详情见服务器日志）。"
