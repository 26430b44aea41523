# The worker image (docker-compose.yml's `worker` and `simulator` services).
FROM node:20-slim

WORKDIR /app
ENV NODE_ENV=production

COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY . .

USER node
CMD ["npx", "balance-tracker", "worker"]
