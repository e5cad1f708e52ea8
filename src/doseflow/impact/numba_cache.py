"""Where numba keeps the compiled kernel: a per-user cache folder, not the installed package.

numba's default for ``cache=True`` is a ``__pycache__`` folder beside the module, that is
inside the installed package (site-packages, a shared or read-only installation, a container
image layer). doseflow puts its kernel in the user's cache instead:

1. ``NUMBA_CACHE_DIR`` when set (numba's own setting, for every numba function);
2. else ``DOSEFLOW_CACHE_DIR``/numba;
3. else the platform's user cache: ``$XDG_CACHE_HOME/doseflow/numba`` or
   ``~/.cache/doseflow/numba`` (Linux and others), ``~/Library/Caches/doseflow/numba``
   (macOS), ``%LOCALAPPDATA%\\doseflow\\Cache\\numba`` (Windows).

No process-wide setting is changed: a cache locator that answers only for doseflow's own
kernel module is put ahead of numba's in-tree locator, so other libraries' numba functions
cache where they always did. When the folder cannot be created or written, numba's usual
locators take over (the in-tree ``__pycache__``, then numba's user-wide cache).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

#: Environment variable naming doseflow's cache folder (the kernel goes in ``numba`` below it).
CACHE_ENV = "DOSEFLOW_CACHE_DIR"

_KERNEL_MODULE = (Path(__file__).parent / "kernel.py").resolve()
_installed = False


def user_cache_dir() -> Path:
    """doseflow's per-user cache folder (see the module docstring)."""
    own = os.environ.get(CACHE_ENV)
    if own:
        return Path(own)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "doseflow" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "doseflow"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg if xdg and os.path.isabs(xdg) else Path.home() / ".cache") / "doseflow"


def kernel_cache_dir() -> Path:
    """Where the compiled kernel is written (unless ``NUMBA_CACHE_DIR`` is set)."""
    return user_cache_dir() / "numba"


def install() -> None:
    """Register the locator (idempotent); call before the kernel's functions are decorated."""
    global _installed
    if _installed:
        return
    from numba.core import caching

    impl: Any = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    base: Any = getattr(caching, "UserProvidedCacheLocator", None)
    if (
        impl is None
        or base is None
        or not isinstance(getattr(impl, "_locator_classes", None), list)
    ):
        return  # a numba without these internals: its default locators apply

    class DoseflowCacheLocator(base):  # type: ignore[misc]
        """numba's user-provided-folder locator, pointed at doseflow's cache, for the kernel
        module only."""

        def __init__(self, py_func: Any, py_file: str) -> None:
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            subpath = self.get_suitable_cache_subpath(py_file)
            self._cache_path = str(kernel_cache_dir() / subpath)

        @classmethod
        def from_function(cls, py_func: Any, py_file: str) -> Any:
            from numba.core import config

            if getattr(config, "CACHE_DIR", None) or Path(py_file).resolve() != _KERNEL_MODULE:
                return None  # NUMBA_CACHE_DIR wins; other modules are not ours
            return super(base, cls).from_function(py_func, py_file)

    classes = impl._locator_classes
    at = classes.index(base) + 1 if base in classes else 0
    classes.insert(at, DoseflowCacheLocator)
    _installed = True
