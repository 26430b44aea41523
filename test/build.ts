// Vitest global setup of the stack project: builds dist/ first (scripts/build.sh, seconds when
// nothing changed), so the tests that run bin/balance-tracker.js, as operators do, run what
// ships built from the code under test, never an older build. A compile error stops the run.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function build(): void {
  execFileSync('bash', [join(__dirname, '..', 'scripts', 'build.sh')], { stdio: 'inherit' });
}
