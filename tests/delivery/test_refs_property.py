"""Property tests for ``$ref`` resolution (pure; no database)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.delivery import has_refs, resolve_refs
from bot.store.models import RefTarget

NAMES = ["root", "q1", "q2"]
TARGETS = {name: RefTarget(i, "sent", f"17000.{i}", None) for i, name in enumerate(NAMES)}

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
refs = st.sampled_from(NAMES).map(lambda name: {"$ref": name})
payloads = st.recursive(
    scalars | refs,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=4).filter(lambda k: k != "$ref"), inner, max_size=4)
    ),
    max_leaves=20,
)


def count_refs(value: Any) -> int:
    if isinstance(value, dict):
        if len(value) == 1 and "$ref" in value:
            return 1
        return sum(count_refs(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_refs(v) for v in value)
    return 0


def count_ts(value: Any) -> int:
    if isinstance(value, dict):
        return sum(count_ts(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_ts(v) for v in value)
    return int(isinstance(value, str) and value.startswith("17000."))


@given(payloads)
def test_every_marker_is_replaced(payload: Any) -> None:
    resolved = resolve_refs(payload, TARGETS)
    assert not has_refs(resolved)
    assert count_ts(resolved) == count_ts(payload) + count_refs(payload)
    if not has_refs(payload):
        assert resolved == payload
