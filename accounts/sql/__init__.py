"""The ledger's PL/pgSQL functions, one file each (``ledger_post.sql``, ``ledger_transfer_create.sql``).

Each file is a set of ``CREATE OR REPLACE FUNCTION`` statements, applied by the migrations that
name it (``sql_file_apply``): a change to a function is an edit of its file plus a migration that
applies the file again.
"""

from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent


def sql_file_read(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def sql_file_apply(schema_editor, name: str) -> None:
    """Run the file ``name`` of this folder in the migration's connection."""
    schema_editor.execute(sql_file_read(name), params=None)
