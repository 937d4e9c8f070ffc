# syntax=docker/dockerfile:1
#
# June in one image for every role (the entrypoint is the june command):
#   docker run … IMAGE start                                 web page, HTTP API, channels, workers
#   docker run … IMAGE worker --capabilities voice --metrics-port 9464
#   docker run … IMAGE eval …
# Two stages: the builder has the C toolchain and npm's dev dependencies (TypeScript, native addons,
# the pocketsphinx helper); the runtime stage gets only what June runs: Node 20, ffmpeg, espeak-ng,
# pocketsphinx with its US-English model, bubblewrap and python3 (the code sandbox and june eval), Chromium
# (browse; optional), and the built app. Compose file: deploy/compose.yaml.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------- builder
FROM ${NODE_IMAGE} AS builder
ENV DEBIAN_FRONTEND=noninteractive
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential pkg-config python3 ca-certificates \
      libpocketsphinx-dev libsphinxbase-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# onnxruntime-node (pulled in by some audio packages) must not download CUDA builds
ENV ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
COPY package.json package-lock.json ./
# dependencies first, so a source change does not reinstall them (prepare builds later, with sources)
RUN npm ci --no-audit --no-fund --ignore-scripts \
 && npm rebuild --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY native ./native
COPY src ./src
COPY samples ./samples
RUN npm run build \
 && sh native/build.sh /opt/june/cache/june/bin \
 && sh native/build-launch.sh /opt/june/cache/june/bin \
 && npm prune --omit=dev --no-audit --no-fund
# The CUDA and Vulkan builds of the embedded engines (llama.cpp, whisper.cpp: about 900 MB) stay out unless
# asked for: in the compose and Kubernetes stacks the GPU work runs in vLLM and faster-whisper, and June's
# embedded engines run on the CPU. --build-arg EMBEDDED_GPU=1 keeps them.
ARG EMBEDDED_GPU=0
RUN if [ "$EMBEDDED_GPU" != 1 ]; then \
      rm -rf node_modules/@node-llama-cpp/*-cuda* node_modules/@node-llama-cpp/*-vulkan* \
             node_modules/@fugood/node-whisper-*-cuda node_modules/@fugood/node-whisper-*-vulkan; \
    fi \
 && case "$(uname -m)" in x86_64) rm -rf node_modules/@node-llama-cpp/linux-arm*;; esac

# ---------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# hadolint ignore=DL3008
# WITH_CHROMIUM=1 (default) adds Debian's Chromium for the browse capability (about 300 MB);
# --build-arg WITH_CHROMIUM=0 leaves it out, and workers then do not serve browse.
ARG WITH_CHROMIUM=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ffmpeg espeak-ng pocketsphinx pocketsphinx-en-us bubblewrap python3 tini ca-certificates \
 && if [ "$WITH_CHROMIUM" = 1 ]; then apt-get install -y --no-install-recommends chromium fonts-dejavu-core; fi \
 && rm -rf /var/lib/apt/lists/*

# June runs as an unprivileged user; /data (tasks.db, conversations) and /models (model cache) are
# the only places it writes.
RUN groupadd --system --gid 10001 june \
 && useradd --system --uid 10001 --gid june --home-dir /home/june --create-home --shell /usr/sbin/nologin june \
 && mkdir -p /data /models \
 && chown june:june /data /models

WORKDIR /app
COPY --from=builder --chown=root:root /src/package.json /src/package-lock.json ./
COPY --from=builder --chown=root:root /src/node_modules ./node_modules
COPY --from=builder --chown=root:root /src/dist ./dist
COPY --from=builder --chown=root:root /src/native ./native
COPY --from=builder --chown=root:root /src/samples ./samples
# the prebuilt pocketsphinx helper and sandbox launcher, newer than their sources so native/build.sh and
# native/build-launch.sh never rebuild them (the runtime has no compiler)
COPY --from=builder --chown=root:root /opt/june/cache /opt/june/cache
RUN ln -s /app/dist/cli/main.js /usr/local/bin/june && chmod 0755 /app/dist/cli/main.js

ENV NODE_ENV=production \
    XDG_CACHE_HOME=/opt/june/cache \
    JUNE_DATA_DIR=/data \
    JUNE_MODELS_DIR=/models \
    JUNE_HTTP_HOST=0.0.0.0 \
    JUNE_HTTP_PORT=7117 \
    JUNE_HEALTH_URL=http://127.0.0.1:7117/health

VOLUME ["/data", "/models"]
EXPOSE 7117 9464
USER june:june

# /health of the web server; a worker container sets JUNE_HEALTH_URL to its metrics port
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.JUNE_HEALTH_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--", "june"]
CMD ["start"]
