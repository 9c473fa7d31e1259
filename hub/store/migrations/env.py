"""Alembic environment: custhub runs migrations in-process on the connection it hands over."""

from alembic import context

from hub.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("custhub migrations run through hub.store.engine.migrate(), not the alembic CLI")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
