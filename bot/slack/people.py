"""What a person sees outside a conversation's thread: a channel's history (for the
slash command) and their App Home (published through their own outbox queue).

A Home view is built here, when its publish row is queued, and the row carries it:
the sender only sends it. Rows of one queue go out in order, so building and queueing
under one lock keeps a person's publishes in the order of the states they show: the
last one published is the newest. Where the view depends on a send (the thread's
link after a start in a direct message), an after-send hook publishes again once
that send is done (`bot.slack.after_send.publish_home`)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from bot.conversation import Conversation
from bot.flow.loader import FlowRegistry
from bot.slack.history import PAGE_SIZE, HistoryQuery, history_message
from bot.slack.home import MAX_OPEN, MAX_RESULTS, OpenItem, home_view
from bot.slack.moves import Moves
from bot.store import OutboxMessage, Page, Store


class People:
    """History and the App Home; cancelling from Home goes through `Moves`."""

    def __init__(
        self,
        store: Store,
        flows: FlowRegistry,
        moves: Moves,
        links: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        """``links()``: thread links Slack just gave, by conversation, that the store
        may not hold yet (`bot.slack.after_send.FreshLinks`)."""
        self.store = store
        self.flows = flows
        self.moves = moves
        self.command = moves.command
        self.links = links or dict
        self._publishing = threading.Lock()

    def history(self, *, team: str, channel: str, user: str, query: HistoryQuery) -> dict:
        """A page of the channel's results (only the caller's with ``mine``)."""
        found = self.store.history(
            team,
            channel=channel,
            user=user if query.mine else None,
            page=Page(query.page, PAGE_SIZE),
        )
        return history_message(found, query, self.command)

    def show_home(self, *, team: str, user: str, seen: str | None = None) -> None:
        """Queue a views.publish of the person's Home view as it is now. ``seen``: the
        Slack event it answers (a retry of it publishes nothing more)."""
        self.publish_home(team=team, user=user, seen=seen)

    def publish_home(
        self,
        *,
        team: str,
        user: str,
        notice: str | None = None,
        links: dict[str, str] | None = None,
        seen: str | None = None,
    ) -> bool:
        """Build the person's Home view now and queue its views.publish in their own
        queue, the view in the row. One build-and-queue at a time in this process, so
        a view built later is queued later and published later (``notice`` and
        ``links``: see `home_view`). False when ``seen`` came before."""
        queue = self.store.person_queue(team, user)
        with self._publishing:
            view = self.home_view(team, user, notice, {**self.links(), **(links or {})})
            message = OutboxMessage("publish", {"user_id": user, "view": view, "_team": team})
            return self.store.enqueue(queue, [message], seen=seen)

    def cancel_from_home(self, *, team: str, user: str, conversation_id: str) -> None:
        """Home's Cancel: end that conversation (its thread says so), then show Home
        again without it."""
        self.moves.cancel_own(team=team, user=user, conversation_id=conversation_id)
        self.show_home(team=team, user=user)

    def home_view(
        self,
        team: str,
        user: str,
        notice: str | None = None,
        links: dict[str, str] | None = None,
    ) -> dict:
        """The person's Home view now; ``notice`` (safe mrkdwn): something to tell them
        first, such as why a plan could not be started; ``links``: thread links Slack
        just gave, by conversation, that the store may not hold yet."""
        links = links or {}
        items = []
        for row in self.store.open_conversations(team, user, MAX_OPEN):
            question = Conversation.restore(self.flows, row.record).question()
            items.append(
                OpenItem(
                    conversation_id=row.id,
                    channel=row.channel,
                    started=row.created_at,
                    question=question.text if question else None,
                    permalink=row.permalink or links.get(row.id),
                )
            )
        results = self.store.history(team, user=user, page=Page(1, MAX_RESULTS)).rows
        return home_view(items, results, self.command, notice)
