"""Every refusal has an owner: for each Slack method the app calls and each error it
can answer, who hears of it (the person, with what to do, or the operator's log, with
the fix). README's table "When Slack refuses" is this table (a test keeps them equal).

Transient answers (429, 5xx, ``internal_error``...) are no refusal: the retry policy
tries again, and only when it gives up does the row ``(method, GAVE_UP)`` apply.
A row for ``ANY`` method applies where no row names the method; ``OTHER`` stands for
every error no row of the method names. :func:`refusal_for` always finds a row.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from bot.slack.token_health import DEAD_TOKEN, TOKEN_EVENTS
from bot.store.models import OutboxRow

log = logging.getLogger(__name__)


class Told(enum.Enum):
    """Who hears of a refusal."""

    THREAD = "the person, in the thread"
    PRIVATELY = "the person, privately (response_url, else a DM)"
    LOG = "the log, one WARNING line"
    HOME = "the log, one WARNING line; for a plan asked for on the App Home, the person there"


ANY = "any method"
OTHER = "any other error"
GAVE_UP = "still failing after every retry"

#: Errors that say the app sent something Slack will not take: a bug in the app.
BAD_REQUEST = (
    "invalid_arguments",
    "invalid_arg_name",
    "invalid_array_arg",
    "invalid_charset",
    "invalid_form_data",
    "invalid_post_type",
    "missing_post_type",
    "invalid_json",
    "json_not_object",
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_too_long",
    "msg_blocks_too_long",
    "no_text",
    "too_many_attachments",
    "invalid_metadata_format",
    "invalid_metadata_schema",
    "metadata_too_large",
    "block_mismatch",
)
#: Errors that say a workspace setting or the token's kind forbids the call.
FORBIDDEN = (
    "not_allowed_token_type",
    "no_permission",
    "ekm_access_denied",
    "team_access_not_granted",
    "enterprise_is_restricted",
    "access_denied",
    "org_login_required",
    "two_factor_setup_required",
)
BUG = "a bug in the app (it sent what Slack will not take): report this line to its developers"
REINSTALL = "reinstall the app and restart it with the new SLACK_BOT_TOKEN"


@dataclass(frozen=True)
class Refusal:
    """One row: ``say`` is what the person is told (None: only the log hears of it);
    ``fix`` is what to do, for the README and the log line. ``{command}``, ``{bot}``
    and ``{code}`` are filled in when told."""

    method: str
    errors: tuple[str, ...]
    told: Told
    fix: str
    say: str | None = None


def _person(method: str, errors: tuple[str, ...], say: str, fix: str, told: Told) -> Refusal:
    return Refusal(method, errors, told, fix, say)


def _log(method: str, errors: tuple[str, ...], fix: str) -> Refusal:
    return Refusal(method, errors, Told.LOG, fix)


REVOKED = (
    "This app's access to the workspace was revoked (Slack said `{code}`), so it stopped "
    "your conversation and cannot post any more. Ask a workspace admin to reinstall the "
    "app, then start again with `{command}`."
)
REMOVED = (
    "I was removed from this channel, so I stopped your conversation there. Invite me "
    "back with `/invite @{bot}` and run `{command}` to start again."
)
ARCHIVED = (
    "This channel was archived, so I stopped your conversation there. Run `{command}` "
    "in another channel to start again."
)
FAILING = (
    "Slack kept failing to take my messages for your conversation (`{code}`), so a step "
    "may be missing from its thread. Please run `{command}` again in a few minutes."
)
CHART = (
    ":bar_chart: I couldn't add the estimate's chart: {why}. The table in this thread has "
    "the same numbers."
)
PIN = (
    ":pushpin: I couldn't pin the recommendation: {why}. The result is still in this "
    "thread, and in the message that started it."
)
THERE = ("not_in_channel", "channel_not_found")
POSTS = ("chat.postMessage", "chat.update")
UPLOAD = ("files.getUploadURLExternal", "files.completeUploadExternal")

TABLE: tuple[Refusal, ...] = (
    _person(
        ANY,
        tuple(sorted(DEAD_TOKEN | TOKEN_EVENTS)),
        REVOKED,
        REINSTALL + " (only after auth.test refuses the token too; /healthz answers 503 meanwhile)",
        Told.PRIVATELY,
    ),
    _log(
        ANY,
        ("missing_scope",),
        "the app lacks a scope this call needs (the line names "
        "it): reinstall the app from manifest.json, which lists every scope it needs",
    ),
    _log(
        ANY,
        FORBIDDEN,
        "a workspace setting or the token's kind forbids this call: use "
        "the bot token (xoxb-) and ask a workspace admin to allow the app",
    ),
    _log(ANY, BAD_REQUEST, BUG),
    _log(
        ANY,
        (OTHER,),
        "Slack refused a call the app makes; look the error up on the "
        "method's page at https://api.slack.com/methods and report it",
    ),
    *(
        r
        for method in (*POSTS, "chat.postEphemeral")
        for r in (
            _person(method, THERE, REMOVED, "invite the app back to the channel", Told.PRIVATELY),
            _person(
                method,
                ("is_archived",),
                ARCHIVED,
                "unarchive the channel, or start in another one",
                Told.PRIVATELY,
            ),
        )
    ),
    *(
        _person(
            method,
            (GAVE_UP,),
            FAILING,
            "wait for Slack to recover (https://slack-status.com); nothing is lost",
            Told.PRIVATELY,
        )
        for method in POSTS
    ),
    _log(
        "chat.update",
        ("message_not_found", "cant_update_message", "edit_window_closed"),
        "someone deleted the app's message, or it can no longer be edited: nothing to do; "
        "the conversation goes on in its thread",
    ),
    _log(
        "chat.postEphemeral",
        ("user_not_in_channel", GAVE_UP),
        "the person left the channel before a private note reached them: nothing to do",
    ),
    *(
        r
        for method in UPLOAD
        for r in (
            _person(
                method,
                ("missing_scope",),
                CHART.format(
                    why="the app lacks the `files:write` permission; a workspace admin can "
                    "reinstall it from its manifest to grant it"
                ),
                "reinstall the app from manifest.json (files:write)",
                Told.THREAD,
            ),
            _person(
                method,
                (OTHER, *FORBIDDEN, *BAD_REQUEST),
                CHART.format(why="Slack said `{code}`"),
                "none needed: the estimate's table has the same numbers; if it keeps "
                "happening, look the error up on the method's page",
                Told.THREAD,
            ),
        )
    ),
    _person(
        "chart",
        (GAVE_UP,),
        CHART.format(why="Slack kept failing to take it (`{code}`)"),
        "none needed: the estimate's table has the same numbers; any step that fails (the "
        "POST to upload_url included) is retried first; check https://slack-status.com "
        "if it keeps happening",
        Told.THREAD,
    ),
    _person(
        "files.completeUploadExternal",
        (*THERE, "is_archived"),
        REMOVED,
        "invite the app back to the channel",
        Told.PRIVATELY,
    ),
    _person(
        "chart",
        ("chart_not_drawn",),
        CHART.format(why="it could not be drawn"),
        "a bug in the app's chart drawing: report the log's traceback to its developers",
        Told.THREAD,
    ),
    _person(
        "pins.add",
        ("too_many_pins",),
        PIN.format(
            why="this channel has reached Slack's limit of pinned items; unpin something old "
            "and pin the result above by hand"
        ),
        "unpin old items in the channel",
        Told.THREAD,
    ),
    _person(
        "pins.add",
        ("restricted_action", "permission_denied"),
        PIN.format(
            why="a workspace setting stops apps from pinning here; pin the result above by hand"
        ),
        "allow apps to pin, or pin by hand",
        Told.THREAD,
    ),
    _person(
        "pins.add",
        ("not_pinnable",),
        PIN.format(why="Slack does not allow pinning this message"),
        "pin by hand",
        Told.THREAD,
    ),
    _person(
        "pins.add",
        ("not_in_channel",),
        PIN.format(why="I am not a member of this channel"),
        "invite the app to the channel",
        Told.THREAD,
    ),
    _person(
        "pins.add",
        ("channel_not_found",),
        PIN.format(
            why="Slack could not find this channel for pinning (a private channel I was "
            "removed from?); invite me back, or pin the result above by hand"
        ),
        "invite the app to the channel",
        Told.THREAD,
    ),
    _person(
        "pins.add",
        ("message_not_found",),
        PIN.format(why="the result message was deleted"),
        "nothing to do",
        Told.THREAD,
    ),
    _person(
        "pins.add",
        (OTHER, GAVE_UP),
        PIN.format(why="Slack said `{code}`"),
        "pin the result by hand",
        Told.THREAD,
    ),
    _log(
        "pins.remove",
        (OTHER, GAVE_UP),
        "an earlier result stays pinned in the channel: unpin it by hand",
    ),
    _log(
        "chat.getPermalink",
        ("channel_not_found", "message_not_found", OTHER, GAVE_UP),
        "history and the Home tab show this conversation without a link to its thread; "
        "if the channel is private, invite the app back to it",
    ),
    _log(
        "views.publish",
        ("not_enabled",),
        "the app's Home tab is off: turn it on (api.slack.com/apps → App Home → Home Tab, "
        "or manifest features.app_home.home_tab_enabled)",
    ),
    _log(
        "views.publish",
        ("channel_not_found", "not_found", "user_not_found", OTHER, GAVE_UP),
        "the person's Home tab was not updated: enable the Home tab "
        "(manifest features.app_home) and check the person is still in the workspace; "
        "it is published again when they open it",
    ),
    Refusal(
        "conversations.open",
        (
            "channel_not_found",
            "user_not_found",
            "user_disabled",
            "user_not_visible",
            "cannot_dm_bot",
            OTHER,
            GAVE_UP,
        ),
        Told.HOME,
        "the person could not be sent a direct message (deactivated, or the app's Messages "
        "tab is off): enable the Messages tab (manifest features.app_home) and check "
        "im:write; they can run the slash command in a channel instead",
    ),
    _log(
        "response_url",
        (OTHER, GAVE_UP),
        "the reply link (a slash command's or a click's response_url) expired: Slack "
        "keeps it 30 minutes, 5 uses, so the person was not told privately; nothing to "
        "do, the thread shows where the conversation stopped",
    ),
    _log(
        "auth.test",
        (OTHER, GAVE_UP),
        "none: auth.test gave no clear answer, so it decided nothing; the message is "
        "retried and auth.test asked again before anything ends",
    ),
)


def refusal_for(method: str, code: str) -> Refusal:
    """The row for ``method`` refusing with ``code`` (``GAVE_UP`` after every retry):
    the method's row naming the code, else a row for any method naming it, else the
    method's catch-all, else the catch-all of catch-alls."""
    for wanted_method, wanted_code in ((method, code), (ANY, code), (method, OTHER)):
        for row in TABLE:
            if row.method == wanted_method and wanted_code in row.errors:
                return row
    return next(r for r in TABLE if r.method == ANY and OTHER in r.errors)


def markdown() -> str:
    """The table as README shows it (a test keeps README's copy equal to this)."""
    lines = ["| method | error | who is told | what to do |", "|---|---|---|---|"]
    for row in TABLE:
        named = [e for e in row.errors if e not in BAD_REQUEST and e not in FORBIDDEN]
        if row.method == ANY:
            named = list(row.errors)
        errors = ", ".join(e if e in (OTHER, GAVE_UP) else f"`{e}`" for e in named)
        if row.method != ANY and set(BAD_REQUEST) <= set(row.errors):
            errors += ", the request and permission errors named above"
        method = row.method if row.method in (ANY, "chart") else f"`{row.method}`"
        fix = row.fix.replace("|", "\\|")
        lines.append(f"| {method} | {errors} | {row.told.value} | {fix} |")
    return "\n".join(lines)


def log_refusal(row: OutboxRow, method: str, code: str, detail: str = "") -> None:
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
