# syntax=docker/dockerfile:1
# The relumap service image: the API (`relumap-service serve`) and the fit
# workers (`relumap-service worker`) run from it; docker-compose.yml starts both.
ARG PYTHON_VERSION=3.11

# -- build: install the project and its `service` extra into a virtual environment.
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/relumap
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY client ./client
COPY shared ./shared
RUN /opt/relumap/bin/pip install --upgrade pip \
 && /opt/relumap/bin/pip install ".[service]"

# -- runtime: the same slim base, the environment, nothing that built it.
FROM python:${PYTHON_VERSION}-slim
# Forked processes and threaded BLAS deadlock, and a fit is small: one BLAS thread each.
ENV PATH=/opt/relumap/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    MKL_NUM_THREADS=1 \
    RELUMAP_DATA_DIR=/var/lib/relumap \
    RELUMAP_BIND=0.0.0.0:8000
RUN groupadd --system --gid 10001 relumap \
 && useradd --system --uid 10001 --gid relumap --no-create-home \
        --home-dir /var/lib/relumap --shell /usr/sbin/nologin relumap \
 && install -d -o relumap -g relumap -m 0750 /var/lib/relumap
COPY --from=build /opt/relumap /opt/relumap
USER relumap:relumap
WORKDIR /var/lib/relumap
# 8000: the API; 9100: a worker's Prometheus metrics.
EXPOSE 8000 9100
CMD ["relumap-service", "serve"]
