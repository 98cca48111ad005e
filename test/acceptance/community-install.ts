/**
 * Installs the packed tarball into a user folder exactly as n8n 2.41's Community Nodes screen installs a
 * package (CommunityPackagesService.downloadPackage in n8n/dist/modules/community-packages), except that
 * the tarball is this build's instead of one `npm pack <name>@<version>` fetched from the registry: the
 * package is not published, and the tests send no traffic but to 127.0.0.1 and the npm registry.
 *
 * n8n's steps, in `<user folder>/.n8n/nodes`:
 *   1. `npm pack <name>@<version> --quiet --registry=<registry>` (here: the packed tarball);
 *   2. `tar -xzf <tarball> -C node_modules/<name> --strip-components=1`;
 *   3. drop devDependencies, peerDependencies and optionalDependencies from the package's package.json;
 *   4. in node_modules/<name>: `npm install --audit=false --fund=false --bin-links=false
 *      --install-strategy=shallow --ignore-scripts=true --package-lock=false` (the package's own
 *      dependencies, pg and mysql2, into its own node_modules);
 *   5. record `<name>: <version>` in the ledger `.n8n/nodes/package.json`.
 * n8n then loads `.n8n/nodes/node_modules/<name>` (at once, or at the next start).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { PACKAGE_NAME } from './harness';

const run = promisify(execFile);

/** Returns the installed package's folder. */
export async function installAsCommunityNodes(userFolder: string, tarball: string): Promise<string> {
	const nodesDir = join(userFolder, '.n8n', 'nodes');
	const packageDir = join(nodesDir, 'node_modules', PACKAGE_NAME);
	if (existsSync(packageDir)) throw new Error(`${packageDir} exists already: n8n moves an installed package aside before it installs another`);
	mkdirSync(packageDir, { recursive: true });
	await run('tar', ['-xzf', tarball, '-C', packageDir, '--strip-components=1'], { cwd: nodesDir });
	const packageJsonPath = join(packageDir, 'package.json');
	const { devDependencies, peerDependencies, optionalDependencies, ...packageJson } = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as Record<string, unknown>;
	void devDependencies;
	void peerDependencies;
	void optionalDependencies;
	writeFileSync(packageJsonPath, JSON.stringify(packageJson, null, 2), 'utf8');
	// n8n adds --registry=<N8N_COMMUNITY_PACKAGES_REGISTRY, by default https://registry.npmjs.org>; npm's
	// own configured registry is used here, so a machine behind a registry mirror installs too.
	await run('npm', ['install', '--audit=false', '--fund=false', '--bin-links=false', '--install-strategy=shallow', '--ignore-scripts=true', '--package-lock=false'], {
		cwd: packageDir,
		maxBuffer: 64 * 1024 * 1024,
		timeout: 10 * 60 * 1000,
	});
	const ledgerPath = join(nodesDir, 'package.json');
	const ledger = existsSync(ledgerPath)
		? (JSON.parse(readFileSync(ledgerPath, 'utf8')) as { dependencies?: Record<string, string> })
		: { name: 'installed-nodes', private: true, dependencies: {} };
	ledger.dependencies = { ...ledger.dependencies, [PACKAGE_NAME]: String(packageJson.version) };
	writeFileSync(ledgerPath, JSON.stringify(ledger, null, 2), 'utf8');
	return packageDir;
}
