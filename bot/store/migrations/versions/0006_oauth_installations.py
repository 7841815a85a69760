"""OAuth for many workspaces (issue 20): each outbox row's workspace and organisation,
the organisation of each Enterprise Grid workspace, and slack_sdk's tables for
installations, bot tokens and OAuth states.

The slack_sdk tables are built with slack_sdk's own table builders (as the stores
themselves would in `create_tables`), inside this migration's transaction, so SQLite
and PostgreSQL get them alike and several processes may upgrade at once.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INSTALLATIONS, BOTS, STATES = "slack_installations", "slack_bots", "slack_oauth_states"


def _slack_tables() -> sa.MetaData:
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

    tables = sa.MetaData()
    SQLAlchemyInstallationStore.build_installations_table(tables, INSTALLATIONS)
    SQLAlchemyInstallationStore.build_bots_table(tables, BOTS)
    SQLAlchemyOAuthStateStore.build_oauth_states_table(tables, STATES)
    return tables


def upgrade() -> None:
    # Plain ADD COLUMN (nullable): no batch rebuild, which on SQLite with foreign keys
    # on would cascade a table drop into the rows that point at it.
    op.add_column("outbox", sa.Column("team", sa.String(32), nullable=True))
    op.add_column("outbox", sa.Column("enterprise", sa.String(32), nullable=True))
    op.execute(
        "UPDATE outbox SET team = (SELECT conversations.team FROM conversations "
        "WHERE conversations.id = outbox.conversation_id)"
    )
    op.create_table(
        "workspace_enterprises",
        sa.Column("team", sa.String(32), primary_key=True),
        sa.Column("enterprise", sa.String(32), nullable=False),
    )
    _slack_tables().create_all(op.get_bind())


def downgrade() -> None:
    _slack_tables().drop_all(op.get_bind())
    op.drop_table("workspace_enterprises")
    op.drop_column("outbox", "enterprise")
    op.drop_column("outbox", "team")
