"""``python -m servsim``: the same command line as the ``servsim`` script."""

from servsim.cli import app

if __name__ == "__main__":
    app(prog_name="servsim")
