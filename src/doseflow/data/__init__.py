"""Bundled reference data and its loaders (see ``docs/data-sources.md`` for attribution).

Everything here is read once per process and cached; callers get immutable values.
"""
