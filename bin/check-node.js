// Plain JavaScript that any Node.js can parse: stops an old Node.js with one line before it meets TypeScript.
// Loaded with `node --import ./bin/check-node.js` by the npm scripts, and first thing by bin/automatrix.js.
import { readFileSync } from 'node:fs';

const { engines } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/** The one-line complaint about running on Node.js `version`, or null when it is new enough. */
export function nodeVersionProblem(version) {
  const needed = Number(/(\d+)/.exec(engines.node)[1]);
  if (Number(version.replace(/^v/, '').split('.')[0]) >= needed) return null;
  return `automatrix: needs Node.js ${needed} or newer (this is ${version}); on Linux x64 'npm ci' brings it, elsewhere install Node.js ${needed} LTS`;
}

const problem = nodeVersionProblem(process.version);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
