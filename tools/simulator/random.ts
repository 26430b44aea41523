// Seeded randomness, so that a seed reproduces a world and a run exactly.
// sfc32 (small, fast, passes PractRand) seeded from the text through cyrb128.

export interface Rng {
  /** Uniform integer in [0, 2^32). */
  u32(): number;
  /** Uniform float in [0, 1). */
  float(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** A Poisson-distributed count with mean `mean` (how many of many rare events happen). */
  poisson(mean: number): number;
}

function cyrb128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** Independent streams come from distinct seed texts (e.g. `${seed}/world`, `${seed}/provider`). */
export function createRng(seed: string): Rng {
  let [a, b, c, d] = cyrb128(seed);
  const u32 = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    const out = (t + d) | 0;
    c = (c + out) | 0;
    return out >>> 0;
  };
  // Discard the first outputs: sfc32 mixes poorly right after seeding.
  for (let i = 0; i < 15; i++) u32();
  const float = (): number => u32() / 4294967296;
  const gaussian = (): number => {
    const u = 1 - float(); // (0, 1]: log(0) would be -Infinity
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * float());
  };
  return {
    u32,
    float,
    int: (n) => Math.floor(float() * n),
    poisson(mean) {
      if (mean <= 0) return 0;
      if (mean > 30) {
        // Normal approximation: Knuth's product method needs ~mean draws.
        return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian()));
      }
      const limit = Math.exp(-mean);
      let count = 0;
      let product = float();
      while (product > limit) {
        count++;
        product *= float();
      }
      return count;
    },
  };
}
