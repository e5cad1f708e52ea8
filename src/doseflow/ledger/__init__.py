"""The stock ledger engine: pure functions from events to balances, checks and views.

Events (``doseflow.domain.events``) become double-entry *postings* between accounts (stock
at a node, in transit on a shipment, administered, written off with a reason, and the
``entered`` account doses come from), so conservation holds by construction and can be
checked by replaying everything. Persistence lives in ``doseflow.store.ledger``.
"""
