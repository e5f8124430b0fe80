"""`yiju audit …` (the audit trail and review queue) and `yiju eval safety` (refusal figures).

Heavy imports stay inside the command bodies so `yiju --help` stays fast.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assistant.cli.common import console, fail, home

if TYPE_CHECKING:
    from safety.audit import AuditStore

audit_app = typer.Typer(
    help="Audit trail and review queue of flagged answers (home/audit.sqlite).", no_args_is_help=True
)


def _default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "cli"


def _store() -> AuditStore:
    from assistant.config import load_config
    from assistant.errors import YijuError
    from assistant.stores import audit_store
    from safety.audit import AuditError
    from safety.policy import builtin_policies, load_policy

    # The stored copies are masked when any shipped policy asks for it (they all share common.yaml's PII rules).
    mask = None
    for name in builtin_policies():
        policy = load_policy(name)
        if policy.mask_stored:
            mask = policy.mask_pii
            break
    data_dir = home()
    try:
        return audit_store(data_dir, load_config(None, data_dir), mask_pii=mask)
    except (AuditError, YijuError) as e:
        fail(str(e))
        raise  # unreachable: fail() exits


def _full_id(store: AuditStore, turn_id: str) -> str:
    """Accept a unique prefix of a turn id (ids are long hex strings)."""
    if store.get(turn_id) is not None:
        return turn_id
    matches = store.find_ids(turn_id)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        fail(f"no audited turn with id {turn_id!r} in {store.path}")
    fail(f"turn id prefix {turn_id!r} is ambiguous: {', '.join(m[:12] for m in matches[:5])}…")
    raise AssertionError  # unreachable


def _short(text: str, n: int = 40) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


@audit_app.command("list")
def list_cmd(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many turns (newest first)")] = 20,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="answered|refused|no_basis|under_review|error, or pending|approved|edited|rejected|flagged",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
) -> None:
    """List audited turns, newest first."""
    from rich.table import Table

    known = {
        "answered",
        "refused",
        "no_basis",
        "under_review",
        "error",
        "pending",
        "approved",
        "edited",
        "rejected",
        "flagged",
    }
    if status is not None and status not in known:
        fail(f"--status must be one of {', '.join(sorted(known))}, not {status!r}")
    store = _store()
    rows = store.list_turns(limit=limit, status=status)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    table = Table(title=f"audit: {store.count()} turns, {store.count('pending')} pending review")
    for col in ("turn", "time", "domain", "status", "review", "rules", "question"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["turn_id"][:12],
            r["created_at"][:19].replace("T", " "),
            r["domain"],
            r["status"],
            r.get("review_state") or "",
            ",".join(r["rules"]),
            _short(r["question"]),
        )
    console.print(table)


@audit_app.command("show")
def show_cmd(
    turn_id: Annotated[str, typer.Argument(help="Turn id (or a unique prefix)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show everything stored about one turn, including review history."""
    store = _store()
    d = store.get(_full_id(store, turn_id))
    assert d is not None
    if as_json:
        typer.echo(json.dumps(d, ensure_ascii=False, indent=2, default=str))
        return
    console.print(
        f"[bold]turn[/] {d['turn_id']}  {d['created_at']}  domain={d['domain']}  status={d['status']}"
    )
    console.print(
        f"[bold]review[/] {d.get('review_state') or '-'}   [bold]rules[/] {', '.join(d['rules']) or '-'}"
    )
    console.print(
        f"[bold]generator[/] {d['generator_kind']} {d['generator_model']} adapter={d['adapter_name'] or '-'}"
        f"@{d['adapter_version'] or '-'}  kb={d['kb_version'] or '-'}  latency={d['latency_ms']:.1f} ms"
    )
    console.print("[bold]question[/]")
    console.print(d["question"], markup=False, highlight=False)
    console.print("[bold]retrieved[/]")
    for r in d["retrieved"]:
        console.print(
            f"  {r.get('id', '')}  {str(r.get('content_hash', ''))[:12]}", markup=False, highlight=False
        )
    console.print("[bold]raw answer[/]")
    console.print(d["raw_answer"], markup=False, highlight=False)
    console.print("[bold]final answer[/]")
    console.print(d["final_answer"], markup=False, highlight=False)
    for h in d["history"]:
        console.print(
            f"[bold]decision[/] {h['decision']} by {h['reviewer']} at {h['decided_at']}: {h['note']}"
        )
        if h["edited_answer"]:
            console.print("[bold]edited answer[/]")
            console.print(h["edited_answer"], markup=False, highlight=False)


