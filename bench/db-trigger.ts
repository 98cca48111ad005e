/**
 * Latency of the database way in (issue 14, item 2): a row changed in Postgres A until it is visible in
 * MariaDB B, through stock n8n and the bidirectional template with its DataSync Database Trigger on A
 * enabled (LISTEN/NOTIFY, the trigger function installed by the node), the webhooks unused.
 *
 *   npx node -r ./scripts/register-ts.js bench/db-trigger.ts [--changes N] [--seed-rows R]
 *
 * N single-row updates, one after the other: each updates one contact in A (a new city) and the clock runs
 * until B's row carries it (B polled every 5 ms with a primary-key read). Before them, R contacts are synced
 * once (the store and B hold them). The 5-minute backup poll this replaces is not timed (it would take
 * hours): a change waits for the next tick, uniformly placed in the interval, so its expected latency is
 * interval / 2 = 150 s on average and 285 s at p95, plus one execution of the flow.
 *
 * Writes bench/results/db-trigger.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

import { N8nInstance, REPO_ROOT, prepare } from '../test/acceptance/harness';
import { importTemplate, nodeNamed, systemCredentials } from '../test/acceptance/templates-support';
import { ADA_CRM, CrmSystem, ErpSystem } from '../test/acceptance/templates-systems';
import { createMariaDbDatabase, createPgDatabase, createTempDir } from '../test/helpers/services';

function option(name: string, fallback: number): number {
	const i = process.argv.indexOf(`--${name}`);
	return i === -1 ? fallback : Number(process.argv[i + 1]);
}

const CHANGES = option('changes', 200);
const SEED_ROWS = option('seed-rows', 50);
const POLL_MINUTES = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000, everyMs = 5): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
		await sleep(everyMs);
	}
}

async function main(): Promise<void> {
	await prepare();
	const [pg, maria] = await Promise.all([createPgDatabase('ds_bench_dbt'), createMariaDbDatabase('ds_bench_dbt')]);
	const dir = createTempDir('ds-bench-dbt');
	const [crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_people'), ErpSystem.open(maria, 'erp_customers')]);
	const n8n = await N8nInstance.start();
	try {
		const credentials = await systemCredentials(n8n, { backend: 'sqlite', path: dir.file('store.sqlite') }, pg, maria, { a: 'bench-unused-a-0123456789', b: 'bench-unused-b-0123456789' });
		const admin = new Client(pg.config);
		await admin.connect();
		// A's rows exist before the trigger; the first read after publishing syncs them all (the catch-up).
		const ids: number[] = [];
		for (let i = 0; i < SEED_ROWS; i++) ids.push((await crm.insert({ ...ADA_CRM, email: `c${i}@example.com`, firstName: `C${i}` })).id as number);
		await importTemplate(n8n, 'bidirectional-contacts', {
			credentials,
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			paths: { 'datasync/crm/contact': 'bench-dbt/crm/contact', 'datasync/erp/contact': 'bench-dbt/erp/contact' },
			parameters: { 'A changed (database)': { installTrigger: true } },
			patch: (w) => void delete (nodeNamed(w, 'A changed (database)') as { disabled?: boolean }).disabled,
		});
		const seeded = Date.now();
		await until('the seed rows in B', async () => (await erp.rows()).length === SEED_ROWS, 120_000, 100);
		process.stdout.write(`seed: ${SEED_ROWS} rows of A in B ${Date.now() - seeded} ms after publishing\n`);
		const latencies: number[] = [];
		for (let i = 0; i < CHANGES; i++) {
			const idx = i % SEED_ROWS;
			const city = `City ${i}`;
			const email = `c${idx}@example.com`;
			const started = performance.now();
			await crm.update(ids[idx], { city });
			await until(`change ${i} in B`, async () => (await erp.byEmail(email))?.city === city);
			latencies.push(performance.now() - started);
		}
		await admin.end();
		const sorted = [...latencies].sort((a, b) => a - b);
		const result = {
			when: new Date().toISOString(),
			machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release() },
			changes: CHANGES,
			seedRows: SEED_ROWS,
			trigger: {
				p50Ms: Math.round(percentile(sorted, 50)),
				p95Ms: Math.round(percentile(sorted, 95)),
				minMs: Math.round(sorted[0]),
				maxMs: Math.round(sorted[sorted.length - 1]),
				meanMs: Math.round(latencies.reduce((s, v) => s + v, 0) / latencies.length),
			},
			poll: {
				intervalMinutes: POLL_MINUTES,
				note: 'not timed: a change waits for the next tick, uniformly placed in the interval; expected latency interval/2 on average, 0.95 × interval at p95, plus one execution',
				expectedMeanSeconds: (POLL_MINUTES * 60) / 2,
				expectedP95Seconds: POLL_MINUTES * 60 * 0.95,
			},
		};
		const out = join(REPO_ROOT, 'bench', 'results');
		mkdirSync(out, { recursive: true });
		writeFileSync(join(out, 'db-trigger.json'), `${JSON.stringify(result, null, 2)}\n`);
		process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
	} finally {
		await n8n.stop();
		await crm.close();
		await erp.close();
		await pg.drop();
		await maria.drop();
		dir.remove();
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(1);
});
