#!/usr/bin/env node
'use strict';
// The balance-tracker command: runs the build in dist/ (`npm run build`; `npm start`, the test
// run and the Docker image build it first). `npx tsx src/cli/main.ts …` runs the sources instead.
const { existsSync } = require('node:fs');
const path = require('node:path');

const main = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`error: balance-tracker is not built (${main} is missing): run npm run build\n`);
  process.exit(1);
}
// Stack traces name the TypeScript sources' lines (the build has source maps).
process.setSourceMapsEnabled(true);
require(main).run(process.argv.slice(2));
