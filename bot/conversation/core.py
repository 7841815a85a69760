"""A conversation's record and its moves: start, answer, back, restart, cancel, and
the estimate after a result.

Pure logic: no Slack and no database. A `Conversation` pairs a compiled
`Flow` (shared, with its one Machine) with a JSON-serialisable
`ConversationRecord`; every move mutates the record in place and bumps `step`
(the estimate's follow-ups leave it alone: see `begin_estimate`).
"""

from __future__ import annotations

from dataclasses import replace

from pydantic import BaseModel

from bot.conversation.answers import (
    Command,
    CommandName,
    Matched,
    Unclear,
    parse_answer,
    parse_command,
    parse_follow_on,
    unused_words,
)
from bot.conversation.outcomes import (
    Advanced,
    Answer,
    AnswerResult,
    CommandGiven,
    CommandOutcome,
    EstimateAsk,
    EstimateOutcome,
    EstimateReady,
    HelpWanted,
    Moved,
    NotActive,
    Progress,
    Refused,
    Reprompt,
)
from bot.conversation.recommendation import (
    AnsweredQuestion,
    Recommendation,
    RecommendedNode,
    ShownNote,
)
from bot.estimate import Estimate
from bot.estimate.dialog import (
    ASKED,
    EstimateField,
    EstimateInputs,
    capacity_note,
    compute,
    inputs_from_answers,
    region_problem,
    still_needed,
    take_reply,
    typed_params,
)
from bot.flow.compiled import ADVANCE, ANSWER, Flow, Option, Question
from bot.flow.loader import FlowRegistry
from bot.pricing.regions import read_region
from bot.status import Status

__all__ = [
    "Advanced",
    "Answer",
    "AnswerResult",
    "CommandGiven",
    "CommandOutcome",
    "Conversation",
    "ConversationRecord",
    "EstimateAsk",
    "EstimateOutcome",
    "EstimateReady",
    "HelpWanted",
    "Moved",
    "NotActive",
    "Progress",
    "Refused",
    "Reprompt",
    "Status",
]


class ConversationRecord(BaseModel):
    """Everything needed to resume a conversation; stored as JSON."""

    flow: str
    flow_hash: str
    state: str
    answers: list[Answer] = []
    step: int = 0
    status: Status = Status.ACTIVE
    estimate: EstimateInputs | None = None


NOTHING_BEFORE = "This is the first question; there is nothing to go back to."
_SHORT_REPLY = 8  # words: a Region named in a longer reply under a result is chatter


def _region_asked(text: str) -> str | None:
    """The Region a short reply under an estimate asks for ("in eu-west-1")."""
    return read_region(text) if len(text.split()) <= _SHORT_REPLY else None


