/**
 * `npm run demo`: stock n8n with this package loaded, on 127.0.0.1, ready to use in the browser.
 * `npm run demo -- --once`: the same, checks that every DataSync node is in n8n's node list, stops, and
 * exits 0 (all there) or 1.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { freePort, N8nInstance, NODE_PREFIX, OWNER, prepare, REPO_ROOT } from '../test/acceptance/harness';

/** n8n's usual port when nothing answers there, else a free one. */
async function demoPort(preferred = 5678): Promise<number> {
	try {
		await fetch(`http://127.0.0.1:${preferred}/`);
		return await freePort();
	} catch {
		return preferred;
	}
}

async function main(): Promise<number> {
	const once = process.argv.includes('--once');
	console.log('Preparing: stock n8n (installed once into the cache), this package built and packed...');
	await prepare();
	const n8n = await N8nInstance.start({ port: await demoPort() });
	const stop = async () => {
		await n8n.stop();
	};
	process.on('SIGINT', () => void stop().then(() => process.exit(0)));
	process.on('SIGTERM', () => void stop().then(() => process.exit(0)));

	const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { n8n: { nodes: string[] } };
	const expected = pkg.n8n.nodes.map((p) => NODE_PREFIX + p.split('/').pop()!.replace('.node.js', '').replace(/^./, (c) => c.toLowerCase()));
	const types = await n8n.rest<Array<{ name: string; displayName: string }> | { data: Array<{ name: string; displayName: string }> }>(
		'GET',
		'/types/nodes.json',
	);
	const list = Array.isArray(types) ? types : types.data;
	const ours = list.filter((t) => t.name.startsWith(NODE_PREFIX));
	const missing = expected.filter((name) => !ours.some((t) => t.name === name));

	console.log('');
	console.log(`n8n is running with n8n-nodes-datasync: ${n8n.baseUrl}`);
	console.log(`Log in as ${OWNER.email} / ${OWNER.password}`);
	console.log(`DataSync nodes in the node list: ${[...new Set(ours.map((t) => t.displayName))].join(', ') || '(none)'}`);
	if (missing.length) console.log(`MISSING from n8n's node list: ${missing.join(', ')}`);

	if (once) {
		await stop();
		return missing.length === 0 && ours.length > 0 ? 0 : 1;
	}
	console.log('Press Ctrl+C to stop n8n.');
	await new Promise(() => {});
	return 0;
}

main().then(
	(code) => process.exit(code),
	(error) => {
		console.error(error instanceof Error ? error.message : error);
		process.exit(1);
	},
);
