#!/usr/bin/env node
'use strict';
// The balance-tracker command. The sources are TypeScript run without a build step:
// tsx's CommonJS hook compiles them on require (and caches the result).
const path = require('node:path');
require('tsx/cjs/api').register();
require(path.join(__dirname, '..', 'src', 'cli', 'main.ts')).run(process.argv.slice(2));
