#!/usr/bin/env node
// Runs one of the project's TypeScript tools (the demo, the benchmarks) on the Node 24 that npm scripts
// put first on PATH: compiles scripts/, bench/ and the acceptance harness into .tools/ with tsc, then runs it.
//   node scripts/run-tool.js scripts/demo.ts [args...]
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const [script, ...args] = process.argv.slice(2);
if (!script) {
	console.error('usage: node scripts/run-tool.js <script.ts> [args...]');
	process.exit(2);
}
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
	console.error(`Node ${process.versions.node} is too old: run this through npm (npm run demo), which uses the project's Node 24.`);
	process.exit(2);
}
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.tools.json')], {
	stdio: 'inherit',
	cwd: root,
});
const target = path.join(root, '.tools', script.replace(/\.ts$/, '.js'));
process.argv = [process.argv[0], target, ...args];
require(target);
