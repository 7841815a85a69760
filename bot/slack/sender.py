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
from collections.abc import Callable, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.webhook import WebhookClient

from bot.delivery import (
    UNRESOLVED_REF,
    Delivered,
    PermanentFailure,
    Postpone,
    RetryLater,
    RetryPolicy,
)
from bot.slack import blocks, person_notices
from bot.slack.chart_upload import CHART_NOT_DRAWN, ChartUpload, chart_filename
from bot.slack.classify import NOT_THERE, TRANSIENT, classify
from bot.slack.installations import OneWorkspace, Workspaces
from bot.slack.pacing import ChannelPacer
from bot.slack.plan import REPLACES, DirectMessage
from bot.slack.refusal_table import GAVE_UP, REMOVED, Refusal, Told, refusal_for
from bot.slack.token_health import DEAD_TOKEN, TOKEN_EVENTS, TokenHealth
from bot.store import OutboxMessage, OutboxRow
from bot.store.models import NOTIFY_RESPONSE_URL, NOTIFY_USER

__all__ = ["CHART_NOT_DRAWN", "TRANSIENT", "SlackSender", "chart_filename"]

log = logging.getLogger(__name__)
#: A pin refused in a direct message: no channel words.
DM_PIN = "Slack does not let me pin in this direct message"

#: Message metadata that ties a posted message to its outbox row.
MARKER_EVENT = "llm_cost_outbox"
#: Kinds that add a message to a channel: paced, and looked for after an unclear attempt.
POSTS = frozenset({"post", "chart"})
#: The Web API method (or step) an outbox kind fails at when its failure names none.
METHOD_OF_KIND = {
    "post": "chat.postMessage",
    "update": "chat.update",
    "pin": "pins.add",
    "unpin": "pins.remove",
    "ephemeral": "chat.postEphemeral",
    "respond": "response_url",
    "dm": "conversations.open",
    "chart": "chart",  # which step failed last is in the row's error
    "permalink": "chat.getPermalink",
    "publish": "views.publish",
    "open_dm": "conversations.open",
}


#: Builds a person's Home view: (team, user, notice, fresh thread links) -> view.
HomeView = Callable[[str, str, str | None, dict[str, str]], dict]


class Paced(Postpone):
    """The pacer's own wait (not Slack's 429): it must not block the channel again."""


