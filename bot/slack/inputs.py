"""What Slack sends, made safe to use: ids checked, typed text in the form people typed.

Payloads are signed, so these guard against a malformed or hostile request, not
against Slack: a value that fails here is refused (4xx) or ignored, never a crash
or an error line.
"""

from __future__ import annotations

import re

#: Slack's ids (teams, channels, users, enterprises) are short upper-case alphanumerics.
#: The store's columns hold 32 characters.
_SLACK_ID = re.compile(r"[A-Z0-9]{1,32}")
#: trigger_id is digits, dots and hex; it is kept as a de-duplication key.
_TRIGGER_ID = re.compile(r"[0-9A-Za-z.]{1,200}")
#: A message ts: seconds, a dot, a sequence number.
_MESSAGE_TS = re.compile(r"[0-9]{1,16}\.[0-9]{1,10}")


def slack_id(value: object) -> str | None:
    """``value`` when it looks like a Slack id, else None."""
    return value if isinstance(value, str) and _SLACK_ID.fullmatch(value) else None


def trigger_id(value: object) -> str | None:
    return value if isinstance(value, str) and _TRIGGER_ID.fullmatch(value) else None


def message_ts(value: object) -> str | None:
    return value if isinstance(value, str) and _MESSAGE_TS.fullmatch(value) else None


def typed_text(text: str) -> str:
    """Text as the person typed it. Slack escapes `&`, `<` and `>` in what people type
    (a typed `< 100ms` arrives as `&lt; 100ms`): undo that once, here, so parsing sees
    what was typed and output escapes it exactly once. A lone surrogate (JSON allows
    `\\ud800`; no real client sends one) becomes U+FFFD, as it cannot be stored."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def parse_button_value(value: str) -> tuple[str, int, int | None] | None:
    """`<conversation id>:<step>:<option index>` from a button value."""
    parts = value.split(":") if isinstance(value, str) and len(value) <= 200 else []
    if len(parts) != 3 or not _ID.fullmatch(parts[0]) or not _NUMBER.fullmatch(parts[1]):
        return None
    choice = int(parts[2]) if _NUMBER.fullmatch(parts[2]) and parts[2] != "0" else None
    return parts[0], int(parts[1]), choice


# ASCII only: str.isdigit() also accepts "²", which int() refuses.
_ID = re.compile(r"[0-9a-f]{1,32}")
_NUMBER = re.compile(r"[0-9]{1,9}")
