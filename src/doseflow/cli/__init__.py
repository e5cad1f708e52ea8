"""The ``doseflow`` command (Typer + Rich). Holds no business logic: it parses, calls an
engine or the store, and renders."""
