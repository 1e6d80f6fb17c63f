"""``python -m servsim``: the same command line as the ``servsim`` script."""

from servsim.cli import app

app(prog_name="servsim")
