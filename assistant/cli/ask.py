"""`yiju ask "问题" [--domain legal|medical|auto] [--json] [--config FILE]`.

Prints the rendered 【分类】/【要点】/【依据】 answer (or the AskResult as JSON). Refused, no-basis and
under-review answers are normal outcomes (exit 0); an error turn exits 1.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.common import console, fail, home

log = logging.getLogger(__name__)

_STATUS_STYLE = {
    "answered": "green",
    "refused": "yellow",
    "no_basis": "yellow",
    "under_review": "magenta",
    "error": "red",
}


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Attach `yiju ask`."""

    @app.command("ask")
    def ask(
        question: Annotated[
            str, typer.Argument(help="The question, e.g. 公司拖欠工资，劳动者可以解除劳动合同吗？")
        ],
        domain: Annotated[
            str, typer.Option("--domain", "-d", help="legal | medical | auto (or a configured domain)")
        ] = "auto",
        as_json: Annotated[bool, typer.Option("--json", help="Print the AskResult as JSON")] = False,
        config: Annotated[
            Path | None, typer.Option("--config", help="yiju.yaml to use instead of <home>/yiju.yaml")
        ] = None,
    ) -> None:
        """Answer a question with verified citations from the knowledge base."""
        from assistant.config import load_config
        from assistant.errors import UserFacingError
        from assistant.pipeline import Pipeline
        from knowledge.errors import KnowledgeError

        data_dir = home()
        try:
            cfg = load_config(config, data_dir)
            with console.status("加载知识库…", spinner="dots") if not as_json else nullcontext():
                pipeline = Pipeline.from_home(data_dir, cfg)
                try:
                    # Index loading is a one-time cost: done here, the audited latency is the turn's own.
                    pipeline.warm()
                except KnowledgeError:
                    # The turn below hits the same problem and reports it clearly — and audits it.
                    log.debug("knowledge base warm-up failed", exc_info=True)
            try:
                result = pipeline.ask(question, domain=domain)
            finally:
                pipeline.close()
        except (UserFacingError, KnowledgeError) as exc:
            fail(str(exc))
            return
        if as_json:
            # print() not rich: JSON must stay byte-exact (no wrapping, no markup interpretation).
            print(result.model_dump_json(indent=2))
        else:
            _print_rendered(result)
        if result.status == "error":
            raise typer.Exit(1)


def _print_rendered(result) -> None:
    from rich.markup import escape

    style = _STATUS_STYLE.get(result.status, "white")
    subtitle = f"{result.status} · {result.domain} · {result.generator or '-'} · {result.latency_ms:.0f} ms"
    if result.flags:
        subtitle += f" · flags: {', '.join(result.flags)}"
    # No panel and soft wrapping: rich wraps on spaces and CJK runs have none, so it would put
    # "1." alone on a line; the terminal's own wrapping keeps each point intact.
    console.rule(f"[{style}]依据 yiju[/]")
    console.print(escape(result.rendered), soft_wrap=True)
    console.rule(f"[dim]{escape(subtitle)}[/]", style=style)
    if result.turn_id:
        console.print(f"[dim]turn {result.turn_id}[/]")
