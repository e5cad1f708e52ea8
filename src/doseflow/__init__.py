"""doseflow: follow every dose from pooled supply to arm.

Layers (imports point downwards only; ``tests/test_architecture.py`` enforces it):

* ``doseflow.domain``: typed value objects, units and errors. No I/O.
* ``doseflow.data``: bundled reference data and its loaders.
* engines: ``allocation``, ``ledger``, ``logistics``, ``deployment``, ``reporting``, ``impact``.
* ``doseflow.store``: persistence (SQLAlchemy 2, Alembic).
* interfaces: ``doseflow.cli`` and ``doseflow.service``.
"""

__version__ = "0.1.0"
