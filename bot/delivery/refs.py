"""``{"$ref": name}`` markers in outbox payloads: a later message points at an earlier
one's Slack ts (a reply in the thread of the root message, an edit of a question)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.store.models import FAILED, RefTarget

REF_KEY = "$ref"


class UnresolvedRef(Exception):
    """A payload points at a message that failed or was never sent."""


def resolve_refs(payload: Any, targets: Mapping[str, RefTarget]) -> Any:
    """Copy ``payload`` with every ``{"$ref": name}`` replaced by that message's ts."""
    if isinstance(payload, dict):
        if len(payload) == 1 and REF_KEY in payload and isinstance(payload[REF_KEY], str):
            return _ref_ts(payload[REF_KEY], targets)
        return {key: resolve_refs(value, targets) for key, value in payload.items()}
    if isinstance(payload, list):
        return [resolve_refs(value, targets) for value in payload]
    return payload


def ref_names(payload: Any) -> set[str]:
    """The names of every ``{"$ref": name}`` marker in ``payload``."""
    if isinstance(payload, dict):
        if len(payload) == 1 and isinstance(payload.get(REF_KEY), str):
            return {payload[REF_KEY]}
        found: set[str] = set()
        for value in payload.values():
            found |= ref_names(value)
        return found
    if isinstance(payload, list):
        found = set()
        for value in payload:
            found |= ref_names(value)
        return found
    return set()


def has_refs(payload: Any) -> bool:
    """True when ``payload`` holds a ``{"$ref": name}`` marker anywhere."""
    return bool(ref_names(payload))


def _ref_ts(name: str, targets: Mapping[str, RefTarget]) -> str:
    target = targets.get(name)
    if target is None:
        raise UnresolvedRef(f"depends on {name}, which was never queued before it")
    if target.status == FAILED or not target.slack_ts:
        reason = target.error or "it has no message ts"
        raise UnresolvedRef(f"depends on {name}, which failed: {reason}")
    return target.slack_ts
