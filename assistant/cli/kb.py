"""`yiju kb …` (import, list, show, remove, stats) and `yiju eval retrieval`.

Heavy imports (chromadb, torch, jieba) happen inside the commands so `yiju --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.common import console, fail, home

kb_app = typer.Typer(
    help="Curate the knowledge base: import statutes/guidelines, list, show, remove, stats.",
    no_args_is_help=True,
)


def _open_kb():
    """Open the knowledge base of the current data directory with its configured store and embedder."""
    from assistant.config import load_config
    from assistant.errors import ConfigError
    from assistant.stores import knowledge_base
    from knowledge.database import DatabaseError
    from knowledge.errors import KnowledgeError

    h = home()
    try:
        return knowledge_base(h, load_config(None, h))
    except (ConfigError, KnowledgeError, DatabaseError) as exc:
        fail(str(exc))


def _guard(fn):
    """Run fn, turning knowledge errors into a clear message (no traceback)."""
    from knowledge.errors import KnowledgeError

    try:
        return fn()
    except KnowledgeError as exc:
        fail(str(exc))


@kb_app.command("import")
def import_cmd(
    path: Annotated[Path | None, typer.Argument(help="A file or folder (.md, .txt, .jsonl, .csv)")] = None,
    domain: str = typer.Option("auto", "--domain", help="auto | legal | medical"),
    fmt: str = typer.Option("auto", "--format", help="auto | md | txt | jsonl | csv"),
    strict: bool = typer.Option(False, "--strict", help="Import nothing if any file has an error"),
    starter: bool = typer.Option(False, "--starter", help="Import the packaged sample KB (示例)"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Import statutes or guideline passages (idempotent: unchanged files and articles are skipped)."""
    if path is None and not starter:
        fail("give a PATH to import, or --starter for the packaged sample knowledge base")
    if fmt not in ("auto", "md", "txt", "jsonl", "csv"):
        fail(f"--format must be auto, md, txt, jsonl or csv (got {fmt!r})")
    if path is not None and not path.exists():
        fail(f"{path}: no such file or folder")
    kb = _open_kb()
    reports = []
    if starter:
        reports.append(_guard(lambda: kb.import_starter(progress=not as_json)))
    if path is not None:
        reports.append(
            _guard(lambda: kb.import_path(path, domain=domain, fmt=fmt, strict=strict, progress=not as_json))
        )
    errors = [e for r in reports for e in r.errors]
    if as_json:
        typer.echo(json.dumps([r.model_dump() for r in reports], ensure_ascii=False, indent=2))
    else:
        for r in reports:
            console.print(
                f"files imported {r.files_imported}, skipped (unchanged) {r.files_skipped}; articles added "
                f"{r.articles_added}, updated {r.articles_updated}, unchanged {r.articles_unchanged}, removed "
                f"{r.articles_removed}; {r.seconds:.1f}s"
                + (" (embedder trained)" if r.embedder_trained else "")
            )
        for e in errors:
            where = f"{e.file}:{e.line}" if e.line else e.file
            console.print(f"[red]error[/] {where}: {e.message}", highlight=False)
        console.print(f"kb_version {kb.kb_version}")
    if errors:
        raise typer.Exit(1)


