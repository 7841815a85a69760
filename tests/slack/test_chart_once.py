"""Charts exactly once (issue 21 item 4): a 429 or a 500 at any of the three upload
steps (files.getUploadURLExternal, the POST to upload_url, files.completeUploadExternal)
never shares a chart twice, even when Slack acted on the call before answering with the
error; a refusal that retrying cannot fix tells the person in the thread why."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.delivery import PermanentFailure
from bot.slack.chart_upload import UPLOAD_STEP
from bot.slack.failure_notes import FailureNotes
from bot.testing.slack_api import FakeSlack
from tests.slack.harness import CHANNEL, running, settings_for, text_of
from tests.slack.test_estimate import PNG, run_to_the_chart
from tests.slack.test_sender import CHART
from tests.store.helpers import outbox_row

#: The fake's names of the three steps (the upload URL's POSTs are recorded as "upload").
STEPS = {
    "files.getUploadURLExternal": "files.getUploadURLExternal",
    UPLOAD_STEP: "upload",
    "files.completeUploadExternal": "files.completeUploadExternal",
}


def chart_notes(slack) -> list[str]:
    return [text_of(m) for m in slack.thread() if "couldn't add the estimate's chart" in text_of(m)]


#: Each step and status, with Slack having acted on the call before answering the error;
#: step 3 (the only one that shares) also without.
CASES = [(step, status, True) for step in STEPS for status in (429, 500)] + [
    ("files.completeUploadExternal", status, False) for status in (429, 500)
]


@pytest.mark.parametrize(("step", "status", "applied"), CASES)
def test_a_429_or_500_at_any_upload_step_shares_the_chart_once(
    fake: FakeSlack, tmp_path: Path, step: str, status: int, applied: bool
) -> None:
    settings = settings_for(fake, tmp_path / "data", slack_api_timeout=1.0)
    fake.fail_next(STEPS[step], status=status, retry_after=0, applied=applied)
    with running(settings, fake) as slack:
        run_to_the_chart(slack)
        fake.wait_for(lambda c: c.method == STEPS[step] and c.status == status, timeout=30)
        slack.settle(timeout=30)
        shared = fake.files(CHANNEL)
        assert len(shared) == 1, shared
        assert shared[0]["content"].startswith(PNG)
        assert not chart_notes(slack)
        in_thread = [m for m in slack.thread() if m.get("files")]
        assert len(in_thread) == 1


@pytest.mark.parametrize("method", ["files.getUploadURLExternal", "files.completeUploadExternal"])
def test_a_refused_upload_tells_the_person_in_the_thread_why(
    fake: FakeSlack, tmp_path: Path, method: str
) -> None:
    fake.fail_next(method, error="missing_scope")
    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        run_to_the_chart(slack)
        fake.wait_for(lambda c: c.method == method and c.error == "missing_scope", timeout=30)
        slack.settle(timeout=30)
        assert not fake.files(CHANNEL)
        (note,) = chart_notes(slack)
        assert "files:write" in note and "reinstall" in note


@pytest.mark.parametrize("step", list(STEPS))
def test_an_upload_step_still_failing_after_every_retry_tells_the_person(
    fake: FakeSlack, step: str
) -> None:
    """What the deliverer hands the failure notes when the retries run out at ``step``."""
    root = fake.client().chat_postMessage(channel="C1", text="root")["ts"]
    payload = {**CHART, "thread_ts": root}
    chart = outbox_row(id=5, seq=5, kind="chart", payload=payload)
    gave_up = PermanentFailure(f"{step}: http_500 (gave up after 8 attempts)")
    (note,) = FailureNotes()(chart, gave_up)
    text = note.payload["text"]
    assert "couldn't add the estimate's chart: Slack kept failing" in text
    assert "http_500" in text and gave_up.reported
