"""Where a phrase occurs in a reply, and whether the reply says yes or no to it.

People answer in sentences: "not training, we serve a 70B model", "performance matters
more than cost", "cost is secondary". A phrase found in such a sentence counts for its
option only when nothing around it says no: a negation just before it in the same
clause, a comparison that puts it second ("more than cost", "rather than cost"), or a
verdict just after it ("cost is secondary"). Pure functions over normalised text
(see `bot.conversation.answers.normalise`); English only, like the flowchart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

# Where a clause ends: negation and comparison never reach across these.
_CLAUSE_END = re.compile(
    r"[,;.!?:()]|\s[-–—]\s|\b(?:but|and|though|although|however|whereas|while|so|because)\b"
)
# Words that, among the three before a phrase in its clause, say no to it.
_NO_BEFORE = re.compile(
    r"\b(?:not|no|never|without|nor|neither|non|than|over|instead of|rather than|"
    r"\w+n['’]t|dont|doesnt|isnt|arent|cant|didnt|wasnt|wouldnt|shouldnt)$"
)
_WINDOW_BEFORE = 3
# Verdicts just after a phrase that say it is not what is wanted.
_NO_AFTER = re.compile(
    r"^(?:\s*(?:is|are|was|really|much|for us|to us|here|that|so|as|too|very|all|at all))*\s*"
    r"(?:secondary|irrelevant|optional|(?:matters?|counts?) less|less important|"
    r"(?:does|do|is|are)\s*n['’]?o?t\b(?:\s*really)?\s*(?:matter|important|needed|required|a "
    r"concern|an issue|a priority|a factor|critical)|"
    r"not (?:really )?(?:important|needed|required|a concern|an issue|a priority|a factor|"
    r"critical|relevant)|no concern|can wait)\b"
)
# "It doesn't matter": the person has no requirement for what is asked.
_RELAXED = re.compile(
    r"\b(?:(?:does|do|did)\s*(?:n['’]?t|not)\s*(?:really\s+)?(?:matter|care)|"
    r"(?:don['’]?t|dont|do not)\s+(?:really\s+)?(?:care|mind)|"
    r"(?:not|(?:is|are)\s*n['’]?t) (?:really |that |very |too )?(?:important|critical|a "
    r"concern|an issue|a priority|sensitive)|no (?:hard |strict |real |particular |specific )?"
    r"(?:requirements?|targets?|sla|constraints?|preference)|"
    r"(?:is|are) flexible|whatever|anything (?:is )?fine|either is fine)\b"
)
# "I'm not sure": the person needs the choice explained, not an error.
_UNSURE = re.compile(
    r"\b(?:not (?:sure|certain)|unsure|no idea|no clue|(?:don['’]?t|dont|do not) know|"
    r"dunno|idk|just (?:exploring|looking|curious|browsing)|not decided|undecided|"
    r"what(?:['’]s| is) the difference|which (?:one|should i))\b"
)
# Questions about the app itself, as the whole reply: "what can you do?". A reply that
# merely starts so ("how do I serve a 70B model cheaply?") is an answer, not this.
_ABOUT = re.compile(
    r"(?:(?:so|ok|hi|hello|hey)[, ]+)?(?:what (?:can|do) you do|what does (?:this|it) do|"
    r"what(?:['’]s| is) this|how does (?:this|it) work|how do i use (?:this|it|you)|"
    r"how to use (?:this|it)|usage|commands|what are (?:the )?(?:options|commands))"
    r"(?: here| exactly| for me| for us)?\s*\??"
)


@dataclass(frozen=True)
class Found:
    """A phrase found at [start, end); ``said_no`` when the sentence rejects it."""

    phrase: str
    start: int
    end: int
    said_no: bool = False


def pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One regex finding any of ``phrases`` as whole words, longest first."""
    return _pattern(tuple(sorted(set(phrases), key=len, reverse=True)))


@lru_cache(maxsize=2048)
def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    alternatives = "|".join(re.escape(p) for p in phrases)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


# Turns of phrase that contain an option's word and answer nothing.
IDIOMS = ("not sure", "make sure", "for sure", "no idea", "no clue", "no problem", "no worries")


def find(phrases: Iterable[str], said: str, foreign: Iterable[str] = ()) -> list[Found]:
    """Every occurrence of ``phrases`` in ``said`` with its polarity; an occurrence
    inside a longer ``foreign`` phrase or idiom ("no" inside "no cache", "sure" inside
    "not sure") does not count."""
    own = pattern(phrases)
    if own is None:
        return []
    covering = pattern((*foreign, *IDIOMS))
    taken = [(m.start(), m.end()) for m in covering.finditer(said)] if covering else []
    found = []
    for match in own.finditer(said):
        start, end = match.span()
        if any(s <= start and end <= e and e - s > end - start for s, e in taken):
            continue
        found.append(Found(match.group(), start, end, _said_no(said, start, end)))
    return found


def _said_no(said: str, start: int, end: int) -> bool:
    before = _CLAUSE_END.split(said[:start])[-1].split()[-_WINDOW_BEFORE:]
    if any(_NO_BEFORE.search(" ".join(before[: i + 1])) for i in range(len(before))):
        return True
    after = _CLAUSE_END.split(said[end:])[0]
    return _NO_AFTER.search(after) is not None


def relaxed(said: str) -> bool:
    """The reply says the thing asked about does not matter."""
    return _RELAXED.search(said) is not None


def unsure(said: str) -> bool:
    """The reply says the person does not know which to choose."""
    return _UNSURE.search(said) is not None


def about_the_app(said: str) -> bool:
    """The reply asks what the app is or does."""
    return _ABOUT.fullmatch(said) is not None