class SlackSender:
    """Implements the store's `Sender` with a slack_sdk `WebClient`."""

    #: Sending these twice does no harm (an edit, a pin, a link asked for, a Home view
    #: published): see `Sender`.
    repeatable = frozenset({"update", "pin", "unpin", "permalink", "publish"})
    #: Kinds whose failure nobody else needs to hear about (a notice, a link, a view).
    quiet = frozenset({"respond", "dm", "permalink", "publish", "open_dm"})

    def __init__(
        self,
        client: WebClient,
        *,
        command: str = "/llm-cost",
        bot_name: str = "the app",
        response_timeout: float = 10.0,
        pacer: ChannelPacer | None = None,
        token: TokenHealth | None = None,
        policy: RetryPolicy | None = None,
        on_dm_opened: Callable[[DirectMessage], None] | None = None,
        home_view: HomeView | None = None,
        workspaces: Workspaces | None = None,
    ):
        """``on_dm_opened``: starts a conversation in a direct message opened for a person
        who asked for one outside any channel (the App Home, the shortcut).
        ``home_view(team, user, notice, links)``: a person's Home view, built when it is
        sent (``links``: thread links just given, by conversation, not yet recorded).
        ``workspaces``: each row's token and its standing (OAuth mode: its workspace's,
        looked up at send time; ``client`` must then be a `WorkspaceClient`). Default:
        the client's own token and ``token``."""
        self.client = client
        self.on_dm_opened = on_dm_opened
        self.home_view = home_view
        self._publishing = threading.Lock()
        self._fresh_links: dict[str, str] = {}
        self.policy = policy or RetryPolicy(transient=frozenset(TRANSIENT))
        self.pacer = pacer or ChannelPacer()
        self.command = command
        self.bot_name = bot_name
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
        args = {k: v for k, v in payload.items() if not k.startswith("_")}
        channel = str(args.get("channel", ""))
        refused = self.token.refused
        if refused and row.kind != "respond" and not self.token.recheck():
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
            if row.kind in POSTS:
                wait = self.pacer.reserve(channel, key=row.id)
                if wait > 0:
                    raise Paced("paced: about 1 message per second per channel", wait)
            return self._call(row, args, payload)
        except SlackApiError as exc:
            problem = classify(exc, self.policy)
        except (PermanentFailure, RetryLater, Postpone) as exc:  # already decided
            problem = exc
        except (SlackRequestError, OSError) as exc:  # timeouts, resets, DNS
            # A post may have been made anyway: the policy has it looked for, later.
            error = f"{type(exc).__name__}: {exc}"
            raise RetryLater(error, unanswered=row.kind == "post") from None
        raise self._settled(row, channel, problem) from None

    def _call(self, row: OutboxRow, args: dict[str, Any], payload: dict[str, Any]) -> Any:
        """The Web API call(s) of one outbox kind."""
        if row.kind == "post":
            return self.client.chat_postMessage(**args)["ts"]
        if row.kind == "update":
            self.client.chat_update(**args)
            return args.get("ts")
        if row.kind == "pin":
            return self._pin(args)
        if row.kind == "unpin":
            return self._unpin(args)
        if row.kind == "ephemeral":
            return self.client.chat_postEphemeral(**args).get("message_ts")
        if row.kind == "respond":
            self._respond(args)
            return None
        if row.kind == "dm":
            opened = self.client.conversations_open(users=args.pop("user"))
            return self.client.chat_postMessage(channel=opened["channel"]["id"], **args)["ts"]
        if row.kind == "chart":
            self.charts.send(row, args)
            return None
        if row.kind == "permalink":
            return self._permalink(row, args, payload)
        if row.kind == "publish":
            self._publish(args, payload)
            return None
        if row.kind == "open_dm":
            return self._open_dm(row, payload)
        raise PermanentFailure(f"unknown outbox kind {row.kind!r}")

    def _settled(self, row: OutboxRow, channel: str, problem: Exception) -> Exception:
        """What a failed send means for the row, the conversation and the token."""
        if isinstance(problem, PermanentFailure) and problem.code in DEAD_TOKEN:
            method = problem.call or METHOD_OF_KIND.get(row.kind, row.kind)
            if not self.token.confirm(problem.code, method):
                # auth.test accepts the token (or said nothing clear): one answer is
                # not Slack's word on the token; try the message again.
                return RetryLater(f"{problem.code} (not confirmed by auth.test)")
            problem.ends_conversation = True
        elif isinstance(problem, PermanentFailure) and (
            row.kind in ("pin", "unpin") or row.kind in self.quiet
        ):
            # A refused pin (in a DM, say) leaves the result standing: say why instead.
            # A notice, a link or a Home view that fails ends nothing either.
            problem.ends_conversation = False
        if isinstance(problem, Postpone) and not isinstance(problem, Paced) and row.kind == "post":
            self.pacer.block(channel, problem.delay)  # Slack's 429: the channel waits
        if isinstance(problem, RetryLater) and row.kind == "post":
            problem.unconfirmed = True  # a 5xx: Slack may have posted it all the same
        return problem

    def _permalink(
        self, row: OutboxRow, args: dict[str, Any], payload: dict[str, Any]
    ) -> Delivered | None:
        """A link to the thread, for history and the App Home. Nice to have: when Slack
        will not give one (the message is gone), there is just no link, and the log
        says what to do. The channel message of a conversation this one replaced then
        says so, with the link."""
        try:
            found = self.client.chat_getPermalink(**args)
        except SlackApiError as exc:
            problem = classify(exc, self.policy)
            if not isinstance(problem, PermanentFailure) or problem.code in DEAD_TOKEN:
                raise
            self._log_refusal(row, "chat.getPermalink", problem.code)
            found = {}
        link = found.get("permalink")
        link = link if isinstance(link, str) and link else None
        if link:  # a Home view built before the deliverer records it still shows it
            self._fresh_links[row.conversation_id] = link
            while len(self._fresh_links) > 1000:
                self._fresh_links.pop(next(iter(self._fresh_links)))
        replaced = payload.get(REPLACES)
        if isinstance(replaced, dict):
            self._point_to_newer(row, str(args["channel"]), replaced, link)
        return Delivered(permalink=link) if link else None

    def _point_to_newer(
        self, row: OutboxRow, channel: str, replaced: dict[str, Any], link: str | None
    ) -> None:
        """Edit a replaced conversation's channel message to say so, linking here when
        Slack gave the link. An edit, safe to repeat; a message that is gone needs none."""
        newer = f"<{link}|newer conversation>" if link else "newer conversation"
        what = f"Replaced by a {newer}. Start again any time with `{self.command}`."
        message = blocks.ended_root_message(str(replaced["user"]), str(replaced["title"]), what)
        try:
            self.client.chat_update(channel=channel, ts=str(replaced["ts"]), **message)
        except SlackApiError as exc:
            problem = classify(exc, self.policy)
            if not isinstance(problem, PermanentFailure) or problem.code in DEAD_TOKEN:
                raise
            self._log_refusal(row, "chat.update", problem.code)

    def _publish(self, args: dict[str, Any], payload: dict[str, Any]) -> None:
        """A Home view, built now from what the store holds (a queued view could be
        older than one published before it): whichever publish goes last shows the
        newest state. One at a time in this process, so two cannot cross."""
        with self._publishing:
            if "view" not in args and self.home_view is not None:
                notice = payload.get("_notice")
                team, user = str(payload.get("_team", "")), str(args["user_id"])
                notice = notice if isinstance(notice, str) else None
                args["view"] = self.home_view(team, user, notice, dict(self._fresh_links))
            self.client.views_publish(**args)

    def _open_dm(self, row: OutboxRow, payload: dict[str, Any]) -> str:
        """Open the person's direct message with the app and start a conversation there.
        Starting is keyed on this row, so a repeated attempt starts nothing twice."""
        user = str(payload["user"])
        channel = str(self.client.conversations_open(users=user)["channel"]["id"])
        if self.on_dm_opened is not None:
            key = f"dm:{row.conversation_id}:{row.seq}"
            self.on_dm_opened(DirectMessage(str(payload["_team"]), user, channel, key))
        return channel

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

    def _pin(self, args: dict[str, Any]) -> str | None:
        # already_pinned: the pin holds the updated root, nothing to do.
        return self._pins(self.client.pins_add, args, harmless="already_pinned")

    def _unpin(self, args: dict[str, Any]) -> str | None:
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

    def _respond(self, args: dict[str, Any]) -> None:
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

    def on_failure(self, row: OutboxRow, failure: PermanentFailure) -> Sequence[OutboxMessage]:
        """Tell whoever owns this refusal (README's table, `bot.slack.refusal_table`): the
        person, with what to do, or the log, once, with the method, the error and the
        fix. Never lose the result silently."""
        failure.reported = True
        code = failure.code
        if code == UNRESOLVED_REF:
            return ()  # an earlier message failed; its owner was told then
        method = failure.call or METHOD_OF_KIND.get(row.kind, row.kind)
        refusal = refusal_for(method, code or GAVE_UP)
        if failure.ends_conversation and row.kind not in self.quiet:
            text = self._why_stopped(row, refusal, code)
            dead = code in DEAD_TOKEN or code in TOKEN_EVENTS  # a DM cannot go either
            return _tell_privately(row.payload, text, dm=not dead)
        if refusal.say is None or row.kind in self.quiet:
            self._log_refusal(row, method, code, failure.error)
            if row.kind == "open_dm" and code not in DEAD_TOKEN:  # the table's Told.HOME
                # A plan asked for on the App Home: say so there, where they look.
                return person_notices.home_notice(row.payload, code or failure.error, self.command)
            return ()
        text = refusal.say.format(
            command=self.command, bot=self.bot_name, code=blocks.escape(code or failure.error)
        )
        if row.kind == "pin" and code == "not_in_channel" and _in_dm(row):
            text = text.replace("I am not a member of this channel", DM_PIN)
        if refusal.told is Told.THREAD:
            return _thread_note(row, text)
        return _tell_privately(row.payload, text, dm=True)

    def _log_refusal(self, row: OutboxRow, method: str, code: str, detail: str = "") -> None:
        """The one WARNING line of a refusal only the log hears of."""
        refusal = refusal_for(method, code or GAVE_UP)
        log.warning(
            "Slack refused %s with %s (outbox row %s, %s, conversation %s); to fix: %s",
            method,
            code or f"{GAVE_UP}: {detail}",
            row.id,
            row.kind,
            row.conversation_id,
            refusal.fix,
        )

    def _why_stopped(self, row: OutboxRow, refusal: Refusal, code: str) -> str:
        """What to tell the person when Slack will take nothing more for a conversation:
        the table's words, unless the place asks for others (a DM, a first post)."""
        channel = str(row.payload.get("channel", ""))
        gone = code in NOT_THERE and code != "is_archived"
        if gone and channel.startswith("D"):
            return (
                "I can't post in this direct message: apps may post only in their own "
                "direct messages and in channels they were added to, and a direct message "
                "has no way to add me. Use *New plan* on my Home tab or the shortcut *Plan "
                f"an LLM workload* (a plan in your direct message with me), or run "
                f"`{self.command}` in a channel I'm in."
            )
        if gone and row.ref == "root":
            return (
                f"I can't post in this channel because I'm not a member of it. "
                f"Invite me with `/invite @{self.bot_name}` (or add the app from the "
                f"channel's settings), then run `{self.command}` again."
            )
        say = refusal.say if refusal.told is Told.PRIVATELY and refusal.say else REMOVED
        return say.format(command=self.command, bot=self.bot_name, code=blocks.escape(code))


