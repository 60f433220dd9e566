"""``python -m directory`` is the ``directory`` command."""

from directory.cli import app

if __name__ == "__main__":  # the ingest's worker process imports this module again
    app()
