/**
 * The packed tarball is complete: installed into an empty folder, every file in its dist loads with plain
 * Node and no NODE_PATH. Only what n8n provides to community packages by contract may come from outside
 * (n8n-workflow, luxon, lodash); inside n8n a missing dependency would silently resolve to n8n's own copy.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

import { prepared, REPO_ROOT, PACKAGE_NAME } from './harness';

const run = promisify(execFile);

function filesUnder(dir: string, suffix: string): string[] {
	const out: string[] = [];
	for (const name of readdirSync(dir)) {
		const p = join(dir, name);
		if (statSync(p).isDirectory()) out.push(...filesUnder(p, suffix));
		else if (p.endsWith(suffix)) out.push(p);
	}
	return out;
}

describe('the packed tarball', () => {
	let folder: string;
	let installed: string;

	beforeAll(async () => {
		folder = mkdtempSync(join(tmpdir(), 'datasync-pack-'));
		writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 'empty', private: true }));
		await run('npm', ['install', '--no-audit', '--no-fund', '--omit=dev', '--legacy-peer-deps', '--ignore-scripts', '--loglevel=error', prepared().tarball], {
			cwd: folder,
			maxBuffer: 64 * 1024 * 1024,
		});
		installed = join(folder, 'node_modules', PACKAGE_NAME);
	});

	afterAll(() => rmSync(folder, { recursive: true, force: true }));

	it('holds only dist, package.json, README and LICENSE', () => {
		const top = readdirSync(installed).sort();
		expect(top.filter((n) => !['dist', 'package.json', 'README.md', 'LICENSE', 'LICENSE.md', 'node_modules'].includes(n))).toEqual([]);
		expect(existsSync(join(installed, 'dist'))).toBe(true);
	});

	it('lists every node and credential in dist, and nothing that is not there', () => {
		const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
		const listed = [...pkg.n8n.nodes, ...pkg.n8n.credentials].sort();
		const present = [
			...filesUnder(join(installed, 'dist'), '.node.js'),
			...filesUnder(join(installed, 'dist'), '.credentials.js'),
		]
			.map((f) => relative(installed, f))
			.sort();
		expect(listed).toEqual(present);
		expect(pkg.peerDependencies).toEqual({ 'n8n-workflow': '*' });
		expect(pkg.keywords).toContain('n8n-community-node-package');
	});

	it('loads every dist file with plain Node, no NODE_PATH, allowing only n8n-workflow, luxon and lodash', async () => {
		const files = filesUnder(join(installed, 'dist'), '.js');
		expect(files.length).toBeGreaterThan(0);
		// The three modules n8n provides are served from this repo's dev copies; anything else must
		// resolve inside the installed package or fail.
		const loader = join(folder, 'load-all.js');
		writeFileSync(
			loader,
			`const Module = require('module');
const provided = ${JSON.stringify(['n8n-workflow', 'luxon', 'lodash'])};
const devModules = ${JSON.stringify(join(REPO_ROOT, 'node_modules'))};
const original = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const root = request.split('/')[0];
  if (provided.includes(root)) return original.call(this, request, { ...parent, paths: [devModules] }, ...rest);
  return original.call(this, request, parent, ...rest);
};
const failures = [];
for (const f of ${JSON.stringify(files)}) {
  try { require(f); } catch (e) { failures.push(f + ': ' + e.message.split('\\n')[0]); }
}
process.stdout.write(JSON.stringify(failures));
`,
		);
		const env = { ...process.env };
		delete env.NODE_PATH;
		const { stdout } = await run(process.execPath, [loader], { cwd: folder, env, maxBuffer: 16 * 1024 * 1024 });
		expect(JSON.parse(stdout)).toEqual([]);
	});
});
