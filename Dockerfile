# The kgcomplete worker: `kgcomplete schedule` with the settings mounted at /config.
#   docker build -t kgcomplete .
#   docker run --rm -e NEO4J_URI -e NEO4J_PASSWORD -v $PWD/kgcomplete.toml:/config/kgcomplete.toml:ro kgcomplete
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 KGC_CONFIG=/config/kgcomplete.toml
WORKDIR /app
# CPU-only PyTorch keeps the image small; the worker needs no GPU.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch>=2.2"
COPY pyproject.toml README.md ./
COPY kgcomplete ./kgcomplete
RUN pip install . && useradd --create-home kgc && mkdir -p /checkpoints && chown kgc /checkpoints
USER kgc
# SIGTERM lets a running writeback finish its batch (see docker-compose.yml stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["kgcomplete"]
CMD ["schedule"]
