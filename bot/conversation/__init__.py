"""A conversation through a flow: its record, its pure moves and what they return.

`core` holds the `Conversation` itself; `answers` and `phrases` read typed replies;
`outcomes` holds what a move returns; `recommendation` and `recommendation_text` are
the end of a path as people see it. Importers use the names re-exported here.
"""

from bot.conversation.core import (
    Advanced,
    Answer,
    AnswerResult,
    CommandGiven,
    CommandOutcome,
    Conversation,
    ConversationRecord,
    EstimateAsk,
    EstimateOutcome,
    EstimateReady,
    HelpWanted,
    Moved,
    NotActive,
    Progress,
    Refused,
    Reprompt,
    Status,
)

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
