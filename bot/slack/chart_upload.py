"""The estimate's chart into a thread, exactly once, in Slack's three upload steps.

1. ``files.getUploadURLExternal`` reserves a file; 2. the bytes are POSTed to the
``upload_url`` it gives; 3. ``files.completeUploadExternal`` shares the file in the
thread. Only step 3 shares anything, so only a step-3 attempt whose outcome is
unclear (no answer, a 5xx, even a 429: a proxy or Slack itself may have applied the
call before refusing it) can have shared the chart. Such an attempt marks the row
unconfirmed, and the next one first looks in the thread for a file of the chart's
name (unique per outbox row) before uploading again. A failure at steps 1 or 2 shared
nothing: the next attempt simply starts over. A file reserved but never completed is
not shared, and Slack drops it.

The three steps are made here rather than by slack_sdk's ``files_upload_v2``, which
hides which step failed.
"""

from __future__ import annotations

import logging
import urllib.request
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.delivery import PermanentFailure, Postpone, RetryLater, RetryPolicy
from bot.estimate.chart import CostChart, render_cost_chart
from bot.slack.classify import classify
from bot.store import OutboxRow

log = logging.getLogger(__name__)

#: The code of a chart that failed to draw (not Slack's doing).
CHART_NOT_DRAWN = "chart_not_drawn"
#: The pseudo-method of step 2 (the POST to ``upload_url``), as the error table names it.
UPLOAD_STEP = "upload_url"


def chart_filename(row: OutboxRow) -> str:
    """A chart's file name, unique per outbox row: the marker that finds it again."""
    return f"llm-cost-estimate-{row.conversation_id[:12]}-{row.seq}.png"


class ChartUpload:
    """Draws and uploads one chart row; raises the retry policy's types."""

    def __init__(self, client: WebClient, policy: RetryPolicy) -> None:
        self.client = client
        self.policy = policy

    def send(self, row: OutboxRow, args: dict[str, Any]) -> None:
        """Draw the chart (here, after the ack, never in a listener) and share it."""
        png = self._draw(row, args)
        name = chart_filename(row)
        try:
            reserved = self.client.files_getUploadURLExternal(
                filename=name, length=len(png), alt_txt=args.get("alt_txt")
            )
        except SlackApiError as exc:
            raise classify(exc, self.policy) from None
        except (SlackRequestError, OSError) as exc:  # nothing is shared before step 3
            raise RetryLater(f"files.getUploadURLExternal: {type(exc).__name__}") from None
        upload_url, file_id = reserved.get("upload_url"), reserved.get("file_id")
        if not (isinstance(upload_url, str) and isinstance(file_id, str)):
            raise RetryLater("files.getUploadURLExternal gave no upload_url")
        self._post_bytes(upload_url, png)
        self._complete(row, args, file_id)

    def _draw(self, row: OutboxRow, args: dict[str, Any]) -> bytes:
        try:
            return render_cost_chart(CostChart.from_payload(args))
        except Exception as exc:  # a drawing bug: retrying draws the same again
            log.exception("outbox row %s: the chart could not be drawn", row.id)
            raise PermanentFailure(
                f"chart: {type(exc).__name__}", code=CHART_NOT_DRAWN, call="chart"
            ) from None

    def _post_bytes(self, url: str, png: bytes) -> None:
        """Step 2. Any failure here shared nothing: the next attempt reserves anew (an
        upload URL that expired or was refused is never reused)."""
        request = urllib.request.Request(url, data=png, method="POST")
        proxy = self.client.proxy  # slack_sdk's, read from the environment if unset
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": proxy, "https": proxy} if proxy else {}),
            urllib.request.HTTPSHandler(context=self.client.ssl),
        )
        try:
            with opener.open(request, timeout=self.client.timeout) as answer:
                answer.read()
        except OSError as exc:  # HTTPError (4xx, 5xx, 429), timeouts, resets
            raise RetryLater(f"{UPLOAD_STEP}: {type(exc).__name__}: {exc}") from None

    def _complete(self, row: OutboxRow, args: dict[str, Any], file_id: str) -> None:
        """Step 3, the only one that shares: whatever leaves its outcome unclear makes
        the next attempt look for the chart first."""
        try:
            self.client.files_completeUploadExternal(
                files=[{"id": file_id, "title": args["title"]}],
                channel_id=args["channel"],
                thread_ts=args.get("thread_ts"),
            )
        except SlackApiError as exc:
            problem = classify(exc, self.policy)
            if isinstance(problem, Postpone):
                # Wait as long as a share takes to show before looking for it.
                delay = max(problem.delay, self.policy.unconfirmed_after)
                raise Postpone(problem.reason, delay, unconfirmed=True) from None
            if isinstance(problem, RetryLater):
                raise RetryLater(problem.error, unanswered=True) from None
            raise problem from None
        except (SlackRequestError, OSError) as exc:
            error = f"files.completeUploadExternal: {type(exc).__name__}"
            raise RetryLater(error, unanswered=True) from None

    def already_shared(self, row: OutboxRow, args: dict[str, Any]) -> bool:
        """After an attempt whose outcome is unclear: whether the chart was shared in the
        thread all the same (a file of its name is there)."""
        name = chart_filename(row)
        try:
            if args.get("thread_ts"):
                found = self.client.conversations_replies(
                    channel=args["channel"], ts=args["thread_ts"], limit=1000
                )
            else:  # a direct message's main stream
                found = self.client.conversations_history(channel=args["channel"], limit=200)
        except SlackApiError as exc:
            problem = classify(exc, self.policy)
            if isinstance(problem, RetryLater):
                problem.unconfirmed = True
            elif isinstance(problem, Postpone):
                problem.unconfirmed = True  # still unknown: look again next time
            raise problem from None
        except (SlackRequestError, OSError) as exc:
            error = f"checking for an earlier upload failed: {exc}"
            raise RetryLater(error, unconfirmed=True) from None
        for message in found.get("messages") or []:
            if any(f.get("name") == name for f in message.get("files") or []):
                log.info("outbox row %s: the chart had been shared after all", row.id)
                return True
        return False
