"""Knowledge screen (curator key), in Chinese: what is in the knowledge base and changing it.

A table of laws and guidelines — one row per version/edition: kind, version, effective date, article count,
domains, origin (official / local upload), status — with name search (with or without 《》 and
中华人民共和国) and filters. Click a row to select it; removing one version or the whole law asks for
confirmation first. Upload + import (with progress), article look-up, full-text search, a law's domains.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from assistant.api.auth import authorize
from assistant.api.ui_guard import received_file
from assistant.grounding import short_law_name
from ui.staff import ALL, DOMAIN_LABELS, domain_label, domain_name, staff_error
from ui.staff_view import ORIGIN_LABELS, notice_html, passage_view_html

LAW_HEADERS = ["名称", "类型", "版本", "施行日期", "条文数", "领域", "来源", "状态"]
KINDS = ["宪法", "法律", "行政法规", "司法解释", "部门规章", "地方性法规", "指南", "其他"]
STATUS_LABELS = {"current": "现行（使用中）", "superseded": "旧版", "future": "尚未施行", "local": "本地副本"}
# The chat's vocabulary on screen (自动 = decided per document); the domain name is the value sent.
IMPORT_DOMAINS = [(DOMAIN_LABELS[name], name) for name in ("auto", "legal", "medical")]
# Runs in the browser: opens (or, for an empty field, closes) the screen's upload session with the key —
# Gradio's upload route needs the key too (service, issue 14): the browser exchanges it for an HttpOnly cookie.
SESSION_JS = """
async (key) => {
  const k = (key || "").trim();
  if (!k) {
    await fetch("ui/session", {method: "DELETE", credentials: "same-origin"});
    return "";
  }
  const r = await fetch("ui/session", {
    method: "POST", credentials: "same-origin", headers: {"Authorization": "Bearer " + k}
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) return "〔未验证〕密钥无效或已被吊销。";
  return body.uploads
    ? "〔已验证〕" + body.name + "：可以上传文件"
    : "〔已验证〕" + body.name + "：此密钥不能上传（需要知识库管理员密钥）";
}
"""  # the chat's vocabulary (自动 = decided per document)


def _version_rows(info: Any) -> list[dict[str, Any]]:
    """One dict per stored version/edition of a law (ingest's `LawInfo.details`, newest first)."""
    return [
        {
            "version": d.version,
            "effective_date": d.effective_date,
            "articles": d.articles,
            "origin": d.origin,
            "status": d.status,
        }
        for d in info.details
    ]


def law_rows(infos: list[Any]) -> tuple[list[list[Any]], list[tuple[str, str | None, int]]]:
    """The table rows and, for each, what a removal of that row removes: (law, version or None, articles)."""
    rows, targets = [], []
    for info in infos:
        domains = "、".join(domain_label(d) for d in (getattr(info, "domains", None) or [info.domain]))
        for v in _version_rows(info):
            rows.append(
                [
                    info.law,
                    getattr(info, "kind", "") or "—",
                    v["version"] or "未注明",
                    v["effective_date"] or "—",
                    v["articles"],
                    domains,
                    ORIGIN_LABELS.get(v["origin"], v["origin"]),
                    STATUS_LABELS.get(v["status"], v["status"] or "—"),
                ]
            )
            targets.append((info.law, v["version"], v["articles"]))
    return rows, targets


def _laws(kb: Any, query: str, dom: str, kind: str) -> list[Any]:
    """The knowledge base's laws by name (with or without 《》/中华人民共和国), domain served and kind."""
    return kb.laws(domain_name(dom), query=query or None, kind=None if kind == ALL else kind)


def stats_text(stats: dict[str, Any]) -> str:
    """The knowledge base in one line (no server paths)."""
    by_domain = "，".join(
        f"{domain_label(d)} {n} 条" for d, n in sorted((stats.get("by_domain") or {}).items())
    )
    return f"共 {stats.get('laws', 0)} 部法规/指南，{stats.get('articles', 0)} 条" + (
        f"（{by_domain}）" if by_domain else ""
    )


def import_summary(summary: dict[str, Any]) -> str:
    """An import report in Chinese; each problem names its file (and line)."""
    lines = [
        f"〔已导入〕{summary['files_imported']} 个文件：新增 {summary['articles_added']} 条，"
        f"更新 {summary['articles_updated']} 条，未变 {summary['articles_unchanged']} 条；"
        f"跳过 {summary['files_skipped']} 个文件。"
    ]
    for issue in summary["errors"]:
        where = f"{issue.get('file')} 第 {issue.get('line')} 行" if issue.get("line") else issue.get("file")
        lines.append(f"- 〔问题〕{where}：{issue.get('message')}")
    return "\n".join(lines)


def build_knowledge(services: Any) -> None:
    """Add the knowledge curation screen to the current Blocks."""
    from assistant.api.uploads import ALLOWED_SUFFIXES, import_uploads

    def fail(exc: Exception) -> str:
        return staff_error(exc, "curator")

    with gr.Row():
        key = gr.Textbox(label="知识库管理员密钥", type="password", elem_id="kb-key", scale=3)
        refresh = gr.Button("刷新列表", elem_id="kb-refresh", scale=1)
    key_state = gr.Markdown(elem_id="kb-key-state")
    with gr.Row():
        name_q = gr.Textbox(
            label="按名称查找（可带《》或“中华人民共和国”）", elem_id="kb-filter-name", scale=3
        )
        dom = gr.Dropdown(
            [ALL, *(label for name, label in DOMAIN_LABELS.items() if name != "auto")],
            value=ALL,
            label="领域",
            elem_id="kb-filter-domain",
        )
        kind = gr.Dropdown([ALL, *KINDS], value=ALL, label="类型", elem_id="kb-filter-kind")
    summary = gr.Markdown(elem_id="kb-summary")
    table = gr.Dataframe(
        headers=LAW_HEADERS,
        label="法规与指南（点击一行选中，可删除该版本或整部法规）",
        interactive=False,
        wrap=True,
        max_height=420,
        elem_id="kb-laws",
    )
    targets = gr.State([])
    chosen = gr.State(None)  # [law, version or None, articles] of the clicked row
    with gr.Row():
        chosen_text = gr.Markdown("未选中任何法规。", elem_id="kb-chosen")
        remove_version = gr.Button("删除所选版本", variant="stop", size="sm", elem_id="kb-remove-version")
        remove_law = gr.Button("删除整部法规（全部版本）", variant="stop", size="sm", elem_id="kb-remove-law")
    with gr.Group(visible=False, elem_id="kb-confirm") as confirm_box:
        confirm_text = gr.Markdown(elem_id="kb-confirm-text")
        with gr.Row():
            confirm = gr.Button("确认删除", variant="stop", elem_id="kb-confirm-yes")
            cancel = gr.Button("取消", elem_id="kb-confirm-no")
    pending_removal = gr.State(None)  # [law, version or None, articles] awaiting confirmation
    with gr.Row():
        domains_box = gr.CheckboxGroup(["法律", "医疗"], label="所选法规服务的领域", elem_id="kb-set-domains")
        save_domains = gr.Button("保存领域", size="sm", elem_id="kb-save-domains")
    status = gr.Markdown(elem_id="kb-status")

    with gr.Row():
        with gr.Column():
            files = gr.File(
                label="上传法规或指南（" + " ".join(sorted(ALLOWED_SUFFIXES)) + "）",
                file_count="multiple",
                file_types=sorted(ALLOWED_SUFFIXES),
                elem_id="kb-upload",
            )
            folder = gr.File(label="或上传整个文件夹", file_count="directory", elem_id="kb-upload-folder")
            import_domain = gr.Radio(IMPORT_DOMAINS, value="auto", label="领域", elem_id="kb-domain")
            do_import = gr.Button("导入", variant="primary", elem_id="kb-import")
            report = gr.Markdown(elem_id="kb-report")
        with gr.Column():
            law = gr.Textbox(
                label="法规名称（如：劳动合同法、《中华人民共和国劳动合同法》）", elem_id="kb-law"
            )
            number = gr.Number(label="条号", precision=0, value=1, elem_id="kb-article-no")
            lookup = gr.Button("查看条文", elem_id="kb-lookup")
            article = gr.HTML(elem_id="kb-article")
            query = gr.Textbox(label="全文检索", elem_id="kb-search-q")
            search = gr.Button("检索", elem_id="kb-search")
            results = gr.HTML(elem_id="kb-search-results")

    # ------------------------------------------------------------------ listing
    def load(api_key: str, q: str, dom_label: str, kind_label: str):
        try:
            authorize(services, api_key, "curator", route="ui")
            kb = services.kb()
            rows, found = law_rows(_laws(kb, q, dom_label, kind_label))
            head = stats_text(kb.stats())
            shown = f"；按条件显示 {len(rows)} 行" if q or dom_label != ALL or kind_label != ALL else ""
            return rows, found, head + shown, ""
        except Exception as exc:  # noqa: BLE001 - shown on screen in Chinese
            return [], [], "", fail(exc)

    def reload(api_key: str, q: str, dom_label: str, kind_label: str):
        """The listing after a change (keeps the change's own status message)."""
        rows, found, head, _ = load(api_key, q, dom_label, kind_label)
        return rows, found, head

    def pick(found: list, evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if row is None or not 0 <= row < len(found):
            return None, "未选中任何法规。", gr.skip()
        law_name, version, n = found[row]
        what = f"《{law_name}》" + (
            f" {version or '未注明日期'} 版" if version is not None else "（全部版本）"
        )
        domains = [domain_label(d) for d in _domains_of(law_name)]
        return [law_name, version, n], f"已选中：{what}，{n} 条。", domains

    def _domains_of(law_name: str) -> list[str]:
        try:
            infos = [i for i in services.kb().laws(None) if i.law == law_name]
        except Exception:  # noqa: BLE001
            return []
        return list(getattr(infos[0], "domains", None) or [infos[0].domain]) if infos else []

    # ------------------------------------------------------------------ removing (with confirmation)
    def ask_removal(whole: bool):
        def run(api_key: str, current: list | None):
            try:
                authorize(services, api_key, "curator", route="ui")
            except Exception as exc:  # noqa: BLE001
                return None, gr.Group(visible=False), "", fail(exc)
            if not current:
                return None, gr.Group(visible=False), "", "〔失败〕请先在列表中点击要删除的法规。"
            law_name, version, n = current
            if whole or version is None:
                total = sum(t[2] for t in targets_of(law_name))
                what = f"《{law_name}》的全部版本（共 {total} 条）"
                target = [law_name, None, total]
            else:
                what = f"《{law_name}》 {version or '未注明日期'} 版（{n} 条）"
                target = [law_name, version, n]
            text = f"**确认删除 {what}？** 删除后回答将不再引用这些条文；重新导入原文件可以恢复。"
            return target, gr.Group(visible=True), text, ""

        return run

    def targets_of(law_name: str) -> list[tuple[str, str | None, int]]:
        try:
            return law_rows([i for i in services.kb().laws(None) if i.law == law_name])[1]
        except Exception:  # noqa: BLE001
            return []

    def do_remove(api_key: str, target: list | None):
        try:
            authorize(services, api_key, "curator", route="ui")
            if not target:
                return gr.Group(visible=False), None, "〔失败〕没有待确认的删除。"
            law_name, version, _n = target
            with services.import_lock:
                removed = services.kb().remove(law_name, version)
            what = f"《{law_name}》" + (
                "（全部版本）" if version is None else f" {version or '未注明日期'} 版"
            )
            if not removed:
                return gr.Group(visible=False), None, f"〔失败〕知识库中已没有{what}。"
            return gr.Group(visible=False), None, f"〔已删除〕{what}，共 {removed} 条。"
        except Exception as exc:  # noqa: BLE001
            return gr.Group(visible=False), None, fail(exc)

    def run_save_domains(api_key: str, current: list | None, labels: list[str]):
        try:
            authorize(services, api_key, "curator", route="ui")
            if not current:
                return "〔失败〕请先在列表中点击一部法规。"
            if not labels:
                return "〔失败〕至少选择一个领域。"
            names = [domain_name(label) for label in labels]
            with services.import_lock:
                now = services.kb().set_domains(current[0], ",".join(n for n in names if n))
            return f"〔已保存〕《{current[0]}》服务的领域：{'、'.join(domain_label(d) for d in now)}。"
        except Exception as exc:  # noqa: BLE001
            return fail(exc)

    # ------------------------------------------------------------------ import, look-up, search
    def run_import(
        api_key: str,
        paths: list[str] | None,
        folder_paths: list[str] | None,
        dom: str,
        progress=gr.Progress(),  # noqa: B008 - Gradio's documented way to get a progress bar
    ) -> str:
        try:
            curator = authorize(services, api_key, "curator", route="ui")
            paths = list(paths or []) + list(folder_paths or [])
            if not paths:
                return "〔失败〕请先选择要上传的文件。"
            # Only files this server received are read, never a path the request names; only the bare
            # file name travels on, so the HTTP upload's name checks apply.
            received = [received_file(p) for p in paths]
            payload = [(Path(p).name, path.read_bytes()) for p, path in zip(paths, received, strict=True)]
            for path in received:  # read: the upload is not kept
                path.unlink(missing_ok=True)
            summary = import_uploads(
                services,
                payload,
                domain=dom or "auto",
                on_progress=lambda i, n, name: progress((i, n), desc=f"正在导入 {name}"),
                uploader=curator.name,  # recorded as a local upload by this key, never official text
            )
        except Exception as exc:  # noqa: BLE001
            return fail(exc)
        return import_summary(summary)

    def run_lookup(api_key: str, law_name: str, no: float | None) -> str:
        try:
            authorize(services, api_key, "curator", route="ui")
            name = short_law_name(law_name or "")  # 《中华人民共和国劳动合同法》 → 劳动合同法
            if not name or not no:
                return notice_html("请输入法规名称和条号。")
            found = services.kb().lookup(name, int(no))
            if found is None:
                return notice_html(f"没有找到《{name}》第 {int(no)} 条。", "not-found")
            return passage_view_html(found)
        except Exception as exc:  # noqa: BLE001
            return notice_html(fail(exc))

    def run_search(api_key: str, q: str) -> str:
        try:
            authorize(services, api_key, "curator", route="ui")
            if not (q or "").strip():
                return notice_html("请输入检索词。")
            hits = services.kb().retrieve(q.strip(), k=5)
            return "".join(passage_view_html(p) for p in hits) or notice_html(
                "没有检索到相关条文。", "not-found"
            )
        except Exception as exc:  # noqa: BLE001
            return notice_html(fail(exc))

    for event in (key.blur, key.submit):
        event(None, inputs=[key], outputs=[key_state], js=SESSION_JS, api_visibility="private")
    filters = [key, name_q, dom, kind]
    listing = [table, targets, summary, status]
    refresh.click(load, inputs=filters, outputs=listing, api_visibility="private")
    key.submit(load, inputs=filters, outputs=listing, api_visibility="private")
    name_q.submit(load, inputs=filters, outputs=listing, api_visibility="private")
    for box in (dom, kind):
        box.input(load, inputs=filters, outputs=listing, api_visibility="private")
    table.select(pick, inputs=[targets], outputs=[chosen, chosen_text, domains_box], api_visibility="private")
    remove_version.click(
        ask_removal(False),
        inputs=[key, chosen],
        outputs=[pending_removal, confirm_box, confirm_text, status],
        api_visibility="private",
    )
    remove_law.click(
        ask_removal(True),
        inputs=[key, chosen],
        outputs=[pending_removal, confirm_box, confirm_text, status],
        api_visibility="private",
    )
    cancel.click(
        lambda: (gr.Group(visible=False), None, "已取消删除。"),
        outputs=[confirm_box, pending_removal, status],
        api_visibility="private",
    )
    confirm.click(
        do_remove,
        inputs=[key, pending_removal],
        outputs=[confirm_box, pending_removal, status],
        api_visibility="private",
    ).then(lambda: (None, "未选中任何法规。"), outputs=[chosen, chosen_text], api_visibility="private").then(
        reload, inputs=filters, outputs=[table, targets, summary], api_visibility="private"
    )
    save_domains.click(
        run_save_domains, inputs=[key, chosen, domains_box], outputs=status, api_visibility="private"
    ).then(reload, inputs=filters, outputs=[table, targets, summary], api_visibility="private")
    do_import.click(
        run_import, inputs=[key, files, folder, import_domain], outputs=report, api_visibility="private"
    ).then(reload, inputs=filters, outputs=[table, targets, summary], api_visibility="private")
    lookup.click(run_lookup, inputs=[key, law, number], outputs=article, api_visibility="private")
    search.click(run_search, inputs=[key, query], outputs=results, api_visibility="private")
