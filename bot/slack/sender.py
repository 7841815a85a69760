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

from bot.chart import CostChart, render_cost_chart
from bot.delivery import (
    UNRESOLVED_REF,
    Delivered,
    PermanentFailure,
    Postpone,
    RetryLater,
    RetryPolicy,
)
from bot.slack import blocks, person_notices
from bot.slack.installations import NOT_INSTALLED, Access, OneWorkspace, Workspaces
from bot.slack.pacing import ChannelPacer
from bot.slack.plan import REPLACES, DirectMessage
from bot.slack.token_health import DEAD_TOKEN, TokenHealth
from bot.store import OutboxMessage, OutboxRow
from bot.store.models import NOTIFY_RESPONSE_URL, NOTIFY_USER

log = logging.getLogger(__name__)

#: Message metadata that ties a posted message to its outbox row.
MARKER_EVENT = "llm_cost_outbox"
#: The code of a chart that failed to draw (not Slack's doing).
CHART_NOT_DRAWN = "chart_not_drawn"
#: Kinds that add a message to a channel: paced, and looked for after an unclear attempt.
POSTS = frozenset({"post", "chart"})


def chart_filename(row: OutboxRow) -> str:
    """A chart's file name, unique per outbox row: the marker that finds it again."""
    return f"llm-cost-estimate-{row.conversation_id[:12]}-{row.seq}.png"


#: Builds a person's Home view: (team, user, notice, fresh thread links) -> view.
HomeView = Callable[[str, str, str | None, dict[str, str]], dict]

