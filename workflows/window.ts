// Bounded parallelism for workflows: at most `width` items in flight, the next one
// starting as soon as any finishes (a sliding window, not fixed waves). Deterministic.

export async function inWindow<T>(items: readonly T[], width: number, run: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await run(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, width), items.length) }, lane));
}
