"""``servsim app``: a live what-if page over one scenario, served by Shiny for Python.

Sliders move the scenario's levers (:mod:`servsim.app.levers`); each setting is simulated with
:func:`servsim.replicate` and its KPI cards show mean ± CI half-width beside Erlang C or A where
a formula applies (:mod:`servsim.app.runs`); the page itself is :mod:`servsim.app.server`.

Shiny is an optional dependency (``pip install 'servsim[app]'``): importing this package does not
import it, :func:`serve` does.
"""

from __future__ import annotations

from pathlib import Path

from servsim.scenario import Scenario

#: What to tell someone without Shiny.
INSTALL_HINT = "pip install 'servsim[app]'"


def shiny_missing() -> bool:
    """Whether Shiny for Python cannot be imported here."""
    try:
        import shiny  # noqa: F401
    except ImportError:
        return True
    return False


def serve(path: Path, scenario: Scenario, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the app over the scenario file ``path`` (validated as ``scenario``) until interrupted."""
    from shiny import run_app

    from servsim.app.server import build

    run_app(build(path, scenario), host=host, port=port, launch_browser=False, access_log=False)
