# The API and the index worker (one image, two commands). See compose.yaml.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --create-home --uid 10001 directory

COPY pyproject.toml README.md ./
COPY directory ./directory
RUN pip install --no-compile . && python -c "import directory.api.app"

USER directory
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["directory", "serve", "--host", "0.0.0.0", "--port", "8000"]
