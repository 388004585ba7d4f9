"""``--webhook URL`` of the batch-submitting commands, and ``snakebench webhooks``:
the recorded events (``list``) and a signed test POST (``test``). docs/WEBHOOKS.md."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from snakebench.cli.app import App, UsageError, fail, print_table
from snakebench.cli.terminal import SafeConsole
from snakebench.config import get_settings
from snakebench.services.webhooks import (
    DeliveryError,
    WebhookError,
    check_webhook,
    envelope,
    post,
)
from snakebench.store import open_store
from snakebench.store.webhook_queries import recent_webhook_events

out = SafeConsole(soft_wrap=True)

WebhookOption = Annotated[
    str | None,
    typer.Option(
        "--webhook",
        help="Also POST this batch's events (finished, failed games) to this http(s) URL, "
        "besides SNAKEBENCH_WEBHOOK_URL. Needs workers: not with --sync.",
    ),
]


def submission_webhook(webhook: str | None, *, sync: bool) -> str | None:
    """``--webhook`` checked: an http(s) URL, and workers to deliver it."""
    if webhook is None:
        return None
    if sync:
        raise UsageError("--webhook is delivered by workers: not with --sync")
    try:
        return check_webhook(webhook, "--webhook")
    except WebhookError as exc:
        raise UsageError(str(exc)) from None


app = App(help="Alerts: webhook events recorded, and a test POST (docs/WEBHOOKS.md).")


@app.command("list")
def list_events(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Events to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """The latest webhook events: kind, subject, status, attempts, last error."""
    open_store()
    rows = [
        {
            "id": e.id, "kind": e.kind, "subject": e.subject, "status": e.status,
            "attempts": e.attempts, "last_error": e.last_error,
            "created_at": e.created_at.isoformat(),
        }
        for e in recent_webhook_events(limit)
    ]  # fmt: skip
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("id", "kind", "subject", "status", "attempts", "last error")
    for row in rows:
        table.add_row(*(str(row[c] if row[c] is not None else "") for c in _COLUMNS))
    print_table(out, table)


_COLUMNS = ("id", "kind", "subject", "status", "attempts", "last_error")


@app.command("test")
def test_webhook(
    url: Annotated[
        str | None, typer.Argument(help="Where to POST; default SNAKEBENCH_WEBHOOK_URL.")
    ] = None,
) -> None:
    """POST a signed ``ping`` event now, from this process, and say what came back."""
    settings = get_settings()
    target = url or settings.webhook_url
    if not target:
        raise UsageError("give a URL, or set SNAKEBENCH_WEBHOOK_URL")
    try:
        checked = check_webhook(target, "URL") or target
    except WebhookError as exc:
        raise UsageError(str(exc)) from None
    payload = envelope("ping", "test", {"message": "a test from snakebench webhooks test"})
    try:
        code = post(checked, "ping", 0, payload, settings.webhook_secret)
    except DeliveryError as exc:
        raise fail(f"{checked}: {exc}", 1) from None
    signed = "signed" if settings.webhook_secret else "unsigned"
    out.print(f"{checked} answered HTTP {code} ({signed})")
