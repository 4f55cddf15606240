# The iotad image for docker-compose.yml: the CLI with the stream extra (Faust worker, replay,
# alert tail). No Dask, TensorFlow or imbalanced-learn: train with `.[offline]` outside it.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY iotad ./iotad
COPY schemas ./schemas
COPY stream ./stream
# Sources only (iotad/offline links here); its dependencies are not installed.
COPY offline ./offline
RUN pip install --no-cache-dir '.[stream]'

ENV IOTAD_LOG_FORMAT=json
ENTRYPOINT ["iotad"]
CMD ["stream", "worker"]
