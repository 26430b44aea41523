// The node flags a worker process runs with (Dockerfile, docker-compose.yml, npm run
// stack:cluster, the benchmark): a V8 heap sized to what the worker holds. Its live heap after a
// full collection is 35–46 MB at 1,000,000 wallets, yet with V8's defaults (young generation
// semi-spaces of 16 MB, an old generation that grows to a quarter of the machine's memory before
// collecting) its peak RSS was 317 MB at 100,000 wallets and 404 MB at 1,000,000. With these it
// was 247 and 244 MB, for more frequent collections: the worker's CPU in a 1,000,000-wallet
// sweep was 30.9 s, with them 38.8 s (bench/README.md, "Efficiency").
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=128'] as const;
