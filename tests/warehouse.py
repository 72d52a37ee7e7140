"""A small SQLite warehouse holding the tables the example config's `queries:` read (model `ranking`:
one metric, its baseline, two features' JS distances 0.27 and 0.05, a deployment a day ago)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def build_warehouse(path: Path) -> Path:
    """Create the warehouse at ``path``; returns ``path``."""
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE daily_metrics (model TEXT, day TEXT, metric TEXT, value REAL);
            CREATE TABLE baseline_metrics (model TEXT, metric TEXT, value REAL);
            CREATE TABLE drift (model TEXT, day TEXT, feature TEXT, js REAL);
            CREATE TABLE deployments (model TEXT, trained_at TEXT, version TEXT);
            INSERT INTO daily_metrics VALUES ('ranking', '2999-01-01', 'ndcg', 0.80);
            INSERT INTO baseline_metrics VALUES ('ranking', 'ndcg', 0.80);
            INSERT INTO drift VALUES ('ranking', '2999-01-01', 'age', 0.27), ('ranking', '2999-01-01', 'amount', 0.05);
            INSERT INTO deployments VALUES ('ranking', datetime('now', '-1 day'), 'v7');
            """
        )
    return path
