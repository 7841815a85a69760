"""`/llm-cost history [mine] [page]`: a channel's results as lines that help: when
(in each reader's own time zone), who, the answers, the headline, and a link to the
thread. Pure builders; the rows come from `Store.history`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.slack.blocks import context, escape, mention, section
from bot.store import HistoryPage, HistoryRow

PAGE_SIZE = 10
_QUERY = re.compile(r"history(?: (mine))?(?: ([1-9][0-9]{0,3}))?")


@dataclass(frozen=True)
class HistoryQuery:
    """What `history` was asked for: only the caller's results, and which page."""

    mine: bool = False
    page: int = 1


def parse_history(words: str) -> HistoryQuery | None:
    """``history``, ``history mine``, ``history 2``, ``history mine 2``; None otherwise."""
    found = _QUERY.fullmatch(words)
    if found is None:
        return None
    return HistoryQuery(mine=bool(found.group(1)), page=int(found.group(2) or 1))


def slack_date(when: datetime) -> str:
    """A time every reader sees in their own time zone (Slack's date formatting), with
    a UTC fallback for clients that cannot format it."""
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def thread_link(permalink: str | None, label: str = "Open the thread") -> str:
    """A mrkdwn link to a thread; empty when Slack has not given its link (yet)."""
    if not permalink or not permalink.startswith("https://") or "|" in permalink:
        return ""
    return f"<{escape(permalink)}|{label}>"


def headline(row: HistoryRow) -> str:
    """The recommended offering (with its count and cost, once estimated), as the
    result's header names it; results stored before headlines were kept name the
    flowchart's nodes."""
    stored = row.summary.get("headline")
    if isinstance(stored, str) and stored:
        return stored
    return " + ".join(str(t) for t in row.summary.get("titles", [])) or "a result"


def answers_line(row: HistoryRow) -> str:
    """The answers given, in one line."""
    pairs = row.summary.get("answers", [])
    return " · ".join(str(pair[1]) for pair in pairs if isinstance(pair, list) and len(pair) == 2)


def result_text(row: HistoryRow, *, whose: bool = True, place: str | None = None) -> str:
    """One result: time · who (or where: ``place``, safe mrkdwn) · link, then the
    headline, then the answers."""
    first = [slack_date(row.created_at)]
    if whose:
        first.append(mention(row.user))
    if place:
        first.append(f"in {place}")
    link = thread_link(row.permalink)
    if link:
        first.append(link)
    lines = [" · ".join(first), f"*{escape(headline(row))}*"]
    answers = answers_line(row)
    if answers:
        lines.append(escape(answers))
    return "\n".join(lines)


def history_message(found: HistoryPage, query: HistoryQuery, command: str) -> dict:
    """A page of history, newest first, and how to see the next one."""
    whose = "Your results" if query.mine else "Results"
    asked = f"{command} history{' mine' if query.mine else ''}"
    if not found.rows:
        text = (
            f"{whose} in this channel: none yet. Start a plan with `{command}`."
            if query.page == 1
            else f"{whose} in this channel: nothing on page {query.page}. "
            f"The newest are at `{asked}`."
        )
        return {"text": text.replace("`", ""), "blocks": [section(text)]}
    title = f"{whose} in this channel" + (f", page {query.page}" if query.page > 1 else "")
    blocks: list[dict] = [section(f"*{title}*")]
    blocks += [section(result_text(row, whose=not query.mine)) for row in found.rows]
    hint = [] if query.mine else [f"Only yours: `{command} history mine`."]
    if found.more:
        hint.insert(0, f"Older results: `{asked} {query.page + 1}`.")
    if hint:
        blocks.append(context(" ".join(hint)))
    return {"text": title, "blocks": blocks[:50]}
