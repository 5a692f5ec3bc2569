"""Model instances from one hand-written query over joined tables.

For the reads on every write of the tracking API (the API token with its user,
the run a metric goes into): building those queries with the ORM cost several
times the CPU of running them. A Joined names the models and their table
aliases once; its `columns` go into the SELECT, and `instances` turns the start
of a result row into model instances, converted as the ORM would (JSON fields,
SQLite's dates), with the converters worked out once per database connection.
"""
from __future__ import annotations

from django.db import connection as default_connection


class Joined:
    def __init__(self, *parts):
        """parts: (model, table alias) pairs, in the order of the SELECT."""
        self.parts = [(model, alias, list(model._meta.concrete_fields)) for model, alias in parts]
        self.columns = ", ".join(f'{alias}."{f.column}"' for _model, alias, fields in self.parts for f in fields)
        self._converters: dict[str, list] = {}

    def _converters_for(self, connection) -> list:
        found = self._converters.get(connection.alias)
        if found is None:
            found = []
            for _model, alias, fields in self.parts:
                for f in fields:
                    col = f.get_col(alias)
                    found.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
            self._converters[connection.alias] = found
        return found

    def instances(self, row, connection=default_connection) -> tuple[list, tuple]:
        """The models' instances from the start of row (their columns, in order), and the rest of row."""
        converters = self._converters_for(connection)
        objects, at = [], 0
        for model, _alias, fields in self.parts:
            values = list(row[at:at + len(fields)])
            for i in range(len(fields)):
                col, convert_all = converters[at + i]
                for convert in convert_all:
                    values[i] = convert(values[i], col, connection)
            objects.append(model.from_db(connection.alias, [f.attname for f in fields], values))
            at += len(fields)
        return objects, tuple(row[at:])
