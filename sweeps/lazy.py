"""pandas and matplotlib.pyplot imported on first use, so that commands that never touch a frame or a
figure (``archsim list``, ``--help``, ``verify``) do not pay for them. ``pd`` and ``plt`` stand for
the modules: ``pd.DataFrame(...)``, ``plt.subplots(...)``; pyplot always gets the Agg backend."""
from __future__ import annotations

import importlib


class LazyModule:
    """A module imported at the first attribute access."""

    def __init__(self, name: str, backend: str | None = None):
        self._name, self._backend, self._module = name, backend, None

    def __getattr__(self, attr: str):
        if self._module is None:
            if self._backend:
                import matplotlib
                matplotlib.use(self._backend)
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


pd = LazyModule("pandas")
plt = LazyModule("matplotlib.pyplot", backend="Agg")
