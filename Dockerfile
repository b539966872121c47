# hypersweep: orchestrator, CPU worker and dashboard image (Node 20).
#   docker build -t hypersweep .
#   docker run --rm hypersweep plan sweeps/quickstart.yaml
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts yet (prepare needs the sources); tfjs-node is optional and downloads libtensorflow: skip it.
RUN npm ci --ignore-scripts --omit=optional
# better-sqlite3's native addon (prebuilt, or compiled with the build tools of this image).
RUN npm rebuild better-sqlite3
COPY . .
RUN npm run build && npm prune --omit=dev --omit=optional

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
# The working directory itself is the node user's (the code in it stays root's, read-only): a run without
# --db /data/... can create ./hypersweep.db and SQLite its -wal/-shm beside it.
RUN mkdir -p /data && chown node:node /data /app
USER node
VOLUME ["/data"]
ENTRYPOINT ["node", "/app/bin/hypersweep.js"]
CMD ["--help"]
