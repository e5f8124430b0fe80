"""The Gradio app: three tabs (chat, knowledge, review) over one `assistant.api.services.Services`."""

from __future__ import annotations

from typing import Any

import gradio as gr
from fastapi import FastAPI

from ui.chat import CHAT_CSS, build_chat
from ui.knowledge import build_knowledge
from ui.review import build_review

CSS = """
.yiju-section h4 { margin: 0.6em 0 0.2em; }
.yiju-citation summary { cursor: pointer; color: #1d4ed8; }
.yiju-article-text { white-space: pre-wrap; border-left: 3px solid #93c5fd; padding-left: 0.6em; }
.yiju-disclaimer { margin-top: 0.8em; font-size: 0.9em; color: #92400e; background: #fffbeb; padding: 0.4em; }
.yiju-under-review { font-weight: bold; color: #b45309; }
.yiju-meta { font-size: 0.75em; color: #6b7280; margin-top: 0.4em; }
.yiju-badge { display: inline-block; font-weight: bold; padding: 0 0.3em; border-radius: 3px; }
.yiju-badge-refused, .yiju-badge-rejected, .yiju-badge-error { color: #b91c1c; background: #fef2f2; }
.yiju-badge-under_review { color: #b45309; background: #fffbeb; }
.yiju-badge-approved, .yiju-badge-edited, .yiju-badge-answered { color: #15803d; background: #f0fdf4; }
.yiju-status-heading { margin: 0.2em 0; }
.yiju-cursor { color: #9ca3af; }
.yiju-rule { display: inline-block; background: #fef3c7; color: #92400e; padding: 0 0.4em; margin-right: 0.3em; border-radius: 3px; }
.yiju-warning, .yiju-error { color: #b91c1c; }
.yiju-done { color: #15803d; font-weight: bold; }
.yiju-preview { border: 1px dashed #93c5fd; padding: 0.5em; margin-top: 0.5em; }
.yiju-reviewer-note { background: #eff6ff; padding: 0.3em 0.5em; border-left: 3px solid #3b82f6; }
.yiju-pid { font-size: 0.8em; color: #6b7280; }
"""


# Uploaded files are deleted an hour after they arrive (checked every 10 minutes), and all of them when the
# server stops; an import deletes the files it read at once.
UPLOAD_CACHE = (600, 3600)


def build_ui(services: Any) -> gr.Blocks:
    """Build the Blocks; `services` gives the pipeline, KB, audit store, keys and limits."""
    with gr.Blocks(title="依据 yiju", delete_cache=UPLOAD_CACHE) as demo:
        gr.Markdown("# 依据 yiju — 有据可查的医疗与法律问答")
        with gr.Tabs(elem_id="yiju-tabs"):
            with gr.Tab("问答 Chat", id="chat", elem_id="tab-chat"):
                build_chat(services)
            with gr.Tab("知识库 Knowledge", id="knowledge", elem_id="tab-knowledge"):
                build_knowledge(services)
            with gr.Tab("审核 Review", id="review", elem_id="tab-review"):
                build_review(services)
    # Several chat users at once (Gradio's default is one event at a time); the pipeline is thread-safe.
    demo.queue(default_concurrency_limit=4)
    demo.yiju_css = CSS + CHAT_CSS  # passed to mount_gradio_app (Gradio 6 takes css at launch/mount time)
    return demo


def mount_ui(app: FastAPI, services: Any) -> FastAPI:
    """Mount the screens at `/` of `app`, with the upload limits of /v1.

    The guard in front of Gradio's upload and file routes is `assistant.api.ui_guard.GradioGuard`.
    """
    blocks = build_ui(services)
    app = gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        max_file_size=services.config.server.max_upload_bytes,
        footer_links=["api"],
        ssr_mode=False,
        css=getattr(blocks, "yiju_css", None),
    )
    # Gradio checks that a file named in an event's input is one it received (its upload folder) only
    # once the Blocks count as launched, which launch() sets and mount_gradio_app (6.31) does not.
    # The screens check it themselves too (ui_guard.received_file); this keeps Gradio's own check on.
    blocks.has_launched = True
    return app
