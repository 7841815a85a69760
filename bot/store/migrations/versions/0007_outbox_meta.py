"""Delivery metadata out of the Slack payload (issue 18): each outbox row's ``meta``
column holds what only delivery reads (the payload's "_"-prefixed keys until now), and
``unconfirmed`` is a boolean instead of an "unconfirmed: " prefix of ``error``.

Existing rows are migrated both ways, in this migration's transaction: up, the "_"
keys move from ``payload`` to ``meta`` and the prefix becomes the flag; down, back.

Revision ID: 0007
Revises: 0006
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: How ``error`` marked an unconfirmed attempt before this revision.
PREFIX = "unconfirmed: "

_outbox = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("payload", sa.Text),
    sa.column("meta", sa.Text),
    sa.column("error", sa.Text),
    sa.column("unconfirmed", sa.Boolean),
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def upgrade() -> None:
    # Plain ADD COLUMN with defaults: no batch rebuild (see 0006).
    op.add_column("outbox", sa.Column("meta", sa.Text, nullable=False, server_default="{}"))
    op.add_column(
        "outbox",
        sa.Column("unconfirmed", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    conn = op.get_bind()
    found = conn.execute(sa.select(_outbox.c.id, _outbox.c.payload, _outbox.c.error)).all()
    for row_id, payload_text, error in found:
        payload = json.loads(payload_text)
        values: dict[str, Any] = {}
        if isinstance(payload, dict) and any(k.startswith("_") for k in payload):
            values["payload"] = _dumps({k: v for k, v in payload.items() if not k.startswith("_")})
            values["meta"] = _dumps({k: v for k, v in payload.items() if k.startswith("_")})
        if error and error.startswith(PREFIX):
            values["error"] = error[len(PREFIX) :]
            values["unconfirmed"] = True
        if values:
            conn.execute(_outbox.update().where(_outbox.c.id == row_id).values(**values))


def downgrade() -> None:
    conn = op.get_bind()
    found = conn.execute(
        sa.select(
            _outbox.c.id, _outbox.c.payload, _outbox.c.meta, _outbox.c.error, _outbox.c.unconfirmed
        )
    ).all()
    for row_id, payload_text, meta_text, error, unconfirmed in found:
        values: dict[str, Any] = {}
        meta = json.loads(meta_text or "{}")
        if meta:
            values["payload"] = _dumps({**json.loads(payload_text), **meta})
        if unconfirmed:
            values["error"] = PREFIX + (error or "")
        if values:
            conn.execute(_outbox.update().where(_outbox.c.id == row_id).values(**values))
    op.drop_column("outbox", "unconfirmed")
    op.drop_column("outbox", "meta")
