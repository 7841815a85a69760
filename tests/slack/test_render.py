"""`bot.slack.render`: a step's semantic messages as outbox rows, named `root`,
`q<step>`, `r<step>` and `e<step>`, on plain dicts."""

from __future__ import annotations

from bot import steps
from bot.conversation import Conversation
from bot.flow.loader import load_flow
from bot.slack.plan import Plan
from bot.slack.render import Thread, render
from bot.steps import Scene
from bot.steps.messages import Note, Pin, Unpin

FLOW = load_flow("llm_cost")
ALICE = "U0ALICE"
THREAD = Thread("c1", ALICE, ALICE, "https://x/p", "/llm-cost")


def scene(**kw: object) -> Scene:
    return Scene("c1", ALICE, ALICE, "/llm-cost", name=lambda u: f"<@{u}>", **kw)  # type: ignore[arg-type]


def rows(plan: Plan) -> list[tuple[str, str | None, object]]:
    """(kind, ref, what it edits) per row."""
    return [
        (m.kind, m.ref, m.payload.get("ts") or m.payload.get("timestamp")) for m in plan.messages
    ]


def test_a_start_posts_the_root_then_the_first_question() -> None:
    conversation = Conversation.start(FLOW)
    plan = Plan("C1")
    render(plan, steps.start(conversation, scene()).says, THREAD)
    root, question = plan.messages
    assert (root.kind, root.ref, root.sets_thread) == ("post", "root", True)
    assert "thread_ts" not in root.payload
    assert (question.kind, question.ref) == ("post", f"q{conversation.step}")
    assert question.payload["thread_ts"] == {"$ref": "root"}


def test_a_click_edits_the_question_into_the_next_which_takes_its_name() -> None:
    conversation = Conversation.start(FLOW)
    plan = Plan("C1")
    render(plan, steps.click(conversation, scene(), "answer", 0, 1).says, THREAD)
    assert rows(plan) == [("update", "q1", {"$ref": "q0"})]


def test_pins_notes_and_a_typed_result_in_a_channel() -> None:
    plan = Plan("C1")
    render(plan, [Unpin("111.1"), Pin(), Note("hi")], THREAD)
    assert rows(plan) == [
        ("unpin", None, "111.1"),
        ("pin", None, {"$ref": "root"}),
        ("ephemeral", None, None),
    ]
    assert plan.messages[-1].payload["user"] == ALICE


def test_the_estimate_posts_its_card_retitles_the_result_and_uploads_the_chart() -> None:
    conversation = Conversation.start(FLOW)
    for label in ("Training", "10-100B params", "Active"):
        question = conversation.question()
        assert question is not None
        option = question.option(label)
        assert option is not None
        conversation.answer(option.index)
    step = conversation.step
    steps.click(conversation, scene(), "estimate", step, None)
    made = steps.typed(conversation, scene(), "70B on 2T tokens")
    plan = Plan("C1")
    render(plan, made.says, THREAD)
    assert rows(plan) == [
        ("post", f"e{step}", None),
        ("update", None, {"$ref": f"r{step}"}),
        ("update", None, {"$ref": "root"}),
        ("chart", None, None),
    ]
