"""Many rows fast: copies of a table's rows made in SQL, for tests and benchmarks about size (what a
page reads with thousands of rows behind it, how a request's time grows with its tables)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy.engine import Connection


def copy_rows(
    connection: Connection,
    table: str,
    times: int,
    *,
    unique: Sequence[str] = (),
    older: str = "created_at",
    expressions: Mapping[str, str] | None = None,
    where: str | None = None,
    tag: str = "",
) -> int:
    """`times` copies of every row of `table` (or of those `where` selects; the number inserted).
    Each copy gets a new uuid for every uuid primary or unique key (`id`, `event_id`), its identity
    columns generated, its `unique` text columns suffixed with `-<tag>-n` (`-n` without a tag, n the
    copy's number), and `older` moved `n` seconds into the past, so copies sort after the originals
    in a newest-first list; `expressions` overrides any column's value (SQL over the original row,
    named as the table, and `n`). Statistics are refreshed after, as autovacuum would."""
    columns = connection.execute(
        text(
            "SELECT column_name, data_type, is_identity FROM information_schema.columns"
            " WHERE table_name = :table ORDER BY ordinal_position"
        ),
        {"table": table},
    ).all()
    keys = set(
        connection.execute(
            text(
                "SELECT a.attname FROM pg_index i"
                " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                " WHERE i.indrelid = CAST(:table AS regclass) AND i.indisunique AND i.indnatts = 1"
            ),
            {"table": table},
        ).scalars()
    )
    names, values = [], []
    for name, data_type, is_identity in columns:
        if is_identity == "YES":
            continue
        names.append(f'"{name}"')
        if expressions and name in expressions:
            values.append(expressions[name])
        elif data_type == "uuid" and name in keys:
            values.append("gen_random_uuid()")
        elif name == older:
            values.append(f"\"{name}\" - n * interval '1 second'")
        elif name in unique:
            values.append(f"\"{name}\" || '-{tag + '-' if tag else ''}' || n")
        else:
            values.append(f'"{name}"')
    inserted = connection.execute(
        text(
            f'INSERT INTO "{table}" ({", ".join(names)}) '
            f'SELECT {", ".join(values)} FROM "{table}", generate_series(1, :times) AS n'
            + (f" WHERE {where}" if where else "")
        ),
        {"times": times},
    ).rowcount
    connection.execute(text(f'ANALYZE "{table}"'))
    return int(inserted)
