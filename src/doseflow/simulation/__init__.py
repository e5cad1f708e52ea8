"""What-if simulation over time and under uncertainty (issue 16): a deterministic,
day-stepped engine that starts from the ledger's live state (or from files) and answers
"what happens if": closed borders, quarantine holds at hubs, expiry, cold-chain failures.

Quantities are doses per (node, product, lot), never vial objects; every random draw comes
from a stream keyed by the identity of what it belongs to (a lane, a store, a demand
stream), so changing one part of a network leaves every other part's draws unchanged.
"""
