"""What two runs' results.json must share: the document without the fields that measure the
run rather than the mathematics (wall-clock seconds, cache hits and misses). One home for the
comparison that the thread, cluster and executor identity tests make."""

from __future__ import annotations

from typing import Any

RUN_ACCOUNTING_KEYS = frozenset({"seconds", "cache_hits", "cache_misses"})


def numbers(document: Any) -> Any:
    """``document`` (parsed JSON) with every RUN_ACCOUNTING_KEYS field removed, at any depth."""
    if isinstance(document, dict):
        return {k: numbers(v) for k, v in document.items() if k not in RUN_ACCOUNTING_KEYS}
    if isinstance(document, list):
        return [numbers(v) for v in document]
    return document
