#!/usr/bin/env node
// Entry point of the `shootdown` command (built to dist/cli.js).
import { main } from './src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
