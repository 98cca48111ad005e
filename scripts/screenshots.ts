/**
 * Screenshots from the real n8n editor in headless Chromium, for the README:
 * `npm run screenshots` writes docs/images/template-<name>.png (every template's canvas),
 * docs/images/node-panel.png (the nodes panel searched for "DataSync") and docs/images/node-<node>.png
 * (each node's settings, opened in a template). `npm run screenshots -- nodes` takes only the node
 * pictures; `npm run screenshots -- <template> …` only those templates' canvases.
 *
 * Starts stock n8n with this package (the acceptance harness), creates the credentials the templates name,
 * imports each workflows/*.json as it is, logs in and opens /workflow/<id> in Chromium (/usr/bin/chromium,
 * or CHROMIUM_PATH; Debian: `apt-get install chromium`), waits for the canvas and takes the picture.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';

import { N8nInstance, OWNER, prepare, REPO_ROOT } from '../test/acceptance/harness';
import { readTemplate } from '../test/acceptance/templates-support';
import { TEMPLATE_CREDENTIALS } from './template-mapping';

const TYPES: Record<keyof typeof TEMPLATE_CREDENTIALS, [string, Record<string, unknown>]> = {
	store: ['dataSyncStoreApi', { backend: 'sqlite', path: '~/.n8n/datasync/store.sqlite' }],
	systemA: ['dataSyncSqlApi', { dialect: 'postgres', host: 'crm.example.internal', port: 5432, database: 'crm', user: 'sync', password: 'x', ssl: 'disable' }],
	systemB: ['dataSyncSqlApi', { dialect: 'mysql', host: 'erp.example.internal', port: 3306, database: 'erp', user: 'sync', password: 'x', ssl: 'disable' }],
	systemC: ['dataSyncRestApi', { baseUrl: 'https://shop.example.com/api', authType: 'bearer', token: 'x', testPath: '/' }],
	secretA: ['dataSyncWebhookApi', { secret: 'screenshot-secret-a-0123456789' }],
	secretB: ['dataSyncWebhookApi', { secret: 'screenshot-secret-b-0123456789' }],
	secretC: ['dataSyncWebhookApi', { secret: 'screenshot-secret-c-0123456789' }],
};

/** Each node's settings picture: the node, opened in the template where its settings read best. */
const NODE_SHOTS: Array<{ file: string; template: string; node: string }> = [
	{ file: 'node-trigger', template: 'bidirectional-contacts', node: 'A changed (webhook)' },
	{ file: 'node-database', template: 'bidirectional-contacts', node: 'Write to B' },
	{ file: 'node-database-trigger', template: 'bidirectional-contacts', node: 'A changed (database)' },
	{ file: 'node-http-api', template: 'tri-directional-contacts', node: 'Write to C' },
	{ file: 'node-mapper', template: 'bidirectional-contacts', node: 'To canonical' },
	{ file: 'node-loop-guard', template: 'bidirectional-contacts', node: 'Loop Guard' },
	{ file: 'node-conflict-resolver', template: 'bidirectional-contacts', node: 'Conflict Resolver' },
	{ file: 'node-store', template: 'bidirectional-contacts', node: 'Commit' },
];

async function openWorkflow(page: Page, baseUrl: string, id: string): Promise<void> {
	await page.goto(`${baseUrl}/workflow/${id}`, { waitUntil: 'networkidle' });
	await page.waitForSelector('.vue-flow__node', { timeout: 60_000 });
	// Let the canvas fit the view and draw the edges.
	await page.waitForTimeout(1500);
}

/** The nodes panel (the canvas's "+"), searched for "DataSync": every node of the package. */
async function shootNodePanel(page: Page, baseUrl: string, id: string, file: string): Promise<void> {
	await openWorkflow(page, baseUrl, id);
	await page.locator('[data-test-id="node-creator-plus-button"]').click();
	const search = page.locator('[data-test-id="node-creator-search-bar"] input, [data-test-id="node-creator-search-bar"]').first();
	await search.waitFor({ timeout: 30_000 });
	await page.keyboard.type('DataSync', { delay: 40 });
	await page.waitForTimeout(1500);
	await page.screenshot({ path: file });
}

