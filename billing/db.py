"""Database guard for issued invoices: no UPDATE, no DELETE (R34, GoBD).

``Invoice.save``/``delete`` refuse in Python; this migration operation adds a Postgres trigger so
raw SQL and bulk updates are refused too. TRUNCATE stays possible (the test suite uses it).
Other databases (the SQLite demo mode) keep the Python check alone.
"""

from django.db import migrations


class ImmutableTable(migrations.operations.base.Operation):
    reduces_to_sql = True
    reversible = True

    def __init__(self, model_name: str):
        self.model_name = model_name

    def state_forwards(self, app_label, state):
        pass

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.model_name], {})

    def _names(self, app_label, state) -> tuple[str, str]:
        table = state.apps.get_model(app_label, self.model_name)._meta.db_table
        return table, f"{table}_immutable"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        table, function = self._names(app_label, to_state)
        schema_editor.execute(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION '% is immutable: % refused', TG_TABLE_NAME, TG_OP; "
            "END; $$ LANGUAGE plpgsql",
            None,  # no parameters: the % signs belong to RAISE
        )
        quoted = schema_editor.quote_name(table)
        schema_editor.execute(
            f"CREATE TRIGGER {function} BEFORE UPDATE OR DELETE ON {quoted} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        table, function = self._names(app_label, from_state)
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {function} ON {schema_editor.quote_name(table)}"
        )
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")

    def describe(self):
        return f"Refuse UPDATE and DELETE on {self.model_name}"