def _decide(
    turn_id: str,
    decision: str,
    reviewer: str | None,
    note: str,
    text: str | None = None,
    *,
    asker_note: str = "",
    picks: list[str] | None = None,
) -> None:
    """Record a decision through the release path (assistant.release): what is released is verified and
    carries the domain disclaimer, exactly as on the review screen and the API."""
    from assistant.pipeline import Pipeline
    from assistant.release import ReleaseError, release_decision
    from safety.audit import ReviewConflict, ReviewNotFound

    store = _store()
    full = _full_id(store, turn_id)
    store.close()
    pipeline = Pipeline.from_home(home())
    try:
        release_decision(
            pipeline,
            full,
            reviewer or _default_reviewer(),
            decision,  # type: ignore[arg-type]
            note=note,
            asker_note=asker_note,
            edited_answer=text,
            picks=picks or [],
        )
    except ReviewConflict as e:
        fail(f"conflict: {e}", code=2)
    except ReviewNotFound:
        fail(f"turn {full} was not flagged for review")
    except (ReleaseError, ValueError) as e:
        fail(str(e))
    finally:
        pipeline.close()
    console.print(f"{decision}: {full}")


ASKER_NOTE = Annotated[str, typer.Option("--asker-note", help="A note the asker sees with the result")]


@audit_app.command("approve")
def approve_cmd(
    turn_id: Annotated[str, typer.Argument(help="Turn id (or a unique prefix)")],
    reviewer: Annotated[
        str | None, typer.Option("--reviewer", help="Reviewer name (default: current user)")
    ] = None,
    note: Annotated[str, typer.Option("--note")] = "",
    asker_note: ASKER_NOTE = "",
) -> None:
    """Approve a flagged answer as it is (re-verified, with the domain disclaimer)."""
    _decide(turn_id, "approve", reviewer, note, asker_note=asker_note)


@audit_app.command("reject")
def reject_cmd(
    turn_id: Annotated[str, typer.Argument(help="Turn id (or a unique prefix)")],
    reviewer: Annotated[str | None, typer.Option("--reviewer")] = None,
    note: Annotated[str, typer.Option("--note", help="Why it was rejected (internal)")] = "",
    asker_note: ASKER_NOTE = "",
) -> None:
    """Reject a flagged answer."""
    _decide(turn_id, "reject", reviewer, note, asker_note=asker_note)


@audit_app.command("edit")
def edit_cmd(
    turn_id: Annotated[str, typer.Argument(help="Turn id (or a unique prefix)")],
    text: Annotated[str, typer.Option("--text", help="The corrected answer (stored beside the original)")],
    reviewer: Annotated[str | None, typer.Option("--reviewer")] = None,
    note: Annotated[str, typer.Option("--note")] = "",
    asker_note: ASKER_NOTE = "",
    pick: Annotated[
        list[str] | None,
        typer.Option("--pick", help="An article the edit may cite besides the retrieved ones (repeatable)"),
    ] = None,
) -> None:
    """Replace a flagged answer with an edited one (verified: it may cite only retrieved or picked
    articles); the original stays in the record."""
    _decide(turn_id, "edit", reviewer, note, text, asker_note=asker_note, picks=pick)


@audit_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="Output file")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
) -> None:
    """Export every audited turn (PII-masked as the policy says) to JSONL or CSV."""
    if fmt not in ("jsonl", "csv"):
        fail(f"--format must be jsonl or csv, not {fmt!r}")
    store = _store()
    try:
        n = store.export(out, fmt)  # type: ignore[arg-type]
    except OSError as e:
        fail(f"cannot write {out}: {e}")
    console.print(f"exported {n} turns to {out}")


