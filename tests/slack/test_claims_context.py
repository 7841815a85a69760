"""What a request queues is claimed for the deliverer through the request's context
(`bot.store.claiming`), with no `claims` parameter between the front and the store:
the rows go straight to a sender thread after the answer."""

from __future__ import annotations

from pathlib import Path

from bot.store.models import Claims
from bot.testing.slack_api import FakeSlack
from tests.slack.harness import running, settings_for


def test_a_command_and_a_click_hand_their_rows_to_the_deliverer(
    fake: FakeSlack, tmp_path: Path
) -> None:
    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        deliverer = slack.apps[0].runtime.deliverer
        handed: list[tuple[str, list]] = []
        original = deliverer.send_claimed

        def recording(claims: Claims) -> None:
            handed.extend(claims.taken)
            original(claims)

        deliverer.send_claimed = recording  # type: ignore[method-assign]
        status, _ = slack.command()
        assert status == 200
        slack.settle()
        [(conversation_id, rows)] = [(c, r) for c, r in handed if r]
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
        assert all(r.claim_token for r in rows)
        handed.clear()
        slack.answer("Training")
        slack.settle()
        assert [c for c, r in handed if r] == [conversation_id]