#: Slack's error codes worth trying again (with any 5xx): the retry policy's ``transient``.
TRANSIENT = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
}
NOT_THERE = {"not_in_channel", "channel_not_found", "is_archived"}
PIN_REASONS = {
    "too_many_pins": "this channel has reached Slack's limit of pinned items; unpin something "
    "old and pin the result above by hand",
    "not_pinnable": "Slack does not allow pinning this message",
    "restricted_action": "a workspace setting stops apps from pinning here; pin the result "
    "above by hand",
    "not_in_channel": "I am not a member of this channel",
    "message_not_found": "the result message was deleted",
}


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
        ``workspaces``: each row's token (OAuth mode: its workspace's, looked up at send
        time; ``client`` must then be a `WorkspaceClient`). Default: the client's own."""
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
        self.token = token or TokenHealth()
        self.workspaces = workspaces or OneWorkspace(self.token)

    def send(self, row: OutboxRow, payload: dict[str, Any]) -> str | Delivered | None:
        """Send ``row`` as its workspace: with that workspace's token, never another's."""
        try:
            access = self.workspaces.access(row.team, row.enterprise)
        except (SlackRequestError, OSError) as exc:  # a token refresh that did not get through
            raise RetryLater(f"token refresh: {type(exc).__name__}: {exc}") from None
        if access.token is None:
            return self._send(row, payload, access)
        with self.client.acting_for(access.token):  # type: ignore[attr-defined]
            return self._send(row, payload, access)

    def _send(self, row: OutboxRow, payload: dict[str, Any], access: Access) -> Any:
        args = {k: v for k, v in payload.items() if not k.startswith("_")}
        channel = str(args.get("channel", ""))
        refused = access.health.refused
        if refused and row.kind != "respond":  # a response_url needs no token
            raise PermanentFailure(refused, code=refused, ends_conversation=True)
        if row.kind == "post":
            args["metadata"] = _marker(row)
            if row.unconfirmed:
                found = self._already_posted(row, args)
                if found:
                    return found
        if row.kind == "chart" and row.unconfirmed and self._already_uploaded(row, args):
            return None
        if row.kind in POSTS:
            wait = self.pacer.reserve(channel, key=row.id)
            if wait > 0:
                raise Postpone("paced: about 1 message per second per channel", wait)
        try:
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
                self._upload_chart(row, args)
                return None
            if row.kind == "permalink":
                return self._permalink(row, args, payload)
            if row.kind == "publish":
                self._publish(args, payload)
                return None
            if row.kind == "open_dm":
                return self._open_dm(row, payload)
        except SlackApiError as exc:
            problem = _classify(exc, self.policy)
            if isinstance(problem, PermanentFailure) and problem.code in DEAD_TOKEN:
                access.health.refuse(problem.code)
            elif isinstance(problem, PermanentFailure) and row.kind in ("pin", "unpin"):
                # A refused pin (in a DM, say) leaves the result standing: say why instead.
                problem.ends_conversation = False
            if isinstance(problem, Postpone) and row.kind in POSTS:
                self.pacer.block(channel, problem.delay)
            if isinstance(problem, RetryLater) and row.kind in POSTS:
                problem.unconfirmed = True  # a 5xx: Slack may have posted it all the same
                # A shared file shows in the thread a moment after the call: give it time.
                problem.unanswered = row.kind == "chart"
            raise problem from None
        except (SlackRequestError, OSError) as exc:  # timeouts, resets, DNS
            # A post may have been made anyway: the policy has it looked for, later.
            error = f"{type(exc).__name__}: {exc}"
            raise RetryLater(error, unanswered=row.kind in POSTS) from None
        raise PermanentFailure(f"unknown outbox kind {row.kind!r}")

    def _permalink(
        self, row: OutboxRow, args: dict[str, Any], payload: dict[str, Any]
    ) -> Delivered | None:
        """A link to the thread, for history and the App Home. Nice to have: when Slack
        will not give one (the message is gone), there is just no link. The channel
        message of a conversation this one replaced then says so, with the link."""
        try:
            found = self.client.chat_getPermalink(**args)
        except SlackApiError as exc:
            problem = _classify(exc, self.policy)
            if not isinstance(problem, PermanentFailure) or problem.code in DEAD_TOKEN:
                raise
            log.info("no permalink for a thread: %s", problem.code)
            found = {}
        link = found.get("permalink")
        link = link if isinstance(link, str) and link else None
        if link:  # a Home view built before the deliverer records it still shows it
            self._fresh_links[row.conversation_id] = link
            while len(self._fresh_links) > 1000:
                self._fresh_links.pop(next(iter(self._fresh_links)))
        replaced = payload.get(REPLACES)
        if isinstance(replaced, dict):
            self._point_to_newer(str(args["channel"]), replaced, link)
        return Delivered(permalink=link) if link else None

    def _point_to_newer(self, channel: str, replaced: dict[str, Any], link: str | None) -> None:
        """Edit a replaced conversation's channel message to say so, linking here when
        Slack gave the link. An edit, safe to repeat; a message that is gone needs none."""
        newer = f"<{link}|newer conversation>" if link else "newer conversation"
        what = f"Replaced by a {newer}. Start again any time with `{self.command}`."
        message = blocks.ended_root_message(str(replaced["user"]), str(replaced["title"]), what)
        try:
            self.client.chat_update(channel=channel, ts=str(replaced["ts"]), **message)
        except SlackApiError as exc:
            problem = _classify(exc, self.policy)
            if not isinstance(problem, PermanentFailure) or problem.code in DEAD_TOKEN:
                raise
            log.info("the replaced conversation's channel message was not edited: %s", problem.code)

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
        except (SlackApiError, SlackRequestError, OSError) as exc:
            error = f"checking for an earlier post failed: {exc}"
            raise RetryLater(error, unconfirmed=True) from None
        marker = args["metadata"]
        for message in found.get("messages") or []:
            if message.get("metadata") == marker and message.get("ts"):
                log.info("outbox row %s had been posted after all; not posting it again", row.id)
                return str(message["ts"])
        return None

    def _upload_chart(self, row: OutboxRow, args: dict[str, Any]) -> None:
        """Draw the estimate's chart (here, after the ack, never in a listener) and upload
        it into the thread: files.getUploadURLExternal, the bytes, then
        files.completeUploadExternal, which shares it. Its file name is its marker."""
        try:
            png = render_cost_chart(CostChart.from_payload(args))
        except Exception as exc:  # a drawing bug: retrying draws the same again
            log.exception("outbox row %s: the chart could not be drawn", row.id)
            raise PermanentFailure(f"chart: {type(exc).__name__}", code=CHART_NOT_DRAWN) from None
        self.client.files_upload_v2(
            channel=args["channel"],
            thread_ts=args.get("thread_ts"),
            file=png,
            filename=chart_filename(row),
            title=args["title"],
            alt_txt=args["alt_txt"],
        )

    def _already_uploaded(self, row: OutboxRow, args: dict[str, Any]) -> bool:
        """After an attempt whose outcome is unknown: whether the chart was shared in the
        thread all the same (a file of its name is there), so it is not shared twice.
        A file that was uploaded but never completed is not shared, and Slack drops it."""
        name = chart_filename(row)
        try:
            if args.get("thread_ts"):
                found = self.client.conversations_replies(
                    channel=args["channel"], ts=args["thread_ts"], limit=1000
                )
            else:  # a direct message's main stream
                found = self.client.conversations_history(channel=args["channel"], limit=200)
        except SlackApiError as exc:
            problem = _classify(exc, self.policy)
            if isinstance(problem, RetryLater):
                problem.unconfirmed = True
            raise problem from None
        except (SlackRequestError, OSError) as exc:
            error = f"checking for an earlier upload failed: {exc}"
            raise RetryLater(error, unconfirmed=True) from None
        for message in found.get("messages") or []:
            if any(f.get("name") == name for f in message.get("files") or []):
                log.info("outbox row %s: the chart had been shared after all", row.id)
                return True
        return False

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
            raise PermanentFailure(f"response_url answered {status}")

    def on_failure(self, row: OutboxRow, failure: PermanentFailure) -> Sequence[OutboxMessage]:
        """Tell people what went wrong where it matters; never lose the result silently."""
        code = failure.code
        if row.kind in ("open_dm", "publish", "dm") and code not in DEAD_TOKEN:
            return person_notices.refused(row, code or failure.error, self.command)
        if row.kind in self.quiet:
            return ()  # nobody else to tell
        if failure.ends_conversation:
            text = self._why_stopped(row, code)
            dm = code not in DEAD_TOKEN and code != NOT_INSTALLED
            return _tell_privately(row.payload, text, dm=dm)
        if row.kind == "chart" and code != UNRESOLVED_REF:
            if code == CHART_NOT_DRAWN:
                why = "it could not be drawn"
            elif code == "missing_scope":
                why = (
                    "the app lacks the `files:write` permission; a workspace admin can "
                    "reinstall it from its manifest to grant it"
                )
            else:
                why = f"Slack said `{blocks.escape(code or failure.error)}`"
            return _thread_note(
                row,
                f":bar_chart: I couldn't add the estimate's chart: {why}. The table in this "
                "thread has the same numbers.",
            )
        if row.kind == "pin" and code != UNRESOLVED_REF:
            reason = PIN_REASONS.get(code, f"Slack said `{blocks.escape(code or failure.error)}`")
            if str(row.payload.get("channel", "")).startswith("D") and code == "not_in_channel":
                reason = "Slack does not let me pin in this direct message"
            return _thread_note(
                row,
                f":pushpin: I couldn't pin the recommendation: {reason}. "
                "The result is still in this thread, and in the message that started it.",
            )
        return ()

    def _why_stopped(self, row: OutboxRow, code: str) -> str:
        """What to tell the person when Slack will take nothing more for a conversation."""
        channel = str(row.payload.get("channel", ""))
        if code == NOT_INSTALLED:
            return (
                "This app is no longer installed in this workspace, so it stopped your "
                "conversation. Ask a workspace admin to add it again, then start again "
                f"with `{self.command}`."
            )
        if code in DEAD_TOKEN:
            return (
                f"This app's access to the workspace was revoked (Slack said `{code}`), so "
                "it stopped your conversation and cannot post any more. Ask a workspace "
                "admin to reinstall the app, then start again with "
                f"`{self.command}`."
            )
        if channel.startswith("D"):
            return (
                "I can't post in this direct message: apps may post only in their own "
                "direct messages and in channels they were added to, and a direct message "
                "has no way to add me. Use *New plan* on my Home tab or the shortcut *Plan "
                f"an LLM workload* (a plan in your direct message with me), or run "
                f"`{self.command}` in a channel I'm in."
            )
        if code == "is_archived":
            return (
                "This channel was archived, so I stopped your conversation there. Run "
                f"`{self.command}` in another channel to start again."
            )
        if row.ref == "root":
            return (
                f"I can't post in this channel because I'm not a member of it. "
                f"Invite me with `/invite @{self.bot_name}` (or add the app from the "
                f"channel's settings), then run `{self.command}` again."
            )
        return (
            f"I was removed from this channel, so I stopped your conversation there. "
            f"Invite me back with `/invite @{self.bot_name}` and run `{self.command}` "
            "to start again."
        )


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


def _classify(exc: SlackApiError, policy: RetryPolicy) -> Exception:
    response = exc.response
    status = getattr(response, "status_code", 200)
    error = str(response.get("error") or f"http_{status}") if response is not None else "unknown"
    if status == 429:
        retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
        try:
            seconds = float(retry_after[0] if isinstance(retry_after, list) else retry_after)
        except (TypeError, ValueError):
            seconds = 1.0
        return Postpone("ratelimited by Slack (429)", seconds)
    if policy.retries(status, error):
        return RetryLater(error)
    ends = error in NOT_THERE or error in DEAD_TOKEN
    return PermanentFailure(error, code=error, ends_conversation=ends)


def _marker(row: OutboxRow) -> dict[str, Any]:
    return {
        "event_type": MARKER_EVENT,
        "event_payload": {"outbox": f"{row.conversation_id}:{row.seq}"},
    }
