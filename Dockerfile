# syntax=docker/dockerfile:1
# LinePatrol runtime image: the detection core and the service, no torch.
#   CPU (default):  docker build -t linepatrol .
#   NVIDIA GPU:     docker build -t linepatrol:cuda \
#                     --build-arg RUNTIME_BASE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04 .
# The wheel's ONNX Runtime dependency is onnxruntime-gpu on x86-64 Linux, which runs on the CPU
# when the CUDA/cuDNN libraries are absent and on the GPU in the CUDA base image.
ARG BUILD_BASE=python:3.12-slim-bookworm
ARG RUNTIME_BASE=python:3.12-slim-bookworm

FROM ${BUILD_BASE} AS build
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2.post1
COPY pyproject.toml hatch_build.py README.md ./
COPY inspect ./inspect
COPY service ./service
COPY datasets ./datasets
COPY models ./models
RUN python -m build --wheel --outdir /wheels . \
 && pip wheel --no-cache-dir --wheel-dir /wheels "$(ls /wheels/linepatrol-*.whl)[service,pdf]"

FROM ${RUNTIME_BASE} AS runtime
# The CUDA base images ship no Python; slim images already have it. The base image's distribution
# decides the python3 version, so the package is not pinned here.
# hadolint ignore=DL3008
RUN if ! command -v python3 >/dev/null; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-venv \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && python3 -m venv /opt/linepatrol
ENV PATH=/opt/linepatrol/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LINEPATROL_DATA_DIR=/data
COPY --from=build /wheels /wheels
# Only the wheels built above are installed (--no-index), so they are pinned by construction.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir --no-index --find-links /wheels "linepatrol[service,pdf]" \
 && rm -rf /wheels \
 && useradd --create-home --uid 10001 linepatrol \
 && mkdir -p /data && chown linepatrol /data
USER 10001
WORKDIR /home/linepatrol
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python3", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4).status == 200 else 1)"]
CMD ["linepatrol", "serve", "--host", "0.0.0.0", "--port", "8000", "--data", "/data"]
