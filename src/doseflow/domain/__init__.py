"""Plain typed value objects shared by every engine. No I/O happens in this package."""
