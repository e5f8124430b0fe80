"""`yiju train --config FILE` and `yiju adapters list|show|merge|export-gguf`.

Heavy imports (torch, transformers, peft) happen inside the commands so `yiju --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.common import console, fail, home

adapters_app = typer.Typer(help="Trained LoRA adapters: list, inspect, merge, export.", no_args_is_help=True)


def train_cmd(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="YAML training config (see adapters/configs/)")
    ],
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config key: --set epochs=3")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars")] = False,
) -> None:
    """Train a LoRA adapter from one YAML config."""
    import logging

    from adapters.config import parse_override
    from adapters.errors import AdapterError
    from adapters.train import format_summary, train

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        overrides = dict(parse_override(item) for item in set_ or [])
        result = train(config, overrides, home=home(), quiet=quiet)
    except AdapterError as exc:
        fail(str(exc))
        return
    console.print(format_summary(result), markup=False, highlight=False)


def list_cmd(
    extra: Annotated[
        list[Path] | None, typer.Option("--dir", help="Also look in this folder (repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List trained adapters in <home>/adapters (and --dir folders)."""
    from rich.table import Table

    from adapters.registry import list_adapters

    items = list_adapters(home(), extra or [])
    if as_json:
        print(json.dumps([m.model_dump(exclude={"config"}) for m in items], ensure_ascii=False, indent=2))
        return
    if not items:
        console.print("no adapters yet — train one with `yiju train --config adapters/configs/law_qa.yaml`")
        return
    table = Table("name", "version", "domain", "base model", "best val loss", "samples", "created", "path")
    # Names identify adapters (chat model names, vLLM --lora-modules): never elide them.
    table.columns[0].no_wrap = True
    table.columns[0].overflow = "fold"
    for m in items:
        loss = m.metrics.get("best_val_loss")
        table.add_row(
            m.name,
            m.version,
            m.domain,
            Path(m.base_model).name,
            f"{loss:.4f}" if isinstance(loss, float) else "-",
            str(m.samples),
            m.created_at,
            m.path,
        )
    console.print(table)


def _find(name: str, extra: list[Path] | None):  # noqa: ANN202
    from adapters.registry import find_adapter

    try:
        return find_adapter(home(), name, extra or [])
    except KeyError:
        fail(f"no adapter named or at {name!r} (see `yiju adapters list`)")


def show_cmd(
    name: Annotated[str, typer.Argument(help="Adapter name or folder")],
    extra: Annotated[list[Path] | None, typer.Option("--dir", help="Also look in this folder")] = None,
) -> None:
    """Show an adapter's manifest (base model, data hash, config, metrics)."""
    m = _find(name, extra)
    print(m.model_dump_json(indent=2))


def merge_cmd(
    name: Annotated[str, typer.Argument(help="Adapter name or folder")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the merged full model")],
    base: Annotated[str | None, typer.Option("--base", help="Base model (default: the manifest's)")] = None,
    extra: Annotated[list[Path] | None, typer.Option("--dir", help="Also look in this folder")] = None,
) -> None:
    """Merge an adapter into its base model and write a full model folder."""
    from adapters.errors import AdapterError
    from adapters.export import merge_adapter

    m = _find(name, extra)
    try:
        merge_adapter(Path(m.path), out, base)
    except AdapterError as exc:
        fail(str(exc))
    console.print(f"merged {m.name} {m.version} into {out}")


def export_gguf_cmd(
    name: Annotated[str, typer.Argument(help="Adapter name or folder")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The .gguf file to write")],
    base: Annotated[str | None, typer.Option("--base", help="Base model folder/.gguf for its config")] = None,
    extra: Annotated[list[Path] | None, typer.Option("--dir", help="Also look in this folder")] = None,
) -> None:
    """Export an adapter as a GGUF LoRA for llama.cpp (`llama-cli -m base.gguf --lora out.gguf`)."""
    from adapters.errors import AdapterError
    from adapters.export import export_gguf

    m = _find(name, extra)
    try:
        export_gguf(Path(m.path), out, base)
    except AdapterError as exc:
        fail(str(exc))
    console.print(f"wrote {out}")


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Attach `train` and the `adapters` group to the main app."""
    app.command("train")(train_cmd)
    adapters_app.command("list")(list_cmd)
    adapters_app.command("show")(show_cmd)
    adapters_app.command("merge")(merge_cmd)
    adapters_app.command("export-gguf")(export_gguf_cmd)
    app.add_typer(adapters_app, name="adapters")
