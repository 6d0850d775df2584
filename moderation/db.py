"""Database guard for the moderation log: no UPDATE, no DELETE (R19, append-only).

The model refuses in Python (``ModerationLogEntry.save``/``delete``); this migration operation
adds a trigger so that raw SQL, bulk updates and the database shell are refused as well. Postgres
gets a PL/pgSQL trigger, SQLite (the embedded demo mode) ``RAISE(ABORT)`` triggers. TRUNCATE stays
possible: it is how the test suite empties tables, and it needs table ownership anyway.
"""

from django.db import migrations

_FUNCTION = "moderation_append_only"


class AppendOnlyTable(migrations.operations.base.Operation):
    reduces_to_sql = True
    reversible = True

    def __init__(self, model_name: str):
        self.model_name = model_name

    def state_forwards(self, app_label, state):
        pass

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.model_name], {})

    def _table(self, app_label, state) -> str:
        return state.apps.get_model(app_label, self.model_name)._meta.db_table

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        table = schema_editor.quote_name(self._table(app_label, to_state))
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(
                f"CREATE OR REPLACE FUNCTION {_FUNCTION}() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; "
                "END; $$ LANGUAGE plpgsql",
                None,  # no parameters: the % signs belong to RAISE
            )
            schema_editor.execute(
                f"CREATE TRIGGER {_FUNCTION} BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {_FUNCTION}()"
            )
        elif vendor == "sqlite":
            for operation in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {_FUNCTION}_{operation.lower()} BEFORE {operation} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'the moderation log is append-only'); END"
                )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        table = schema_editor.quote_name(self._table(app_label, from_state))
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {_FUNCTION} ON {table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {_FUNCTION}()")
        elif vendor == "sqlite":
            for operation in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {_FUNCTION}_{operation}")

    def describe(self):
        return f"Append-only trigger on {self.model_name}"
