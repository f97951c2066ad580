# guidecheck's own image, built the way the guideline it enforces asks (3.a-3.c):
# Alpine, pinned by version and digest, one layer per stage, no package caches, OCI labels, non-root.
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse --short HEAD) \
#     -t ghcr.io/guidecheck/guidecheck:0.1.0-$(git rev-parse --short HEAD) .
ARG ALPINE=alpine:3.24.1@sha256:28bd5fe8b56d1bd048e5babf5b10710ebe0bae67db86916198a6eec434943f8b

FROM ${ALPINE} AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
COPY rules ./rules
COPY fixtures/rules ./fixtures/rules
# a virtual environment with guidecheck, its dependencies and the audit extra (the kubernetes client
# the scheduled auditor needs); compilers only in this stage
RUN apk add --no-cache python3 py3-pip python3-dev gcc musl-dev libffi-dev \
 && python3 -m venv /opt/guidecheck \
 && /opt/guidecheck/bin/pip install --no-cache-dir '.[audit]' \
 && /opt/guidecheck/bin/pip uninstall --yes pip \
 && find /opt/guidecheck -name '__pycache__' -prune -exec rm -rf {} +

FROM ${ALPINE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="guidecheck" \
      org.opencontainers.image.description="Policy and compliance linter and auditor for microservice deployments" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/guidecheck/guidecheck"
COPY --from=build /opt/guidecheck /opt/guidecheck
RUN apk add --no-cache python3 \
 && addgroup -S -g 10001 guidecheck \
 && adduser -S -D -H -u 10001 -G guidecheck guidecheck
ENV PATH=/opt/guidecheck/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["guidecheck"]
CMD ["--help"]
