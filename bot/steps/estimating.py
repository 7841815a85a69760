"""*Estimate the cost*, or a reply to its follow-up question: ask what is still
unknown, or show the estimate and its chart and put the cost in the result."""

from __future__ import annotations

from bot.conversation import Conversation, EstimateAsk, EstimateReady, Refused
from bot.conversation.outcomes import AnswerResult, CommandOutcome
from bot.steps.messages import AskEstimate, Chart, RepromptEstimate, ShowEstimate, Step
from bot.steps.showing import commit, note


def estimate(conversation: Conversation, outcome: CommandOutcome | AnswerResult) -> Step:
    """The step for an estimate's ``outcome`` (the conversation has moved already)."""
    if isinstance(outcome, Refused):
        return note(outcome.reason)
    words = conversation.flow.words.estimate
    if isinstance(outcome, EstimateAsk) and words is not None:
        follow_up = getattr(words.ask, outcome.field)
        # While the estimate asks, the result (and its summary in history) is the one
        # already stored: nothing to build again.
        if outcome.reason:  # the reply did not give it: say so privately
            reprompt = (RepromptEstimate(follow_up, outcome.reason),)
            # What it gave besides is kept: committed, with nothing said in the thread.
            return Step(reprompt, commit(conversation, None) if outcome.kept else None)
        return Step((AskEstimate(follow_up, outcome),), commit(conversation, None))
    if not isinstance(outcome, EstimateReady):
        return Step()
    rec, step = outcome.recommendation, conversation.step
    says = (ShowEstimate(outcome.estimate, rec, step), Chart(outcome.estimate))
    return Step(says, commit(conversation, rec))