class Conversation:
    """A flow and a record; moves change the record in place."""

    __slots__ = ("flow", "record")

    def __init__(self, flow: Flow, record: ConversationRecord):
        self.flow = flow
        self.record = record

    # -- creation and persistence -------------------------------------------------------

    @classmethod
    def start(cls, flow: Flow) -> Conversation:
        record = ConversationRecord(flow=flow.name, flow_hash=flow.source_hash, state=flow.start)
        conversation = cls(flow, record)
        conversation._advance()
        return conversation

    @classmethod
    def restore(cls, flows: FlowRegistry, data: str | bytes | dict) -> Conversation:
        """Resume from JSON or a dict. A record from another version of its flow keeps that
        version when this process knows it; otherwise its answers are replayed on the
        current flow, keeping those that still apply."""
        if isinstance(data, dict):
            record = ConversationRecord.model_validate(data)
        else:
            record = ConversationRecord.model_validate_json(data)
        flow = flows.get(record.flow, record.flow_hash)
        if flow is not None:
            return cls(flow, record)
        conversation = cls(flows.current(record.flow), record)
        conversation._replay(record.answers)
        return conversation

    def dump(self) -> str:
        return self.record.model_dump_json()

    def to_dict(self) -> dict:
        return self.record.model_dump(mode="json")

    # -- reading ------------------------------------------------------------------------

    @property
    def status(self) -> Status:
        return self.record.status

    @property
    def step(self) -> int:
        return self.record.step

    def question(self) -> Question | None:
        """The question waiting for an answer, if the conversation is active."""
        if self.record.status is not Status.ACTIVE:
            return None
        return self.flow.questions.get(self.record.state)

    def progress(self) -> Progress:
        """Where the current question stands among those the flowchart may still ask."""
        answered = len(self.record.answers)
        fewest, most = self.flow.questions_ahead(self.record.state)
        return Progress(answered + 1, answered + fewest, answered + most)

    def recommendation(self) -> Recommendation | None:
        """The result, once the path reached a final node."""
        if self.record.status is not Status.FINISHED:
            return None
        nodes: list[RecommendedNode] = []
        answered: list[AnsweredQuestion] = []
        by_decision = {a.decision: a for a in self.record.answers}
        node_id: str | None = self.flow.start
        while node_id is not None:
            node = self.flow.node(node_id)
            if node.is_decision:
                answer = by_decision[node_id]
                question = self.flow.questions[node_id]
                answered.append(AnsweredQuestion(question, answer))
                option = question.option(answer.option)
                node_id = option.target if option else None
                continue
            if node_id != self.flow.start:
                nodes.append(RecommendedNode(node, self.flow.details(node_id)))
            edge = self.flow.next_of(node_id)
            node_id = edge.target if edge else None
        info = self.flow.words.flow
        on_path = {n.node.id for n in nodes}
        notes = tuple(
            ShownNote(note.text, note.sources, note.unless_single_instance)
            for note in self.flow.words.notes
            if note.at in on_path and (not note.after or on_path & set(note.after))
        )
        notes += tuple(self._capacity_notes(nodes))
        recommendation = Recommendation(
            flow_title=info.title,
            prices_as_of=info.prices_as_of.isoformat(),
            price_basis=info.price_basis,
            nodes=tuple(nodes),
            answers=tuple(answered),
            catalogue=self.flow.catalogue,
            notes=notes,
        )
        if self.record.estimate is None or self.record.estimate.asking is not None:
            return recommendation
        first = next((n.node.id for n in nodes if n.details and n.details.instances), None)
        estimate = compute(self.flow, self.record.estimate, first, on_path)
        if estimate is not None and estimate.recommended.instances == 1:
            notes = tuple(n for n in notes if not n.multi_instance)
        return replace(recommendation, estimate=estimate, notes=notes)

    def _capacity_notes(self, nodes: list[RecommendedNode]) -> list[ShownNote]:
        """For offerings that hold only modest models (CPU inference): the largest model
        that fits at each precision, and whether the person's model does."""
        inputs = self.record.estimate
        params = inputs.params if inputs else typed_params(self.flow, self.record.answers)
        precision = inputs.precision if inputs else "bf16"
        found = []
        for item in nodes:
            if item.details and item.details.show_capacity and item.details.instances:
                note = capacity_note(self.flow, item.details.instances[-1], params, precision)
                if note is not None:
                    found.append(ShownNote(note[0], (note[1],)))
        return found

    # -- moves --------------------------------------------------------------------------

    def answer(self, given: str | int, *, user: str | None = None) -> AnswerResult:
        """Answer the current question with typed text or an option index (1-based)."""
        question = self.question()
        if question is None:
            command = parse_command(given) if isinstance(given, str) else None
            if command is not None:
                return CommandGiven(command)
            asking = self.record.estimate.asking if self.record.estimate else None
            if asking is not None and isinstance(given, str):
                return self._estimate_reply(asking, given)
            made = self.record.estimate is not None
            if made and isinstance(given, str) and (region := _region_asked(given)) is not None:
                return self.reprice(region)
            return NotActive(self.record.status)
        if isinstance(given, int):
            option = question.option(given)
            if option is None:
                return Reprompt(question, f"There is no option {given}.")
            return self._take(question, option, option.label, None, user)
        parsed = parse_answer(question, given)
        if isinstance(parsed, Command):
            return CommandGiven(parsed.name)
        if isinstance(parsed, Unclear):
            return Reprompt(question, parsed.reason)
        assert isinstance(parsed, Matched)
        text = given.strip()[:4000]
        first = self._take(question, parsed.option, text, parsed.note, user, parsed.value)
        more: list[Advanced] = []
        rest = unused_words(question, parsed.option, given)
        while rest and (following := self.question()) is not None:
            also = parse_follow_on(following, rest)
            if also is None:
                break
            more.append(self._take(following, also.option, text, also.note, user, also.value))
            rest = unused_words(following, also.option, rest)
        return replace(first, more=tuple(more)) if more else first

    def run(self, name: CommandName, to: int | None = None) -> CommandOutcome:
        """Carry out a command word: back (with ``to``: to that answer), restart, cancel
        or help."""
        if name == "help":
            return HelpWanted(self.question())
        if name == "estimate":
            return self.begin_estimate()
        if name == "back":
            return Moved(name) if self.back(to) else Refused(name, NOTHING_BEFORE)
        if name == "restart":
            self.restart()
            return Moved(name)
        if self.cancel():
            return Moved(name)
        return Refused(name, "This conversation has already ended.")

    def back(self, to: int | None = None) -> bool:
        """Undo the last answer, or with ``to`` (1-based) every answer from that one on,
        so that question is asked again; False when there is nothing to undo."""
        answers = self.record.answers
        keep = len(answers) - 1 if to is None else to - 1
        if not 0 <= keep < len(answers) or self.record.status in (
            Status.CANCELLED,
            Status.EXPIRED,
        ):
            return False
        self.record.state = answers[keep].decision
        del answers[keep:]
        self.record.status = Status.ACTIVE
        self.record.estimate = None
        self.record.step += 1
        return True

    def restart(self) -> None:
        """Back to the first question, all answers dropped; the flow version stays."""
        self.record.answers = []
        self.record.state = self.flow.start
        self.record.status = Status.ACTIVE
        self.record.estimate = None
        self.record.step += 1
        self._advance()

    def cancel(self) -> bool:
        if self.record.status is not Status.ACTIVE:
            return False
        self.record.status = Status.CANCELLED
        self.record.step += 1
        return True

    # -- the estimate after a result ------------------------------------------------------
    # These moves leave `step` alone: the result's buttons (Start over, Change an
    # answer) stay valid while the estimate asks its questions.

    def begin_estimate(self) -> EstimateOutcome | Refused:
        """Start (or resume) the estimate: what is still unknown is asked, at most two
        questions; what the answers already gave ("70B") is not asked again."""
        recommendation = self.recommendation()
        kind = recommendation.estimate_kind if recommendation else None
        if recommendation is None or kind is None or self.flow.words.estimate is None:
            why = (
                "An estimate comes with the result: answer the questions first."
                if recommendation is None
                else "This result has no offering to estimate."
            )
            return Refused("estimate", why)
        inputs = self.record.estimate
        if inputs is not None:
            if inputs.asking is not None:
                return Refused("estimate", ASKED)
            return Refused("estimate", "The estimate is already in the thread.")
        inputs = inputs_from_answers(self.flow, kind, self.record.answers)
        self.record.estimate = inputs
        return self._next_estimate_step(inputs)

    def reprice(self, region: str) -> EstimateReady | Refused:
        """The estimate already made, priced in ``region`` ("in eu-west-1", "what about
        Frankfurt?" typed under it); refused, naming where prices exist, when no
        offering has one there."""
        inputs = self.record.estimate
        if inputs is None or inputs.asking is not None or still_needed(inputs) is not None:
            return Refused("estimate", "There is no estimate to price in another Region yet.")
        if region == inputs.region:
            return Refused("estimate", f"The estimate above is already priced in {region}.")
        problem = region_problem(self.flow, inputs.kind, region)
        if problem is not None:
            return Refused("estimate", problem)
        inputs.region = region
        return self._ready()  # it was computable, and the Region has prices

    def estimate(self) -> Estimate | None:
        """The estimate, once every input is known."""
        recommendation = self.recommendation()
        return recommendation.estimate if recommendation else None

    def _next_estimate_step(self, inputs: EstimateInputs) -> EstimateOutcome:
        inputs.asking = still_needed(inputs)
        if inputs.asking is not None:
            return EstimateAsk(inputs.asking, inputs.kind)
        return self._ready()  # every input is known

    def _ready(self) -> EstimateReady:
        """The estimate, computed once, with the result that carries it."""
        recommendation = self.recommendation()
        assert recommendation is not None and recommendation.estimate is not None
        return EstimateReady(recommendation.estimate, recommendation)

    def _estimate_reply(self, asking: EstimateField, text: str) -> EstimateOutcome:
        inputs = self.record.estimate
        assert inputs is not None
        read = take_reply(inputs, asking, text, self.flow)
        if read.missing is not None:
            return EstimateAsk(asking, inputs.kind, read.missing, read.kept)
        return self._next_estimate_step(inputs)

    # -- internals ----------------------------------------------------------------------

    def _take(
        self,
        question: Question,
        option: Option,
        text: str,
        note: str | None,
        user: str | None,
        value: float | None = None,
    ) -> Advanced:
        answer = Answer(
            decision=question.node_id,
            option=option.label,
            text=text,
            note=note,
            user=user,
            value=value,
        )
        self.flow.machine.events[ANSWER].trigger(self.record, option=option.label)
        self.record.answers.append(answer)
        self.record.step += 1
        self._advance()
        return Advanced(answer, question)

    def _advance(self) -> None:
        """Follow single edges by themselves; mark the conversation finished at a final node."""
        events = self.flow.machine.events
        while self.flow.next_of(self.record.state) is not None:
            events[ADVANCE].trigger(self.record)
        if self.flow.is_final(self.record.state):
            self.record.status = Status.FINISHED

    def _replay(self, answers: list[Answer]) -> None:
        """Re-apply answers on this flow from its start; stop at the first that no longer fits."""
        kept_status = self.record.status
        self.record.answers = []
        self.record.state = self.flow.start
        self.record.status = Status.ACTIVE
        self.record.flow_hash = self.flow.source_hash
        self._advance()
        for answer in answers:
            question = self.question()
            option = question.option(answer.option) if question else None
            if question is None or question.node_id != answer.decision or option is None:
                break
            self.flow.machine.events[ANSWER].trigger(self.record, option=option.label)
            self.record.answers.append(answer)
            self._advance()
        if kept_status in (Status.CANCELLED, Status.EXPIRED):
            self.record.status = kept_status
