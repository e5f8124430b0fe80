"""The `yiju` command line.

Each command group lives in its own module with a `register(app, eval_app)` function, and
imports heavy libraries (torch, chromadb, …) inside the command bodies so `yiju --help` stays fast.

`--home DIR` is accepted anywhere on the command line (before or after the sub-command) and is
turned into $YIJU_HOME, which every command resolves through `assistant.home.resolve_home`.
"""

from __future__ import annotations

import os
import sys

import typer

from assistant.cli import adapters_cmds, ask, kb, safety_cmds, serve
from assistant.home import apply_offline_env

app = typer.Typer(
    name="yiju",
    help="依据 yiju — grounded answers to Chinese legal and medical questions, with verified citations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Evaluate retrieval or safety on a question set.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@app.callback()
def _root(
    home: str = typer.Option(  # noqa: B008 - typer's declaration style
        None,
        "--home",
        help="Data directory (also accepted after the sub-command; else $YIJU_HOME, else ~/.local/share/yiju).",
    ),
) -> None:
    """依据 yiju — grounded answers to Chinese legal and medical questions, with verified citations."""


for module in (kb, ask, safety_cmds, adapters_cmds, serve):
    module.register(app, eval_app)


def _pull_home_option(argv: list[str]) -> list[str]:
    """Remove `--home DIR` / `--home=DIR` from argv wherever it is and export it as $YIJU_HOME."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--home" and i + 1 < len(argv):
            os.environ["YIJU_HOME"] = argv[i + 1]
            i += 2
            continue
        if arg.startswith("--home="):
            os.environ["YIJU_HOME"] = arg.split("=", 1)[1]
            i += 1
            continue
        out.append(arg)
        i += 1
    return out


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    apply_offline_env()
    args = _pull_home_option(list(sys.argv[1:] if argv is None else argv))
    app(args=args, prog_name="yiju")


if __name__ == "__main__":
    main()
