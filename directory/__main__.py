"""``python -m directory`` is the ``directory`` command."""

from directory.cli import app

app()