/** One node's settings: a double click on it on the canvas opens them (n8n's node details view). */
async function shootNodeSettings(page: Page, baseUrl: string, id: string, node: string, file: string): Promise<void> {
	// A tall window, so the settings panel shows most of a node's fields without scrolling.
	await page.setViewportSize({ width: 1680, height: 1500 });
	await openWorkflow(page, baseUrl, id);
	await page.locator(`[data-test-id="canvas-node"][data-node-name="${node}"]`).dblclick();
	await page.waitForSelector('[data-test-id="ndv"], [data-test-id="node-parameters"]', { timeout: 30_000 });
	await page.waitForTimeout(1500);
	await page.screenshot({ path: file });
	await page.keyboard.press('Escape');
	await page.setViewportSize({ width: 1680, height: 960 });
}

async function main(): Promise<void> {
	const args = process.argv.slice(2);
	const nodeShots = args.length === 0 || args.includes('nodes');
	const only = args.filter((a) => a !== 'nodes');
	const templateShots = args.length === 0 || only.length > 0;
	await prepare();
	const n8n = await N8nInstance.start();
	const profile = mkdtempSync(join(tmpdir(), 'datasync-chromium-'));
	const out = join(REPO_ROOT, 'docs', 'images');
	mkdirSync(out, { recursive: true });
	try {
		// Credentials with the names the templates use, so the nodes show them as set.
		const byName = new Map<string, { id: string; name: string }>();
		for (const [key, [type, data]] of Object.entries(TYPES)) {
			const name = TEMPLATE_CREDENTIALS[key as keyof typeof TEMPLATE_CREDENTIALS].name;
			byName.set(name, await n8n.createCredential(type, name, data));
		}
		// n8n's own SMTP credential, for the status template's alert e-mails.
		byName.set('SMTP (alert e-mails)', await n8n.createCredential('smtp', 'SMTP (alert e-mails)', { user: '', password: '', host: 'smtp.example.internal', port: 587, secure: false }));
		// n8n's own Bearer Auth credential, for the HTTP Request nodes of the any-node template.
		byName.set('System B (REST API token)', await n8n.createCredential('httpBearerAuth', 'System B (REST API token)', { token: 'x' }));
		const templates = readdirSync(join(REPO_ROOT, 'workflows'))
			.filter((f) => f.endsWith('.json'))
			.map((f) => f.replace(/\.json$/, ''))
			.filter((t) => only.length === 0 || only.includes(t) || (nodeShots && NODE_SHOTS.some((n) => n.template === t)));
		const ids = new Map<string, string>();
		for (const t of templates) {
			const wf = readTemplate(t);
			for (const node of wf.nodes) for (const [type, ref] of Object.entries(node.credentials ?? {})) node.credentials![type] = byName.get(ref.name) ?? ref;
			ids.set(t, (await n8n.createWorkflow(wf as unknown as Record<string, unknown>)).id);
		}

		const browser = await chromium.launchPersistentContext(profile, {
			executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
			headless: true,
			args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
			viewport: { width: 1680, height: 960 },
			deviceScaleFactor: 1,
		});
		try {
			const login = await browser.request.post(`${n8n.baseUrl}/rest/login`, { data: { emailOrLdapLoginId: OWNER.email, password: OWNER.password } });
			if (!login.ok()) throw new Error(`login: ${login.status()} ${await login.text()}`);
			const page = browser.pages()[0] ?? (await browser.newPage());
			for (const [t, id] of ids) {
				if (!templateShots || (only.length > 0 && !only.includes(t))) continue;
				await openWorkflow(page, n8n.baseUrl, id);
				await page.keyboard.press('Shift+1').catch(() => undefined);
				// One step out, so the "Execute workflow" button does not cover the lowest nodes.
				await page.keyboard.press('-').catch(() => undefined);
				await page.waitForTimeout(800);
				const file = join(out, `template-${t}.png`);
				await page.screenshot({ path: file });
				console.log(`docs/images/template-${t}.png`);
			}
			if (nodeShots) {
				const panel = await n8n.createWorkflow({
					name: 'DataSync nodes',
					nodes: [{ id: 'manual', name: 'When clicking ‘Execute workflow’', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} }],
				});
				await shootNodePanel(page, n8n.baseUrl, panel.id, join(out, 'node-panel.png'));
				console.log('docs/images/node-panel.png');
				for (const shot of NODE_SHOTS) {
					await shootNodeSettings(page, n8n.baseUrl, ids.get(shot.template)!, shot.node, join(out, `${shot.file}.png`));
					console.log(`docs/images/${shot.file}.png`);
				}
			}
		} finally {
			await browser.close();
		}
	} finally {
		await n8n.stop();
		rmSync(profile, { recursive: true, force: true });
	}
}

main().then(
	() => process.exit(0),
	(error) => {
		console.error(error instanceof Error ? error.stack ?? error.message : error);
		process.exit(1);
	},
);
