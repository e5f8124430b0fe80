"""Knowledge screen (curator key): upload + import progress, article look-up, search, remove, stats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from assistant.api.auth import authorize
from assistant.api.errors import classify_exception
from assistant.api.ui_guard import received_file
from ui.render import message_html, passage_html

# Runs in the browser: opens (or, for an empty field, closes) the screen's upload session with the key.
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
  if (!r.ok) return "〔未验证〕 " + ((body.error && body.error.message) || r.status);
  return body.uploads
    ? "〔已验证〕 " + body.role + " · " + body.name + "：可以上传文件"
    : "〔已验证〕 " + body.role + " · " + body.name + "：此 key 不能上传（需要 curator）";
}
"""


def build_knowledge(services: Any) -> None:
    """Add the knowledge curation screen to the current Blocks."""
    from assistant.api.uploads import ALLOWED_SUFFIXES, UploadRejected, import_uploads

    def fail(exc: Exception) -> str:
        if isinstance(exc, PermissionError | UploadRejected | ValueError):
            return f"〔失败〕 {exc}"
        return f"〔失败〕 {classify_exception(exc)[2]}"

    key = gr.Textbox(label="API key (curator)", type="password", elem_id="kb-key")
    # Uploads go to Gradio's upload route, which needs this key too: the browser exchanges it for an
    # HttpOnly session cookie (POST ui/session) when the field is left or submitted.
    key_state = gr.Markdown(elem_id="kb-key-state")
    with gr.Row():
        with gr.Column():
            files = gr.File(
                label="上传法规/指南文件 Upload (.md/.txt/.jsonl/.csv/.html/.pdf/.docx)",
                file_count="multiple",
                file_types=sorted(ALLOWED_SUFFIXES),
                elem_id="kb-upload",
            )
            folder = gr.File(
                label="或上传文件夹 Or a folder", file_count="directory", elem_id="kb-upload-folder"
            )
            domain = gr.Radio(
                ["auto", "legal", "medical"], value="auto", label="领域 Domain", elem_id="kb-domain"
            )
            do_import = gr.Button("导入 Import", variant="primary", elem_id="kb-import")
            report = gr.Markdown(elem_id="kb-report")
        with gr.Column():
            law = gr.Textbox(label="法规 Law (e.g. 劳动合同法)", elem_id="kb-law")
            number = gr.Number(label="条 Article number", precision=0, value=1, elem_id="kb-article-no")
            lookup = gr.Button("查看条文 Show article", elem_id="kb-lookup")
            article = gr.HTML(elem_id="kb-article")
            query = gr.Textbox(label="检索 Search", elem_id="kb-search-q")
            search = gr.Button("检索 Search", elem_id="kb-search")
            results = gr.HTML(elem_id="kb-search-results")
    with gr.Row():
        remove_law = gr.Textbox(label="删除法规 Remove law", elem_id="kb-remove-law")
        remove = gr.Button("删除 Remove", variant="stop", elem_id="kb-remove")
        stats_btn = gr.Button("统计 Stats", elem_id="kb-stats-refresh")
    status = gr.Markdown(elem_id="kb-status")
    stats = gr.JSON(label="统计 Stats", elem_id="kb-stats")

    def run_import(
        api_key: str,
        paths: list[str] | None,
        folder_paths: list[str] | None,
        dom: str,
        progress=gr.Progress(),  # noqa: B008 - Gradio's documented way to get a progress bar
    ) -> str:
        try:
            authorize(services, api_key, "curator", route="ui")
            chosen = list(paths or []) + list(folder_paths or [])
            if not chosen:
                return "〔失败〕 请选择文件 (choose files first)"
            # Only files this server received are read, never a path the request names; only the bare
            # file name travels on, so the HTTP upload's name checks apply.
            received = [received_file(p) for p in chosen]
            payload = [(Path(p).name, path.read_bytes()) for p, path in zip(chosen, received, strict=True)]
            for path in received:  # read: the upload is not kept
                path.unlink(missing_ok=True)
            summary = import_uploads(
                services,
                payload,
                domain=dom,
                on_progress=lambda i, n, name: progress((i, n), desc=f"importing {name}"),
            )
        except Exception as exc:  # noqa: BLE001
            return fail(exc)
        lines = [
            f"〔已导入〕 imported {summary['files_imported']} file(s): {summary['articles_added']} articles added, "
            f"{summary['articles_updated']} updated, {summary['articles_unchanged']} unchanged, "
            f"{summary['files_skipped']} file(s) skipped"
        ]
        for issue in summary["errors"]:
            where = f"{issue.get('file')}:{issue.get('line')}" if issue.get("line") else issue.get("file")
            lines.append(f"- 〔警告〕 {where}: {issue.get('message')}")
        return "\n".join(lines)

    def run_lookup(api_key: str, law_name: str, no: float | None) -> str:
        try:
            authorize(services, api_key, "curator", route="ui")
            if not (law_name or "").strip() or not no:
                return message_html("请输入法规名称和条号", "error")
            return passage_html(services.kb().lookup(law_name.strip(), int(no)))
        except Exception as exc:  # noqa: BLE001
            return message_html(fail(exc), "error")

    def run_search(api_key: str, q: str) -> str:
        try:
            authorize(services, api_key, "curator", route="ui")
            if not (q or "").strip():
                return message_html("请输入检索词", "error")
            return "".join(passage_html(p) for p in services.kb().retrieve(q.strip(), k=5)) or message_html(
                "无结果", "not-found"
            )
        except Exception as exc:  # noqa: BLE001
            return message_html(fail(exc), "error")

    def run_remove(api_key: str, law_name: str) -> str:
        try:
            authorize(services, api_key, "curator", route="ui")
            with services.import_lock:
                n = services.kb().remove((law_name or "").strip())
            return (
                f"〔已删除〕 removed {n} article(s) of 《{law_name}》"
                if n
                else f"〔失败〕 《{law_name}》 not found"
            )
        except Exception as exc:  # noqa: BLE001
            return fail(exc)

    def run_stats(api_key: str) -> tuple[Any, str]:
        try:
            authorize(services, api_key, "curator", route="ui")
            return services.kb().stats(), ""
        except Exception as exc:  # noqa: BLE001
            return None, fail(exc)

    for event in (key.blur, key.submit):
        event(None, inputs=[key], outputs=[key_state], js=SESSION_JS, api_name=False)
    do_import.click(run_import, inputs=[key, files, folder, domain], outputs=report, api_name=False)
    lookup.click(run_lookup, inputs=[key, law, number], outputs=article, api_name=False)
    search.click(run_search, inputs=[key, query], outputs=results, api_name=False)
    remove.click(run_remove, inputs=[key, remove_law], outputs=status, api_name=False)
    stats_btn.click(run_stats, inputs=[key], outputs=[stats, status], api_name=False)
