"""``snakebench prompts``: the prompt variants models can be prompted with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from snakebench.cli.app import App, print_table
from snakebench.cli.terminal import SafeConsole
from snakebench.games.prompts import prompt_variant
from snakebench.players.prompt import SECTIONS
from snakebench.players.prompt_variants import MAX_TEMPLATE_BYTES
from snakebench.services.prompts import (
    add_prompt_variant,
    list_prompt_variants,
    remove_prompt_variant,
    sample_prompt,
)
from snakebench.store import open_store

app = App(help="Prompt variants: add one from a file, list, show and remove them.")
out = SafeConsole(soft_wrap=True)

_PLACEHOLDERS = "; ".join(f"{{{name}}}: {section.help}" for name, section in SECTIONS.items())


@app.command("add", help=f"""Add a prompt variant from a template FILE (UTF-8 text, at most
{MAX_TEMPLATE_BYTES:,} bytes).

The template is the prompt, with placeholders for the parts SnakeBench writes each
turn (write {{{{ and }}}} for literal braces). It must hold {{state}} and
{{answer_format}}; {{state}} and {{previous}} may appear once. Placeholders:
{_PLACEHOLDERS}.

Example: snakebench prompts add terse my_prompt.txt --description "no intro"
""")  # fmt: skip
def add(
    name: Annotated[str, typer.Argument(help="The variant's name (a-z, 0-9, - and _).")],
    file: Annotated[Path, typer.Argument(help="The template file.", show_default=False)],
    description: Annotated[str, typer.Option(help="What the variant tries.")] = "",
    replace: Annotated[
        bool, typer.Option("--replace", help="Change the text of an existing variant.")
    ] = False,
) -> None:
    open_store()
    variant = add_prompt_variant(name, file, description=description, replace=replace)
    out.print(f"prompt variant {name} saved (sha256 {variant.sha[:12]})")


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Include removed variants.")] = False,
) -> None:
    """List the prompt variants: built-in and added ones, the start of each text's
    SHA-256, how many players of games were prompted with each, and the models that
    use one as their own."""
    open_store()
    rows = list_prompt_variants(include_removed=all_)
    if as_json:
        out.print_json(json.dumps([row.to_dict() for row in rows]))
        return
    table = Table("name", "kind", "status", "sha256", "players", "models", "description")
    for row in rows:
        table.add_row(
            row.name,
            "built-in" if row.builtin else "added",
            "active" if row.active else "removed",
            row.sha[:12],
            str(row.players),
            ", ".join(row.models) or "-",
            row.description,
        )
    print_table(out, table)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="A prompt variant's name.")],
    example: Annotated[
        bool,
        typer.Option("--example", help="Print the prompt it writes on a sample board instead."),
    ] = False,
) -> None:
    """Print a variant's template, or with --example the prompt it writes for snake 0
    on a sample board (a 10x10 game three rounds in, its previous reply shown back).

    Example: snakebench prompts show minimal --example
    """
    open_store()
    variant = prompt_variant(name)
    out.print(sample_prompt(variant) if example else variant.template, end="")


@app.command()
def remove(name: Annotated[str, typer.Argument(help="An added prompt variant's name.")]) -> None:
    """Remove an added variant. One that games used is only deactivated: its games
    keep it, and no new game or model may name it. Built-in variants, and one a model
    uses as its own, cannot be removed."""
    open_store()
    if remove_prompt_variant(name):
        out.print(f"prompt variant {name} has games: deactivated (its games keep it)")
    else:
        out.print(f"prompt variant {name} removed")
