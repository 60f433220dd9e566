# The API and the index worker (one image, two commands; compose.yaml gives the worker its own
# health check). See compose.yaml.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --create-home --uid 10001 directory

# A non-editable install: migrations, seed data and the web files are package data. The sources
# go once installed, so nothing (a `python -c` health check included) imports them instead.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY directory ./directory
RUN pip install --no-compile /src && rm -rf /src
WORKDIR /app
RUN python -c "import directory.api.app; from directory import migrate; assert migrate.head_revision()" \
 && python -c "from directory.config import DEFAULT_SEED_DIR as d; assert (d / 'crisis_lines.yaml').is_file()"

USER directory
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["directory", "serve", "--host", "0.0.0.0", "--port", "8000"]
