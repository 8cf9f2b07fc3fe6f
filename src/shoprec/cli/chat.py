"""`shoprec chat BUNDLE`: the shopping assistant in the terminal, the same engine as `POST /chat`.

Interactive by default (one line per turn; an empty line, `quit` or `退出` ends it); with
`--message` (repeatable) the turns are given up front, so a script or a test can hold a whole
conversation in one command.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from shoprec.cli.common import AsJson, BundleArg, DatabaseUrl, app, console, opened_shop

QUIT = {"", "quit", "exit", "bye", "退出", "再见"}


@app.command()
def chat(
    bundle: BundleArg,
    user: Annotated[str | None, typer.Option(help="shopper id (answers draw on their history)")
                    ] = None,
    message: Annotated[list[str] | None, typer.Option(
        "--message", "-m", help="a turn of the conversation (repeatable); without it, read "
                                "turns from the terminal")] = None,
    k: Annotated[int, typer.Option(min=1, max=20, help="items per answer")] = 5,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
    reader: Annotated[str, typer.Option(help="how messages are read: encoder (default) or "
                                             "rules (shoprec.engine.reading)")] = "encoder",
) -> None:
    """Talk to the shop in English or Chinese: price bounds, categories, brands, "not ...",
    "cheaper", "like the second one", who it is for."""
    from shoprec.engine.chat import Conversation, chat_turn
    from shoprec.engine.reading import get_reader
    from shoprec.text.language import catalogue_language

    try:
        get_reader(reader)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--reader") from None
    with opened_shop(bundle, database_url) as shop:
        events = shop.events(user) if user else []
        conversation = Conversation.new(user, catalogue_language(
            shop.serving.bundle.dataset.items))
        turns = iter(message) if message else _typed_turns()
        for text in turns:
            answer = chat_turn(shop.serving, shop.catalogue, conversation, text, events, k,
                               reader=reader)
            conversation = answer.conversation
            if as_json:
                print(json.dumps(_answer_json(answer), ensure_ascii=False))
            else:
                _print_answer(shop, text, answer)


def _typed_turns():
    if sys.stdin.isatty():
        console.print("[dim]Ask for something (an empty line ends the conversation).[/dim]")
    while True:
        try:
            line = input("you> " if sys.stdin.isatty() else "")
        except EOFError:
            return
        if line.strip().lower() in QUIT:
            return
        yield line


def _answer_json(answer) -> dict:
    return {"conversation_id": answer.conversation.conversation_id,
            "language": answer.conversation.language, "reply": answer.reply,
            "question": answer.question, "constraints": answer.constraints,
            "notes": answer.notes, "unmet": [asdict(u) for u in answer.unmet],
            "items": [{"item_id": i.item_id, "score": round(i.score, 4), "meets": i.meets,
                       "why": i.why} for i in answer.items]}


def _print_answer(shop, text: str, answer) -> None:
    if answer.question:
        console.print(f"[bold]{answer.question}[/bold]")
    for note in answer.notes:
        console.print(f"[yellow]{note}[/yellow]")
    table = Table(title=answer.reply, title_justify="left")
    for column in ("#", "item", "title", "meets", "why"):
        table.add_column(column, overflow="fold")
    for n, item in enumerate(answer.items, 1):
        record = shop.catalogue.get(item.item_id)
        table.add_row(str(n), item.item_id, (record.title if record else "") or "",
                      "; ".join(item.meets), item.why)
    console.print(table)
