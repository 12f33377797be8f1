#!/usr/bin/env node
// Runs the TypeScript sources directly on Node.js's own type stripping (no build step).
import './check-node.js';

const { runCli } = await import('../src/cli/main.ts');
await runCli(process.argv);
