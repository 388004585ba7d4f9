"""Request limits: set, clear and read the caps every worker keeps on provider requests.

The caps themselves are enforced in Redis (:mod:`snakebench.games.request_limits`); the
database only says what they are, so that every worker reads the same figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from snakebench.store.db import transaction
from snakebench.store.models import LIMIT_SCOPES, RequestLimit, utcnow

# Caps beyond any provider's (and an INTEGER column's range on PostgreSQL).
MAX_LIMIT = 1_000_000


@dataclass(frozen=True)
class LimitRow:
    """One stored limit; ``None`` means that dimension is not capped."""

    scope: str
    name: str
    max_concurrency: int | None
    max_rpm: int | None


def set_limit(scope: str, name: str, *, concurrency: int | None, rpm: int | None) -> LimitRow:
    """Store the limits of a provider or a model. A dimension given as ``None`` keeps its
    stored value, so ``--rpm`` alone leaves a concurrency cap as it was."""
    _check_scope(scope)
    for what, value in (("concurrency", concurrency), ("rpm", rpm)):
        if value is not None and not 1 <= value <= MAX_LIMIT:
            raise ValueError(f"a limit's {what} is a whole number from 1 to {MAX_LIMIT:,}")
    with transaction():
        row = RequestLimit.get_or_none(RequestLimit.scope == scope, RequestLimit.name == name)
        if row is None:
            row = RequestLimit(scope=scope, name=name)
        if concurrency is not None:
            row.max_concurrency = concurrency
        if rpm is not None:
            row.max_rpm = rpm
        row.updated_at = utcnow()
        row.save()
    return _row(row)


def clear_limit(scope: str, name: str) -> bool:
    """Drop the limits of a provider or a model; False if it had none."""
    _check_scope(scope)
    query = RequestLimit.delete().where(RequestLimit.scope == scope, RequestLimit.name == name)
    return bool(query.execute())


def list_limits() -> list[LimitRow]:
    """Every stored limit, providers first, then by name."""
    rows = RequestLimit.select().order_by(RequestLimit.scope.desc(), RequestLimit.name)
    return [_row(row) for row in rows]


def any_limits() -> bool:
    """Whether any request limit is set: games may then wait for provider slots, and
    their jobs get the time (:func:`snakebench.queueing.job_timeout`)."""
    return bool(RequestLimit.select().exists())


def limits_for(providers: Iterable[str], models: Iterable[str]) -> list[LimitRow]:
    """The limits that apply to requests of these providers and models: one query, so a
    game reads all its players' limits at once."""
    providers, models = sorted(set(providers)), sorted(set(models))
    if not providers and not models:
        return []
    condition = ((RequestLimit.scope == "provider") & RequestLimit.name.in_(providers)) | (
        (RequestLimit.scope == "model") & RequestLimit.name.in_(models)
    )
    return [_row(row) for row in RequestLimit.select().where(condition)]


def _row(row: RequestLimit) -> LimitRow:
    return LimitRow(row.scope, row.name, row.max_concurrency, row.max_rpm)


def _check_scope(scope: str) -> None:
    if scope not in LIMIT_SCOPES:
        raise ValueError(f"a limit's scope is provider or model, not {scope!r}")
