# The worker image (docker-compose.yml's `worker` and `simulator` services): the build in
# dist/ run by Node, with the production dependencies only (no TypeScript, no tsx).

# Build stage: every dependency, then `npm run build` (tsconfig.build.json) into dist/.
FROM node:20-slim AS build
WORKDIR /app
# patches/: npm ci's postinstall applies them (patch-package) to the installed dependencies.
COPY package.json package-lock.json ./
COPY patches patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.sh scripts/
COPY src src
COPY workflows workflows
COPY activities activities
COPY tools tools
RUN bash scripts/build.sh

# Runtime stage: the service's build (src, workflows, activities) and the RPC simulator's (the
# "simulator" profile runs it from this image; it needs nothing but the service's dependencies).
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY patches patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin bin
COPY --from=build /app/dist/src dist/src
COPY --from=build /app/dist/workflows dist/workflows
COPY --from=build /app/dist/activities dist/activities
COPY --from=build /app/dist/tools/simulator dist/tools/simulator

USER node
# The node flags are WORKER_NODE_FLAGS (src/worker-flags.ts): npm run validate:compose checks them.
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=128", "bin/balance-tracker.js", "worker"]
