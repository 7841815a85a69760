"""Outbox kinds -> Slack Web API calls, and Slack's errors -> retry or give up.

Posts carry a marker in their message metadata (the outbox row's conversation and
seq). When an attempt ends without a clear answer (a timeout, a dropped
connection, a 5xx, or a process that died mid-send so that its claim lapsed),
Slack may have posted the message anyway; the next attempt first looks for the
marker in the thread (or the channel) and, if it is there, records that message
instead of posting a second one. Edits and pins are safe to repeat as they are.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.webhook import WebhookClient

from bot.delivery import Delivered, PermanentFailure, Postpone, RetryLater, RetryPolicy
from bot.slack.chart_upload import CHART_NOT_DRAWN, ChartUpload, chart_filename
from bot.slack.classify import TRANSIENT, classify
from bot.slack.kinds import KINDS, REPEATABLE, Kind, method_of
from bot.slack.pacing import ChannelPacer
from bot.slack.refusal_table import log_refusal
from bot.slack.token_health import DEAD_TOKEN, TokenHealth
from bot.slack.workspace_access import OneWorkspace, Workspaces
from bot.store import OutboxRow

__all__ = ["CHART_NOT_DRAWN", "TRANSIENT", "SlackSender", "chart_filename"]

log = logging.getLogger(__name__)

#: Message metadata that ties a posted message to its outbox row.
MARKER_EVENT = "llm_cost_outbox"


class Paced(Postpone):
    """The pacer's own wait (not Slack's 429): it must not block the channel again."""


class SlackSender:
    """Implements the deliverer's `Sender` with a slack_sdk `WebClient`: sends one row
    as its kind says (`bot.slack.kinds`) and returns what Slack gave back. What follows
    a send or a refusal is the application's (`bot.slack.after_send`,
    `bot.slack.failure_notes`), registered with the deliverer."""

    #: Sending these twice does no harm (an edit, a pin, a link asked for, a Home view
    #: published): see `Sender`.
    repeatable = REPEATABLE

    def __init__(
        self,
        client: WebClient,
        *,
        response_timeout: float = 10.0,
        pacer: ChannelPacer | None = None,
        token: TokenHealth | None = None,
        policy: RetryPolicy | None = None,
        workspaces: Workspaces | None = None,
    ):
        """``workspaces``: each row's token and its standing (OAuth mode: its workspace's,
        looked up at send time; ``client`` must then be a `WorkspaceClient`). Default:
        the client's own token and ``token``."""
        self.client = client
        self.policy = policy or RetryPolicy(transient=frozenset(TRANSIENT))
        self.pacer = pacer or ChannelPacer()
        self.response_timeout = response_timeout
        self._token = token or TokenHealth()
        self._acting = threading.local()  # the workspace this sender thread sends for
        self.workspaces = workspaces or OneWorkspace(self._token)
        self.charts = ChartUpload(client, self.policy)

    @property
    def token(self) -> TokenHealth:
        """The standing of the token of the workspace this thread is sending for."""
        return getattr(self._acting, "health", None) or self._token

    def send(self, row: OutboxRow, payload: dict[str, Any]) -> str | Delivered | None:
        """Send ``row`` as its workspace: with that workspace's token, never another's."""
        try:
            access = self.workspaces.access(row.team, row.enterprise)
        except (SlackRequestError, OSError) as exc:  # a token refresh that did not get through
            raise RetryLater(f"token refresh: {type(exc).__name__}: {exc}") from None
        self._acting.health = access.health
        try:
            if access.token is None:
                return self._send(row, payload)
            with self.client.acting_for(access.token):  # type: ignore[attr-defined]
                return self._send(row, payload)
        finally:
            self._acting.health = None

    def _send(self, row: OutboxRow, payload: dict[str, Any]) -> str | Delivered | None:
        kind = KINDS.get(row.kind)
        if kind is None:
            raise PermanentFailure(f"unknown outbox kind {row.kind!r}")
        args = dict(payload)  # the handlers take arguments out of it
        channel = str(args.get("channel", ""))
        refused = self.token.refused
        if refused and kind.needs_token and not self.token.recheck():
            # A response_url needs no token; otherwise nothing goes until auth.test
            # accepts the token again (asked at most once a minute).
            raise PermanentFailure(refused, code=refused, ends_conversation=True)
        try:
            if row.kind == "post":
                args["metadata"] = _marker(row)
                if row.unconfirmed:
                    found = self._already_posted(row, args)
                    if found:
                        return found
            if row.kind == "chart" and row.unconfirmed and self.charts.already_shared(row, args):
                return None
            if kind.posts:
                wait = self.pacer.reserve(channel, key=row.id)
                if wait > 0:
                    raise Paced("paced: about 1 message per second per channel", wait)
            return getattr(self, kind.send)(row, args)
        except SlackApiError as exc:
            problem = classify(exc, self.policy)
        except (PermanentFailure, RetryLater, Postpone) as exc:  # already decided
            problem = exc
        except (SlackRequestError, OSError) as exc:  # timeouts, resets, DNS
            # A post may have been made anyway: the policy has it looked for, later.
            error = f"{type(exc).__name__}: {exc}"
            raise RetryLater(error, unanswered=row.kind == "post") from None
        raise self._settled(row, kind, channel, problem) from None

    # ---- one method per kind (`Kind.send`) --------------------------------------------

    def _post(self, row: OutboxRow, args: dict[str, Any]) -> str:
        return self.client.chat_postMessage(**args)["ts"]

    def _update(self, row: OutboxRow, args: dict[str, Any]) -> str | None:
        self.client.chat_update(**args)
        return args.get("ts")

    def _ephemeral(self, row: OutboxRow, args: dict[str, Any]) -> str | None:
        return self.client.chat_postEphemeral(**args).get("message_ts")

    def _dm(self, row: OutboxRow, args: dict[str, Any]) -> str:
        opened = self.client.conversations_open(users=args.pop("user"))
        return self.client.chat_postMessage(channel=opened["channel"]["id"], **args)["ts"]

    def _chart(self, row: OutboxRow, args: dict[str, Any]) -> None:
        self.charts.send(row, args)

    def _settled(self, row: OutboxRow, kind: Kind, channel: str, problem: Exception) -> Exception:
        """What a failed send means for the row, the conversation and the token."""
        if isinstance(problem, PermanentFailure) and problem.code in DEAD_TOKEN:
            method = problem.call or method_of(row.kind)
            if not self.token.confirm(problem.code, method):
                # auth.test accepts the token (or said nothing clear): one answer is
                # not Slack's word on the token; try the message again.
                return RetryLater(f"{problem.code} (not confirmed by auth.test)")
            problem.ends_conversation = True
        elif isinstance(problem, PermanentFailure) and not kind.may_end:
            # A refused pin (in a DM, say) leaves the result standing: say why instead.
            # A notice, a link or a Home view that fails ends nothing either.
            problem.ends_conversation = False
        if isinstance(problem, Postpone) and not isinstance(problem, Paced) and row.kind == "post":
            self.pacer.block(channel, problem.delay)  # Slack's 429: the channel waits
        if isinstance(problem, RetryLater) and row.kind == "post":
            problem.unconfirmed = True  # a 5xx: Slack may have posted it all the same
        return problem

    def _permalink(self, row: OutboxRow, args: dict[str, Any]) -> Delivered | None:
        """A link to the thread, for history and the App Home. Nice to have: when Slack
        will not give one (the message is gone), there is just no link, and the log
        says what to do."""
        try:
            found = self.client.chat_getPermalink(**args)
        except SlackApiError as exc:
            problem = classify(exc, self.policy)
            if not isinstance(problem, PermanentFailure) or problem.code in DEAD_TOKEN:
                raise
            log_refusal(row, "chat.getPermalink", problem.code)
            found = {}
        link = found.get("permalink")
        link = link if isinstance(link, str) and link else None
        return Delivered(permalink=link) if link else None

    def _publish(self, row: OutboxRow, args: dict[str, Any]) -> None:
        """A Home view, as the application built it when it queued the row
        (`People.publish_home`): the sender builds nothing and reads no store."""
        if not isinstance(args.get("view"), dict):
            raise PermanentFailure("a views.publish row without a view", code="no_view")
        self.client.views_publish(**args)

    def _open_dm(self, row: OutboxRow, args: dict[str, Any]) -> Delivered:
        """Open the person's direct message with the app; the channel goes back (what
        starts there is an after-send hook's, `bot.slack.after_send`)."""
        channel = str(self.client.conversations_open(users=str(args["user"]))["channel"]["id"])
        return Delivered(ts=channel, channel=channel)

    def _already_posted(self, row: OutboxRow, args: dict[str, Any]) -> str | None:
        """After an attempt whose outcome is unknown, the ts of the message if Slack did
        post it (found by the marker in its metadata), so it is not posted twice."""
        channel, thread = args["channel"], args.get("thread_ts")
        try:
            if thread:
                found = self.client.conversations_replies(
                    channel=channel, ts=thread, include_all_metadata=True, limit=200
                )
            else:
                # Newest first; the lookup comes seconds after the attempt, so the
                # channel's last 200 messages hold it if it was posted at all.
                found = self.client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=200
                )
        except SlackApiError as exc:
            problem = classify(exc, self.policy)
            if isinstance(problem, PermanentFailure) and problem.code in DEAD_TOKEN:
                raise problem from None  # the token is checked before anything ends
            error = f"checking for an earlier post failed: {problem}"
            raise RetryLater(error, unconfirmed=True) from None
        except (SlackRequestError, OSError) as exc:
            error = f"checking for an earlier post failed: {exc}"
            raise RetryLater(error, unconfirmed=True) from None
        marker = args["metadata"]
        for message in found.get("messages") or []:
            if message.get("metadata") == marker and message.get("ts"):
                log.info("outbox row %s had been posted after all; not posting it again", row.id)
                return str(message["ts"])
        return None

    def plan(self, rows: Sequence[OutboxRow]) -> None:
        """Before a conversation's rows are sent: its posts to a busy channel get
        neighbouring pacing slots (see `ChannelPacer.book_together`)."""
        posts = [row for row in rows if row.kind == "post"]
        if len(posts) > 1:
            channel = str(posts[0].payload.get("channel", ""))
            self.pacer.book_together(channel, [row.id for row in posts])

    def _pin(self, row: OutboxRow, args: dict[str, Any]) -> str | None:
        # already_pinned: the pin holds the updated root, nothing to do.
        return self._pins(self.client.pins_add, args, harmless="already_pinned")

    def _unpin(self, row: OutboxRow, args: dict[str, Any]) -> str | None:
        # no_pin: nothing was pinned, nothing to take down.
        return self._pins(self.client.pins_remove, args, harmless="no_pin")

    @staticmethod
    def _pins(call: Any, args: dict[str, Any], *, harmless: str) -> str:
        try:
            call(channel=args["channel"], timestamp=args["timestamp"])
        except SlackApiError as exc:
            if exc.response.get("error") != harmless:
                raise
        return args["timestamp"]

    def _respond(self, row: OutboxRow, args: dict[str, Any]) -> None:
        url = args.pop("response_url")
        webhook = WebhookClient(url, timeout=int(self.response_timeout), retry_handlers=[])
        try:
            response = webhook.send_dict(args)
        except OSError as exc:  # unreachable, reset, timed out
            raise RetryLater(f"response_url: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise RetryLater(f"response_url answered {status}")
        if status >= 400:
            code = f"http_{status}"
            raise PermanentFailure(
                f"response_url answered {status}", code=code, call="response_url"
            )


def _marker(row: OutboxRow) -> dict[str, Any]:
    return {
        "event_type": MARKER_EVENT,
        "event_payload": {"outbox": f"{row.conversation_id}:{row.seq}"},
    }
