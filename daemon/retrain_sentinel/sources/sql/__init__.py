"""SQL databases as sources (``kind: sql``, DESIGN §6).

Two shapes share one way of connecting:

- ``engine``: read-only engines that time out, one-parameter lists for a batch, retries and the
  translation of SQLAlchemy errors into messages without a password;
- ``times``: a database time read in the source's timezone, as aware UTC;
- ``layout: experiment_db`` — ``experiment_db`` runs the statements, ``selection`` chooses among
  the rows they return (which version is the baseline, which run is current; pure, no I/O, with
  ``globs`` for run names) and ``experiment_snapshot`` turns the chosen rows into a ``Snapshot``;
  ``schema`` creates that layout's tables (demo, tests, a scratch database);
- ``queries:`` — ``queries`` maps any other schema through named, parameterised SQL.

This package's ``__init__`` imports nothing, so the pure modules load without SQLAlchemy.
"""
