"""Database-level tenant guard: composite foreign keys ``(x_id, company_id)``.

A row that belongs to a shop must belong to the shop's company. ``TenantModel.save`` checks this in
Python; on Postgres this migration operation adds a composite foreign key so that no code path
(bulk inserts, raw SQL) can write an orphan that points into another company. SQLite, used only
by the embedded demo mode, keeps the Python check alone.
"""

from django.db import migrations


class AddTenantForeignKey(migrations.operations.base.Operation):
    reduces_to_sql = True
    reversible = True

    def __init__(self, model_name: str, field_name: str):
        self.model_name = model_name
        self.field_name = field_name

    def state_forwards(self, app_label, state):
        pass

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.model_name, self.field_name], {})

    def _names(self, app_label, state):
        model = state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.field_name)
        target = field.related_model._meta.db_table
        table = model._meta.db_table
        name = f"{table}_{field.column}_tenant_fk"[:63]
        return table, field.column, target, name

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        table, column, target, name = self._names(app_label, to_state)
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} "
            f"FOREIGN KEY ({quote(column)}, {quote('company_id')}) "
            f"REFERENCES {quote(target)} ({quote('id')}, {quote('company_id')}) "
            "DEFERRABLE INITIALLY DEFERRED"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        table, _column, _target, name = self._names(app_label, from_state)
        quote = schema_editor.quote_name
        schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")

    def describe(self):
        return f"Composite tenant foreign key on {self.model_name}.{self.field_name}"


class PostgresOnly:
    """An operation that changes the database only on Postgres; on the SQLite fallback only the
    migration state changes (a Postgres-only index, or a table SQLite would have to rebuild
    with one)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class AddIndexOnPostgres(PostgresOnly, migrations.AddIndex):
    pass


class AlterFieldOnPostgres(PostgresOnly, migrations.AlterField):
    pass


class RunSQLOnPostgres(PostgresOnly, migrations.RunSQL):
    pass
