"""A provider's public model catalogue as models: ``snakebench models sync openrouter``.

OpenRouter lists every model it serves at ``GET {base}/models`` (no key needed):
``{"data": [{"id", "name", "context_length", "pricing": {"prompt", "completion",
...}, "top_provider": {"context_length", "max_completion_tokens", ...},
"supported_parameters": [...], ...}]}``, prices in USD per token as strings. A sync
reads it, keeps the entries that pass the filters (the original's activation rules:
a price ceiling, a minimum completion limit, no free models, plus an id pattern and
required parameters), and plans for each what storing it would change, so a dry run
and a real run print the same table.

A catalogue entry is the stored model whose provider is ``openrouter`` and whose model
id is the entry's id (every such model: several may share an id with different request
fields). Those get the catalogue's prices and ``catalog_info`` and nothing else: their
names, request fields, keys, caps and standing were set elsewhere and stay. A stored
output cap above the provider's limit is lowered to it (a request above it fails).
Other entries become new models named after their id. A stored model missing from
the catalogue is reported, never deleted: its games and record stay meaningful.
"""

from __future__ import annotations

import fnmatch
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from snakebench.config import mask_url
from snakebench.services.catalog import (
    MAX_LABEL,
    CatalogError,
    Change,
    apply_changes,
    check_entry,
    plan_change,
)
from snakebench.store import Model

OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
PROVIDER = "openrouter"
MAX_CATALOGUE_BYTES = 64 * 1024 * 1024  # OpenRouter's list is a few MB; this is a sanity cap
PER_MILLION = Decimal(1_000_000)


class CatalogueError(CatalogError):
    """The catalogue could not be fetched or is not in the shape expected: nothing is
    stored. One line, naming the URL (its password masked) or the entry and field."""


@dataclass(frozen=True)
class Listing:
    """One catalogue entry, read and checked."""

    id: str
    title: str | None
    price_input_per_m: float  # negative: the price varies (OpenRouter's auto router: -1)
    price_output_per_m: float
    context_length: int | None
    completion_limit: int | None  # top_provider.max_completion_tokens: None when unstated
    supported_parameters: tuple[str, ...]

    @property
    def free(self) -> bool:
        return self.price_input_per_m == 0 and self.price_output_per_m == 0

    @property
    def completion_tokens(self) -> int | None:
        """The most output tokens the provider allows; an unstated limit is the context
        length, as the original reads it."""
        return self.completion_limit if self.completion_limit is not None else self.context_length

    def catalog_info(self) -> dict[str, Any]:
        """What ``catalog_info`` keeps of the entry (the prices are columns)."""
        info: dict[str, Any] = {
            "source": PROVIDER,
            "title": self.title,
            "context_length": self.context_length,
            "max_completion_tokens": self.completion_limit,
            "supported_parameters": list(self.supported_parameters),
        }
        return {key: value for key, value in info.items() if value is not None}


# --- fetching and reading ----------------------------------------------------------------


