# Provenance HTTP service and scan worker (CPU). Configured only by PROVENANCE_* environment variables.
#   docker build -t provenance .      (docker-compose.yml builds it for you)
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PROVENANCE_HOME=/data \
    PROVENANCE_API_HOST=0.0.0.0 \
    PROVENANCE_API_PORT=8000 \
    HF_HOME=/cache/huggingface

WORKDIR /app

# dependencies first: this layer is rebuilt only when the requirement files change
COPY requirements/ requirements/
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
 && pip install -c requirements/constraints.txt -r requirements/lock.txt \
 && pip install --no-deps invisible-watermark==0.2.0

COPY pyproject.toml README.md alembic.ini ./
COPY provenance/ provenance/
COPY reference_db/ reference_db/
COPY api/ api/
RUN pip install --no-deps --no-build-isolation . \
 && useradd --system --uid 10001 --home-dir /data provenance \
 && mkdir -p /data /cache/huggingface /models \
 && chown -R provenance /data /cache

USER provenance
VOLUME ["/data", "/cache/huggingface"]
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=5 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PROVENANCE_API_PORT', '8000'), timeout=4)"

# the API; `provenance worker` runs scan workers alone (see docker-compose.yml)
CMD ["provenance", "serve"]
