"""What a person sees outside a conversation's thread: a channel's history (for the
slash command) and their App Home (published through their own outbox queue)."""

from __future__ import annotations

from bot.conversation import Conversation
from bot.flow.loader import FlowRegistry
from bot.slack.history import PAGE_SIZE, HistoryQuery, history_message
from bot.slack.home import MAX_OPEN, MAX_RESULTS, OpenItem, home_view
from bot.slack.moves import Moves
from bot.store import OutboxMessage, Page, Store


class People:
    """History and the App Home; cancelling from Home goes through `Moves`."""

    def __init__(self, store: Store, flows: FlowRegistry, moves: Moves) -> None:
        self.store = store
        self.flows = flows
        self.moves = moves
        self.command = moves.command

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
        """Queue a views.publish of the person's Home view. The view is built when it is
        sent (`SlackSender` calls `home_view`), so of two opens at once the later
        publish shows the newest state. ``seen``: the Slack event it answers (a retry
        of it publishes nothing more)."""
        message = OutboxMessage("publish", {"user_id": user, "_team": team})
        self.store.enqueue(self.store.person_queue(team, user), [message], seen=seen)

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