def fetch_catalogue(base_url: str, timeout: float) -> Any:
    """The parsed JSON of ``GET {base_url}/models``, or :class:`CatalogueError`."""
    url = base_url.rstrip("/") + "/models"
    shown = mask_url(url)
    request = urllib.request.Request(
        url, headers={"Accept": "application/json", "User-Agent": "snakebench-models-sync"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read(MAX_CATALOGUE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise CatalogueError(f"{shown} answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise CatalogueError(f"cannot reach {shown}: {exc.reason}") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:  # timeouts are OSErrors
        reason = str(exc) or type(exc).__name__
        raise CatalogueError(f"cannot read {shown}: {reason}") from None
    if len(raw) > MAX_CATALOGUE_BYTES:
        raise CatalogueError(f"{shown} sent more than {MAX_CATALOGUE_BYTES:,} bytes")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"{shown} did not send JSON ({exc})") from None


def read_catalogue(document: Any) -> list[Listing]:
    """The entries of a catalogue document, or :class:`CatalogueError` naming the first
    entry and field not in OpenRouter's shape (a catalogue we misread would store wrong
    prices, so none of it is used)."""
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        raise CatalogueError('the catalogue is not {"data": [...]}')
    return [_listing(entry, position) for position, entry in enumerate(data, start=1)]


def _listing(entry: Any, position: int) -> Listing:
    if not isinstance(entry, dict):
        raise CatalogueError(f"catalogue entry #{position} is not an object")
    model_id = entry.get("id")
    if not isinstance(model_id, str) or not model_id.strip():
        raise CatalogueError(f"catalogue entry #{position} has no id")

    def bad(path: str, value: Any) -> CatalogueError:
        shown = json.dumps(value)[:60]
        return CatalogueError(f"catalogue entry #{position} ({model_id[:80]}): {path} is {shown}")

    pricing = entry.get("pricing")
    if not isinstance(pricing, dict):
        raise bad("pricing", pricing)
    top = entry.get("top_provider") or {}
    if not isinstance(top, dict):
        raise bad("top_provider", top)
    parameters = entry.get("supported_parameters") or []
    if not isinstance(parameters, list) or not all(isinstance(p, str) for p in parameters):
        raise bad("supported_parameters", parameters)
    title = entry.get("name")
    return Listing(
        id=model_id.strip(),
        title=title if _shown_as_written(title) else None,
        price_input_per_m=_per_million(pricing.get("prompt"), lambda v: bad("pricing.prompt", v)),
        price_output_per_m=_per_million(
            pricing.get("completion"), lambda v: bad("pricing.completion", v)
        ),
        context_length=_count(entry.get("context_length"), lambda v: bad("context_length", v)),
        completion_limit=_count(
            top.get("max_completion_tokens"), lambda v: bad("top_provider.max_completion_tokens", v)
        ),
        supported_parameters=tuple(p for p in parameters if _shown_as_written(p)),
    )


def _shown_as_written(text: Any) -> bool:
    """Text from the catalogue fit to store and show: a short printable line (a name
    with escape sequences or a megabyte of it is dropped, not stored)."""
    return isinstance(text, str) and 0 < len(text) <= MAX_LABEL and text.isprintable()


def _per_million(value: Any, bad: Any) -> float:
    """USD per token (a decimal string or a number) as USD per million tokens, exactly:
    ``"0.00000015"`` is 0.15, not 0.15000000000000002, so a second sync sees no change."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise bad(value)
    try:
        price = Decimal(str(value)) * PER_MILLION
    except InvalidOperation:
        raise bad(value) from None
    if not price.is_finite():
        raise bad(value)
    return float(price)


def _count(value: Any, bad: Any) -> int | None:
    """A token count; None (or 0, as an unfilled field reads) when the catalogue has none."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise bad(value)
    return value or None


# --- filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncFilters:
    """Which catalogue entries a sync takes; the others are skipped, with the reason.

    Prices are USD per million tokens. ``match`` patterns are globs on the id (``*``,
    ``?``, ``[...]``), or substrings when they hold none of those, case-insensitive;
    an entry passes if any matches.
    """

    max_input_price: float | None = None
    max_output_price: float | None = None
    min_completion_tokens: int | None = None
    match: tuple[str, ...] = ()
    required_parameters: tuple[str, ...] = ()
    include_free: bool = False

    def matches(self, model_id: str) -> bool:
        return not self.match or any(_matches(pattern, model_id) for pattern in self.match)

    def skip_reason(self, listing: Listing) -> str | None:
        """Why ``listing`` is skipped, or None when it passes every filter."""
        if not self.matches(listing.id):
            return "does not match --match"
        if listing.free and not self.include_free:
            return "free (--free to include)"
        if self.max_input_price is not None and listing.price_input_per_m > self.max_input_price:
            return f"input price {listing.price_input_per_m:g} > {self.max_input_price:g}"
        if self.max_output_price is not None and listing.price_output_per_m > self.max_output_price:
            return f"output price {listing.price_output_per_m:g} > {self.max_output_price:g}"
        limit = listing.completion_tokens
        if self.min_completion_tokens is not None and (
            limit is None or limit < self.min_completion_tokens
        ):
            return f"completion limit {limit or 'unknown'} < {self.min_completion_tokens}"
        missing = [p for p in self.required_parameters if p not in listing.supported_parameters]
        if missing:
            return f"does not support {', '.join(missing)}"
        return None


def _matches(pattern: str, model_id: str) -> bool:
    pattern, model_id = pattern.lower(), model_id.lower()
    if any(char in pattern for char in "*?["):
        return fnmatch.fnmatchcase(model_id, pattern)
    return pattern in model_id


# --- the plan -----------------------------------------------------------------------------

SyncAction = Literal["add", "update", "unchanged", "skip", "missing"]


@dataclass(frozen=True)
class SyncRow:
    """One line of a sync's table: what happens to a catalogue entry or stored model."""

    action: SyncAction
    name: str
    model_slug: str
    detail: str = ""
    change: Change | None = None


@dataclass(frozen=True)
class SyncPlan:
    """What a sync does, row by row; :func:`apply_sync` stores its changes."""

    listed: int  # entries in the catalogue
    rows: list[SyncRow] = field(default_factory=list)

    def count(self, action: SyncAction) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def changes(self) -> list[Change]:
        return [row.change for row in self.rows if row.change is not None]


def plan_sync(
    listings: Sequence[Listing],
    filters: SyncFilters,
    stored: Iterable[Model],
    model_base_url: str | None = None,
) -> SyncPlan:
    """The :class:`SyncPlan` for ``listings`` against the ``stored`` models.

    New models get ``model_base_url`` (None: the provider's default URL) so that a
    catalogue read from a mirror or the fake provider is played there too.
    """
    stored = list(stored)
    by_name = {model.name: model for model in stored}
    by_slug: dict[str, list[Model]] = {}
    for model in stored:
        if model.provider == PROVIDER:
            by_slug.setdefault(model.model_slug, []).append(model)
    rows: list[SyncRow] = []
    seen: set[str] = set()
    for listing in listings:
        if listing.id in seen:
            rows.append(SyncRow("skip", listing.id, listing.id, "listed twice in the catalogue"))
            continue
        seen.add(listing.id)
        reason = _unusable(listing) or filters.skip_reason(listing)
        if reason:
            rows.append(SyncRow("skip", listing.id, listing.id, reason))
        elif listing.id in by_slug:
            rows.extend(_updated(model, listing) for model in by_slug[listing.id])
        else:
            rows.append(_added(listing, by_name.get(listing.id), model_base_url))
    rows.extend(
        SyncRow("missing", model.name, slug, "not in the catalogue; kept")
        for slug, models in sorted(by_slug.items())
        if slug not in seen and filters.matches(slug)
        for model in models
    )
    order: list[SyncAction] = ["add", "update", "unchanged", "missing", "skip"]
    return SyncPlan(len(listings), sorted(rows, key=lambda row: order.index(row.action)))


def _unusable(listing: Listing) -> str | None:
    if listing.price_input_per_m < 0 or listing.price_output_per_m < 0:
        return "no fixed price (it varies by request)"
    return None


def _updated(model: Model, listing: Listing) -> SyncRow:
    values: dict[str, Any] = {
        "name": model.name,
        "provider": model.provider,
        "model_slug": model.model_slug,
        "price_input_per_m": listing.price_input_per_m,
        "price_output_per_m": listing.price_output_per_m,
        "catalog_info": listing.catalog_info(),
    }
    limit = listing.completion_limit
    if limit is not None and model.max_completion_tokens and model.max_completion_tokens > limit:
        values["max_completion_tokens"] = limit
    return _row(plan_change(values, model))


def _added(listing: Listing, namesake: Model | None, base_url: str | None) -> SyncRow:
    if namesake is not None:  # a model of another provider, or another id, has the name
        detail = f"name taken by a model of provider {namesake.provider} ({namesake.model_slug})"
        return SyncRow("skip", listing.id, listing.id, detail)
    try:
        entry = check_entry(
            {
                "name": listing.id,
                "provider": PROVIDER,
                "model_slug": listing.id,
                "base_url": base_url,
                "price_input_per_m": listing.price_input_per_m,
                "price_output_per_m": listing.price_output_per_m,
                "max_completion_tokens": listing.completion_limit,
            }
        )
    except CatalogError as exc:
        return SyncRow("skip", listing.id[:80], listing.id[:80], str(exc))
    return _row(plan_change({**entry, "catalog_info": listing.catalog_info()}, None))


def _row(change: Change) -> SyncRow:
    return SyncRow(change.action, change.name, change.model_slug, "; ".join(change.changed), change)


def apply_sync(plan: SyncPlan) -> int:
    """Store the plan's added and updated models in one transaction; how many."""
    return apply_changes(plan.changes)


SUMMARY_LABELS: tuple[tuple[SyncAction, str], ...] = (
    ("add", "added"),
    ("update", "updated"),
    ("unchanged", "unchanged"),
    ("skip", "skipped"),
)


def sync_summary(plan: SyncPlan, dry_run: bool) -> str:
    """One line: how many entries were listed and what happened to them."""
    counts = ", ".join(f"{label} {plan.count(action)}" for action, label in SUMMARY_LABELS)
    missing = plan.count("missing")
    tail = f"; {missing} stored not in the catalogue (kept)" if missing else ""
    head = "dry run, nothing stored: " if dry_run else ""
    return f"{head}{plan.listed} in the {PROVIDER} catalogue: {counts}{tail}"
