"""Which Enterprise Grid organisation a workspace belongs to, and ending a whole one.

A request from a workspace in an organisation names both; an org-wide installation's
token is found by the organisation alone, so the outbox rows of such a workspace must
carry it (they copy it from here when queued). Workspaces outside Enterprise Grid
write nothing here.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from bot.store.base import StoreBase
from bot.store.engine import write_transaction
from bot.store.schema import conversations, outbox, workspace_enterprises
from bot.store.statements import cancel_conversations, cancel_pending

_we = workspace_enterprises.c


class WorkspaceStore(StoreBase):
    """The workspaces' half of the `Store`."""

    def remember_enterprise(self, team: str, enterprise: str) -> None:
        """Record (or correct) the organisation ``team`` belongs to."""
        insert = pg_dialect.insert if self._postgres else sqlite_dialect.insert
        stmt = insert(workspace_enterprises).values(team=team, enterprise=enterprise)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_we.team], set_={"enterprise": stmt.excluded.enterprise}
        )
        with write_transaction(self.engine) as conn:
            conn.execute(stmt)

    def enterprise_of(self, team: str) -> str | None:
        """The organisation ``team`` was last seen in, or None."""
        query = sa.select(_we.enterprise).where(_we.team == team)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def end_organisation(self, enterprise: str, reason: str) -> int:
        """An org-wide installation was removed: cancel the open conversations of every
        workspace of ``enterprise`` and drop their queued messages; returns how many
        conversations ended."""
        teams = sa.select(_we.team).where(_we.enterprise == enterprise)
        of_org = conversations.c.team.in_(teams)
        now = self._now()
        with write_transaction(self.engine) as conn:
            ended = conn.execute(cancel_conversations(of_org, now)).rowcount
            conn.execute(cancel_pending(outbox.c.enterprise == enterprise, reason))
        return ended
