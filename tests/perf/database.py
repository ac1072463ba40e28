"""A clean bench database: dropped and created again through the server's `postgres` database."""

from __future__ import annotations

import psycopg2
from psycopg2 import sql


def recreate(database: dict) -> None:
    """Drop (if present) and create database['NAME'] on the server `database` points at."""
    params = {
        "dbname": "postgres",
        "user": database["USER"] or None,
        "password": database["PASSWORD"] or None,
        "host": database["HOST"] or None,
        "port": database["PORT"] or None,
    }
    conn = psycopg2.connect(**{k: v for k, v in params.items() if v is not None})
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            name = sql.Identifier(database["NAME"])
            # FORCE: a previous run killed mid-way may still hold a connection.
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(name))
    finally:
        conn.close()
