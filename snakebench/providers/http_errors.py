"""HTTP failures sorted into "retry" and "give up", the same way for every SDK.

Both SDKs raise their own exception trees, but the decision only depends on the
status code and the ``Retry-After`` header, so it is made here once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from snakebench.providers.base import (
    PermanentProviderError,
    ProviderError,
    TransientProviderError,
)

# 408 request timeout, 409 conflict (a lock on the provider's side) and 429 rate
# limit are the provider saying "not now"; every 5xx is the provider's fault.
TRANSIENT_STATUSES = frozenset({408, 409, 429})
MAX_MESSAGE_CHARS = 300


def is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUSES or status >= 500


def status_error(
    model: str,
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    secret: str | None = None,
) -> ProviderError:
    """The error for an HTTP error reply from the provider of ``model``."""
    text = f"model {model!r}: HTTP {status}: {one_line(message, secret)}"
    if is_transient_status(status):
        return TransientProviderError(text, retry_after_seconds(headers or {}))
    return PermanentProviderError(text)


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait a server asked for, from ``retry-after-ms`` (OpenAI's) or
    ``Retry-After`` (seconds or an HTTP date). ``None`` when absent or unreadable."""
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = _number(lowered.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def one_line(message: str, secret: str | None = None) -> str:
    """A message fit for one log line and a database column: no newlines, bounded
    length, and the API key (if a provider echoes it back) masked."""
    if secret:
        message = message.replace(secret, "***")
    flat = " ".join(message.split())
    if len(flat) > MAX_MESSAGE_CHARS:
        flat = flat[: MAX_MESSAGE_CHARS - 3] + "..."
    return flat
