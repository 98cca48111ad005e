/**
 * Screenshots of every template's canvas, taken from the real n8n editor in headless Chromium, for the
 * README: `node -r ./scripts/register-ts.js scripts/screenshots.ts` writes docs/images/template-<name>.png.
 *
 * Starts stock n8n with this package (the acceptance harness), creates the credentials the templates name,
 * imports each workflows/*.json as it is, logs in and opens /workflow/<id> in Chromium (/usr/bin/chromium,
 * or CHROMIUM_PATH), waits for the canvas and takes the picture.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

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

async function main(): Promise<void> {
	const only = process.argv.slice(2);
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
		const templates = readdirSync(join(REPO_ROOT, 'workflows'))
			.filter((f) => f.endsWith('.json'))
			.map((f) => f.replace(/\.json$/, ''))
			.filter((t) => only.length === 0 || only.includes(t));
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
				await page.goto(`${n8n.baseUrl}/workflow/${id}`, { waitUntil: 'networkidle' });
				await page.waitForSelector('.vue-flow__node', { timeout: 60_000 });
				// Let the canvas fit the view and draw the edges.
				await page.waitForTimeout(1500);
				await page.keyboard.press('Shift+1').catch(() => undefined);
				// One step out, so the "Execute workflow" button does not cover the lowest nodes.
				await page.keyboard.press('-').catch(() => undefined);
				await page.waitForTimeout(800);
				const file = join(out, `template-${t}.png`);
				await page.screenshot({ path: file });
				console.log(`docs/images/template-${t}.png`);
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
