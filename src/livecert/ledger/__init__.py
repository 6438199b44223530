"""The certification ledger: who must certify when, suspension and resumption, and an audit trail.

:func:`livecert.verify` checks one recording; the ledger keeps each pensioner certified over
the years.  Modules, from the bottom up:

- :mod:`~livecert.ledger.policy`: benefit types, channels, statuses and the certification
  policies (period or windows, notice, grace, suspension, resumption, back pay), shipped as
  data (``policies.json``) with region overrides and versions;
- :mod:`~livecert.ledger.rules`: pure functions from a person's state, a policy and a date to
  the due date, the status and what a certification changes (no clock, no database);
- :mod:`~livecert.ledger.schema`, :mod:`~livecert.ledger.db`: the tables (SQLAlchemy Core),
  the SQLite and PostgreSQL engine settings and the Alembic migrations;
- :mod:`~livecert.ledger.audit`: the hash-chained, append-only audit log;
- :mod:`~livecert.ledger.crypto`: encryption at rest of face templates and frames;
- :mod:`~livecert.ledger.store`: :class:`~livecert.ledger.store.Ledger`, the one object that
  reads and writes, one transaction per change;
- :mod:`~livecert.ledger.certify`: runs :func:`livecert.verify` on a recording and turns the
  result into an attempt for the ledger;
- :mod:`~livecert.ledger.nonces`: the single-use challenge store in the ledger's database,
  shared by every process and server on it (``livecert serve`` keeps its uploads table there too).

The database modules need the ``ledger`` extra (``pip install 'livecert[ledger]'``);
:mod:`~livecert.ledger.policy` and :mod:`~livecert.ledger.rules` need nothing beyond the
standard library.
"""