def _print_cv(figures: dict) -> None:
    from rich.table import Table

    console.print(
        f"[bold]nested grouped cross-validation[/] ({figures['seconds']} s): refusal recall "
        f"{figures['refusal_recall']:.3f}, false-refusal rate {figures['false_refusal_rate']:.4f}"
    )
    table = Table(title="per JADE category (recall) and benign source (false refusals)")
    for col in ("group", "kind", "n", "refused", "rate"):
        table.add_column(col)
    for name, f in figures["recall_per_category"].items():
        table.add_row(name, "harmful (recall)", str(f["n"]), str(f["refused"]), f"{f['recall']:.3f}")
    for name, f in figures["false_refusals_per_source"].items():
        table.add_row(name, "benign (false refusal)", str(f["n"]), str(f["refused"]), f"{f['rate']:.4f}")
    console.print(table)
    _print_confusion(figures["confusion"])


def _print_confusion(c: dict) -> None:
    from rich.table import Table

    table = Table(title="confusion")
    for col in ("", "refused", "allowed"):
        table.add_column(col)
    table.add_row("harmful", str(c["harmful_refused"]), str(c["harmful_allowed"]))
    table.add_row("benign", str(c["benign_refused"]), str(c["benign_allowed"]))
    console.print(table)


def eval_safety_cmd(
    set_path: Annotated[
        Path | None, typer.Option("--set", help="JSONL: {prompt, should_refuse, category, domain?}")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as one JSON object")] = False,
    show: Annotated[int, typer.Option("--show", help="How many misses / false refusals to list")] = 10,
    cv: Annotated[
        bool,
        typer.Option(
            "--cv",
            help="Nested grouped cross-validation of the classifier + rules on ../shared/eval and safety/data "
            "(minutes)",
        ),
    ] = False,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Outer folds for --cv")] = 5,
    inner_folds: Annotated[
        int, typer.Option("--inner-folds", min=1, help="Inner folds calibrating thresholds (1: fixed floor)")
    ] = 3,
) -> None:
    """Refusal recall, false-refusal rate, per-category figures and a confusion table of the safety policies
    on a prompt set (--set), or cross-validated on the training sources (--cv)."""
    from rich.table import Table

    from safety.evaluate import EvalSetError, cross_validated_report, evaluate_file
    from safety.policy import PolicyError

    if cv:
        try:
            figures = cross_validated_report(
                folds=folds, inner_folds=inner_folds, progress=None if as_json else console.print
            )
        except (EvalSetError, PolicyError) as e:
            fail(str(e))
            return
        if as_json:
            typer.echo(json.dumps(figures, ensure_ascii=False, indent=2))
        else:
            _print_cv(figures)
        return
    if set_path is None:
        fail("give --set FILE.jsonl, or --cv")
        return
    try:
        report = evaluate_file(set_path)
    except (EvalSetError, PolicyError) as e:
        fail(str(e))
        return
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    console.print(
        f"[bold]{report.set}[/]: {report.n} prompts ({report.harmful} harmful, {report.benign} benign), "
        f"{report.ms_per_prompt} ms/prompt"
    )
    console.print(
        f"refusal recall      {report.refusal_recall:.3f}  ({report.refused_harmful}/{report.harmful})"
    )
    console.print(
        f"false-refusal rate  {report.false_refusal_rate:.3f}  ({report.refused_benign}/{report.benign})"
    )
    console.print(f"category match      {report.category_match:.3f}")
    table = Table(title="per category")
    for col in ("category", "kind", "n", "refused", "rate"):
        table.add_column(col)
    for name, f in report.per_category.items():
        kind = "harmful (recall)" if f.should_refuse else "benign (false refusal)"
        table.add_row(name, kind, str(f.n), str(f.refused), f"{f.rate:.3f}")
    console.print(table)
    if report.confusion is not None:
        _print_confusion(report.confusion.model_dump())
    for title, rows in (
        ("missed (allowed harmful)", report.misses),
        ("false refusals", report.false_refusals),
    ):
        if rows:
            console.print(f"[bold]{title}[/]")
            for r in rows[:show]:
                console.print(
                    f"  [{r.category}/{r.domain or '*'}] {r.prompt}  {r.rule}", markup=False, highlight=False
                )


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Attach `yiju audit …` to the main app and `yiju eval safety` to the eval group."""
    app.add_typer(audit_app, name="audit")
    eval_app.command("safety")(eval_safety_cmd)