@kb_app.command("list")
def list_cmd(
    domain: str | None = typer.Option(None, "--domain", help="Only those serving this domain"),
    search: str | None = typer.Option(
        None, "--search", "-s", help="Name contains (《》 and 中华人民共和国 optional)"
    ),
    kind: str | None = typer.Option(None, "--kind", help="法律, 行政法规, 司法解释, 部门规章, 指南 …"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List laws and guidelines: kind, versions/editions (* = served), effective date, articles, domains, origin."""
    kb = _open_kb()
    laws = kb.laws(domain, query=search, kind=kind)
    if as_json:
        typer.echo(json.dumps([x.model_dump() for x in laws], ensure_ascii=False, indent=2))
        return
    from rich.table import Table

    table = Table("law", "kind", "versions (* served)", "effective", "articles", "domains", "origin")
    for x in laws:
        versions = ", ".join(
            ("*" if d.status == "current" else "") + (d.version or "undated") + _status_note(d.status)
            for d in x.details
        )
        table.add_row(
            x.law, x.kind, versions, x.effective_date, str(x.articles), ",".join(x.domains), x.origin
        )
    console.print(table)
    console.print(f"{len(laws)} laws and guidelines")


def _status_note(status: str) -> str:
    return {"future": " (not yet in force)", "local": " (local copy, official served)"}.get(status, "")


@kb_app.command("show")
def show_cmd(
    reference: str = typer.Argument(..., help='e.g. "劳动合同法第四十七条" or "民法典第1165条"'),
    version: str | None = typer.Option(None, "--version", help="A version date YYYY-MM-DD"),
    as_of: str | None = typer.Option(None, "--as-of", help="The version in force on this date"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show one article, by law and article number."""
    kb = _open_kb()
    ref = kb.parse_reference(reference)
    key = kb.parse_reference_key(reference)
    if ref is None or key is None:
        fail(f"cannot find a known law and 第X条 in {reference!r} (see `yiju kb list`)")
    passage = kb.lookup(ref[0], ref[1], version=version, as_of=as_of, key=key[1])
    if passage is None:
        fail(kb.lookup_failure(ref[0], ref[1], version=version, as_of=as_of))
    if as_json:
        typer.echo(passage.model_dump_json(indent=2))
        return
    console.print(
        f"[bold]{passage.citation}[/]  {passage.law_full} · {passage.kind or '-'} · "
        f"{passage.version or 'undated'} · {passage.chapter}"
    )
    if passage.sample:
        console.print("[yellow]示例 sample article (starter knowledge base)[/]")
    if passage.origin != "official":
        console.print(
            f"[yellow]local text uploaded by {passage.uploader or '?'} at {passage.imported_at or '?'}"
            f" (file sha256 {passage.file_hash[:12]}), not official[/]",
            highlight=False,
        )
    console.print(passage.text, highlight=False)
    console.print(f"[dim]{passage.source}[/]", highlight=False)


@kb_app.command("remove")
def remove_cmd(
    law: str = typer.Argument(
        ..., help="Law or guideline name, e.g. 劳动合同法 or 《中华人民共和国劳动合同法》"
    ),
    version: str | None = typer.Option(None, "--version", help="Only this version (YYYY-MM-DD)"),
) -> None:
    """Remove a law (all versions, or one version) from the knowledge base."""
    kb = _open_kb()
    n = _guard(lambda: kb.remove(law, version))
    if n == 0:
        fail(
            f"nothing to remove: {law}"
            + (f" version {version}" if version else "")
            + " is not in the knowledge base"
        )
    console.print(f"removed {n} articles of {law}" + (f" ({version})" if version else ""))


@kb_app.command("domains")
def domains_cmd(
    law: str = typer.Argument(
        ..., help="Law or guideline name, e.g. 药品管理法 or 《中华人民共和国药品管理法》"
    ),
    set_to: str | None = typer.Option(
        None, "--set", help="Comma-separated domains, primary first, e.g. medical,legal"
    ),
    auto: bool = typer.Option(False, "--auto", help="Back to the automatic domains"),
) -> None:
    """Show or change the domains a law serves (every version; no re-import needed)."""
    if set_to is not None and auto:
        fail("give --set DOMAINS or --auto, not both")
    kb = _open_kb()
    if set_to is None and not auto:
        from knowledge.loaders import short_law_name

        name = short_law_name(law)
        info = [x for x in kb.laws() if x.law == name]
        if not info:
            fail(f"no law named {name} in the knowledge base (see `yiju kb list`)")
        console.print(f"{name}: {','.join(info[0].domains)}", highlight=False)
        return
    chosen = _guard(lambda: kb.set_domains(law, None if auto else set_to, by="cli"))
    console.print(f"{law}: now serves {','.join(chosen)}" + (" (automatic)" if auto else ""), highlight=False)


@kb_app.command("stats")
def stats_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
    """Counts, store kind, embedder and kb_version."""
    kb = _open_kb()
    stats = _guard(kb.stats)
    if as_json:
        typer.echo(json.dumps(stats, ensure_ascii=False, indent=2))
        return
    for key, value in stats.items():
        console.print(f"{key}: {value}", highlight=False)


def retrieval_cmd(
    set_path: Annotated[
        Path, typer.Option("--set", help="JSONL questions with gold {law, article_no} or {title, section}")
    ],
    k: int = typer.Option(10, "--k", min=1, help="Passages retrieved per question"),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object keyed by task and 'overall'"),
    domain: str | None = typer.Option(
        None,
        "--domain",
        "-d",
        help="Evaluate a configured domain's retrieval step (its synonyms and knowledge domains), as the "
        "pipeline runs it; default: the whole knowledge base",
    ),
    all_versions: bool = typer.Option(
        False,
        "--all-versions",
        help="Search every stored version, not only the newest (sets built on older texts)",
    ),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Search the versions in force on this date (YYYY-MM-DD)"
    ),
    renumbered: bool = typer.Option(
        False,
        "--renumbered",
        help="Also count a gold article's text found under the number a newer version gave it",
    ),
) -> None:
    """hit@1/5/10, MRR and latency per task and overall on a question set.

    Gold is a statute article {law, article_no} or a guideline section {title, section}: a passage is
    relevant when one of its heading paths lies in the gold section."""
    from knowledge.errors import KnowledgeError
    from knowledge.evaluation import evaluate_retrieval, evaluate_with, gold_article_texts, load_eval_set

    try:
        items = load_eval_set(set_path)
    except KnowledgeError as exc:
        fail(str(exc))
    if domain is not None and (all_versions or as_of):
        fail(
            "--domain evaluates the pipeline's retrieval step (newest versions); drop --all-versions/--as-of"
        )
    kb = _open_kb()
    if not kb.stats()["articles"]:
        fail("the knowledge base is empty: run `yiju kb import PATH` first")
    from knowledge.progress import progress_bar

    if domain is not None:
        from assistant.errors import YijuError
        from assistant.pipeline import Pipeline

        kb.close()
        try:
            pipeline = Pipeline.from_home(home())
            pipeline.domain_spec(domain)
        except YijuError as exc:
            fail(str(exc))

        def run(advance):
            texts = gold_article_texts(pipeline.kb, items) if renumbered else None
            try:
                return evaluate_with(
                    lambda q, n: pipeline.retrieve(q, domain, k=n),
                    items,
                    k=k,
                    progress=advance,
                    gold_texts=texts,
                )
            finally:
                pipeline.close()
    else:

        def run(advance):
            return evaluate_retrieval(
                kb,
                items,
                k=k,
                progress=advance,
                all_versions=all_versions,
                as_of=as_of,
                renumbered=renumbered,
            )

    with progress_bar(not as_json, "evaluating", len(items)) as advance:
        result = _guard(lambda: run(advance))
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    from rich.table import Table

    cols = [c for c in ("hit@1", "hit@5", "hit@10") if c in result["overall"]]
    table = Table("task", "n", *cols, "mrr", "ms p50", "ms p95")
    for task, row in result.items():
        table.add_row(
            task,
            str(row["n"]),
            *(f"{row[c]:.3f}" for c in cols),
            f"{row['mrr']:.3f}",
            f"{row['latency_ms_p50']:.1f}",
            f"{row['latency_ms_p95']:.1f}",
        )
    console.print(table)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Attach `yiju kb …` and `yiju eval retrieval`."""
    app.add_typer(kb_app, name="kb")
    eval_app.command("retrieval")(retrieval_cmd)