def _thread_note(row: OutboxRow, text: str) -> list[OutboxMessage]:
    """A note (safe mrkdwn) posted in the thread of ``row``'s conversation."""
    payload = {"channel": row.payload["channel"], "thread_ts": {"$ref": "root"}}
    return [OutboxMessage("post", {**payload, **blocks.note_message(text)})]


def _tell_privately(payload: dict[str, Any], text: str, *, dm: bool) -> list[OutboxMessage]:
    """Through the conversation's latest response_url, or else (when a DM can still be
    posted) a direct message to the person the conversation is for."""
    response_url = payload.get(NOTIFY_RESPONSE_URL)
    if isinstance(response_url, str) and response_url:
        body = {"response_url": response_url, "response_type": "ephemeral", "text": text}
        return [OutboxMessage("respond", body)]
    user = payload.get(NOTIFY_USER)
    if dm and isinstance(user, str) and user:
        return [OutboxMessage("dm", {"user": user, **blocks.note_message(text)})]
    log.warning("a stopped conversation's person could not be told: no response_url, no DM")
    return []


def _in_dm(row: OutboxRow) -> bool:
    return str(row.payload.get("channel", "")).startswith("D")


def _marker(row: OutboxRow) -> dict[str, Any]:
    return {
        "event_type": MARKER_EVENT,
        "event_payload": {"outbox": f"{row.conversation_id}:{row.seq}"},
    }
