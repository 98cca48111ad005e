/**
 * Change compression (issue 15, item 5): the writes it saves and the latency it adds, through stock n8n
 * and the bidirectional template, System A in Postgres, System B in MariaDB (a trigger logs every UPDATE
 * B's table takes), an SQLite store.
 *
 *   npx node -r ./scripts/register-ts.js bench/compression.ts [--records K] [--edits E] [--spread-ms S] [--window-ms W] [--max-delay-ms M] [--singles N]
 *
 * Twice, on fresh databases and a fresh n8n: once with the Loop Guard's Change Compression off (the
 * template's default), once on (window W, max delay M). Each time K contacts are synced once, then edited
 * in bursts, all K at once: E edits per contact spread over S ms, each a real UPDATE of one field in A and
 * its signed webhook carrying the key fields and that field (the next edit of a contact waits for n8n's answer,
 * so the burst is as dense as n8n answers). Measured: the UPDATEs B took during the
 * bursts, and per contact the time from its last webhook until B's row holds the last value of every field
 * its burst changed. Then N single edits one after the other (no burst): the latency compression adds to a
 * lone change. Every run is checked: B's rows equal A's, field for field.
 *
 * Writes bench/results/compression.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';

import { N8nInstance, REPO_ROOT, prepare } from '../test/acceptance/harness';
import { importTemplate, signedPost, systemCredentials } from '../test/acceptance/templates-support';
import { ADA_CRM, CrmSystem, EDIT_FIELDS, ErpSystem, partialNotice } from '../test/acceptance/templates-systems';
import { createMariaDbDatabase, createPgDatabase, createTempDir } from '../test/helpers/services';

function option(name: string, fallback: number): number {
	const i = process.argv.indexOf(`--${name}`);
	return i === -1 ? fallback : Number(process.argv[i + 1]);
}

const RECORDS = option('records', 5);
const EDITS = option('edits', 20);
const SPREAD_MS = option('spread-ms', 3000);
const WINDOW_MS = option('window-ms', 1000);
const MAX_DELAY_MS = option('max-delay-ms', 10_000);
const SINGLES = option('singles', 20);
const SECRET_A = 'bench-compression-a-0123456789';
const SECRET_B = 'bench-compression-b-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function stats(values: number[]) {
	const sorted = [...values].sort((a, b) => a - b);
	return { p50Ms: Math.round(percentile(sorted, 50)), p95Ms: Math.round(percentile(sorted, 95)), minMs: Math.round(sorted[0]), maxMs: Math.round(sorted[sorted.length - 1]) };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000, everyMs = 5): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
		await sleep(everyMs);
	}
}

/** The value edit `n` of a contact gives `field`; `tag` tells contacts apart (b<i> in bursts, s<i> alone). */
const valueOf = (field: string, tag: string, n: number) =>
	field === 'phone' ? `+44 20 ${tag.startsWith('b') ? '7' : '8'}${tag.slice(1).padStart(3, '0')} ${String(1000 + n)}` : `${tag}-${field}-${n}`;

async function runMode(compression: boolean) {
	const label = compression ? 'on' : 'off';
	const [pg, maria] = await Promise.all([createPgDatabase(`ds_bench_cmp_${label}`), createMariaDbDatabase(`ds_bench_cmp_${label}`)]);
	const dir = createTempDir('ds-bench-cmp');
	const [crm, erp] = await Promise.all([CrmSystem.open(pg, 'crm_people'), ErpSystem.open(maria, 'erp_customers')]);
	await erp.conn.query(`CREATE TABLE erp_write_log (seq INT AUTO_INCREMENT PRIMARY KEY, contact_id INT NOT NULL)`);
	await erp.conn.query(`CREATE TRIGGER erp_customers_written AFTER UPDATE ON erp_customers FOR EACH ROW INSERT INTO erp_write_log (contact_id) VALUES (NEW.contact_id)`);
	const writes = async () => Number(((await erp.conn.query(`SELECT count(*) AS n FROM erp_write_log`))[0] as Array<{ n: number }>)[0].n);
	const n8n = await N8nInstance.start();
	try {
		const credentials = await systemCredentials(n8n, { backend: 'sqlite', path: dir.file('store.sqlite') }, pg, maria, { a: SECRET_A, b: SECRET_B });
		const path = `bench-cmp-${label}/crm/contact`;
		await importTemplate(n8n, 'bidirectional-contacts', {
			credentials,
			tables: { crm_contacts: crm.table, erp_contacts: erp.table },
			paths: { 'datasync/crm/contact': path, 'datasync/erp/contact': `bench-cmp-${label}/erp/contact` },
			parameters: compression ? { 'Loop Guard': { compression: { windowMs: WINDOW_MS, maxDelayMs: MAX_DELAY_MS } } } : {},
		});
		const contacts: Array<{ a: number; email: string; b?: number }> = [];
		for (let i = 0; i < RECORDS + SINGLES; i++) {
			const email = `c${i}@example.com`;
			const row = await crm.insert({ ...ADA_CRM, email, firstName: `C${i}` });
			contacts.push({ a: row.id as number, email });
			const res = await signedPost(n8n, path, SECRET_A, CrmSystem.notice(row));
			if (res.status !== 200) throw new Error(`seed webhook answered ${res.status}`);
		}
		const seeded = Date.now();
		await until('the seed contacts in B', async () => (await erp.rows()).length === contacts.length, 600_000, 50);
		process.stdout.write(`compression ${label}: ${contacts.length} seed contacts in B ${Date.now() - seeded} ms after the last seed webhook\n`);
		for (const c of contacts) c.b = (await erp.byEmail(c.email))!.contact_id as number;
		await sleep(WINDOW_MS + 1000);

		/** Edit `n`: A's row updated, then its webhook. */
		const inFlight: Array<Promise<void>> = [];
		const edit = async (c: { a: number; email: string }, n: number, tag: string) => {
			const [field] = EDIT_FIELDS[n % EDIT_FIELDS.length];
			const row = await crm.update(c.a, { [field]: valueOf(field, tag, n) });
			const notice = partialNotice(row, field);
			// Each webhook waits for n8n's answer before the next one of the record goes (in order, as a sender
			// that retries until it gets a 2xx does): deliveries of one record never overtake each other here.
			const sent = signedPost(n8n, path, SECRET_A, notice).then((res) => {
				if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
			});
			inFlight.push(sent);
			await sent;
		};
		const finalOf = (edits: number, tag: string) => {
			const out: Record<string, string> = {};
			for (let n = 0; n < edits; n++) {
				const [field, column] = EDIT_FIELDS[n % EDIT_FIELDS.length];
				out[column] = valueOf(field, tag, n);
			}
			return out;
		};
		const holds = async (b: number, want: Record<string, string>) => {
			const r = await erp.row(b);
			return !!r && Object.entries(want).every(([k, v]) => r[k] === v);
		};

		// Bursts: all RECORDS contacts at once, EDITS each over SPREAD_MS.
		const writesBefore = await writes();
		const burstStarted = Date.now();
		/** Per contact: first edit to the answer of its last webhook. */
		const spans: number[] = [];
		const burstLatencies = await Promise.all(
			contacts.slice(0, RECORDS).map(async (c, i) => {
				const tag = `b${i}`;
				await sleep((i * SPREAD_MS) / EDITS / RECORDS);
				const first = performance.now();
				let sent: Promise<void> = Promise.resolve();
				for (let n = 0; n < EDITS; n++) {
					sent = edit(c, n, tag);
					await sent;
					if (n < EDITS - 1) await sleep(SPREAD_MS / (EDITS - 1));
				}
				await sent;
				const last = performance.now();
				spans.push(last - first);
				const want = finalOf(EDITS, tag);
				await until(`burst ${i} in B`, () => holds(c.b!, want));
				return performance.now() - last;
			}),
		);
		await Promise.all(inFlight);
		const burstSeconds = (Date.now() - burstStarted) / 1000;
		await sleep(Math.max(WINDOW_MS, 1000) + 2000);
		const burstWrites = (await writes()) - writesBefore;

		// Lone edits, one after the other.
		const singleLatencies: number[] = [];
		for (let i = 0; i < SINGLES; i++) {
			const c = contacts[RECORDS + i];
			const started = performance.now();
			await edit(c, 1, `s${i}`);
			await until(`single ${i} in B`, () => holds(c.b!, { city: valueOf('city', `s${i}`, 1) }));
			singleLatencies.push(performance.now() - started);
		}

		// Correct: B equals A field for field, for every contact.
		const mismatches: string[] = [];
		for (const c of contacts) {
			const [a, b] = [(await crm.row(c.a))!, (await erp.row(c.b!))!];
			for (const [field, column] of EDIT_FIELDS) if (a[field] !== b[column]) mismatches.push(`${c.email} ${field}: A ${String(a[field])} B ${String(b[column])}`);
		}
		return {
			compression: compression ? { windowMs: WINDOW_MS, maxDelayMs: MAX_DELAY_MS } : 'off',
			burst: { records: RECORDS, editsPerRecord: EDITS, changesSent: RECORDS * EDITS, writesToB: burstWrites, seconds: burstSeconds, burstSpan: stats(spans), meanGapMs: Math.round(spans.reduce((a, b) => a + b, 0) / spans.length / (EDITS - 1)), lastEditToVisible: stats(burstLatencies) },
			single: { changes: SINGLES, changeToVisible: stats(singleLatencies) },
			correct: mismatches.length === 0,
			mismatches: mismatches.slice(0, 10),
		};
	} finally {
		await n8n.stop();
		await crm.close();
		await erp.close();
		await pg.drop();
		await maria.drop();
		dir.remove();
	}
}

async function main(): Promise<void> {
	await prepare();
	const off = await runMode(false);
	process.stdout.write(`compression off: ${JSON.stringify(off)}\n`);
	const on = await runMode(true);
	process.stdout.write(`compression on: ${JSON.stringify(on)}\n`);
	const result = {
		when: new Date().toISOString(),
		machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release() },
		off,
		on,
		writesSaved: off.burst.writesToB - on.burst.writesToB,
		writesSavedShare: Number(((off.burst.writesToB - on.burst.writesToB) / off.burst.writesToB).toFixed(3)),
		addedLatencyBurstP50Ms: on.burst.lastEditToVisible.p50Ms - off.burst.lastEditToVisible.p50Ms,
		addedLatencySingleP50Ms: on.single.changeToVisible.p50Ms - off.single.changeToVisible.p50Ms,
		addedLatencySingleP95Ms: on.single.changeToVisible.p95Ms - off.single.changeToVisible.p95Ms,
	};
	const out = join(REPO_ROOT, 'bench', 'results');
	mkdirSync(out, { recursive: true });
	writeFileSync(join(out, 'compression.json'), `${JSON.stringify(result, null, 2)}\n`);
	process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
	if (!off.correct || !on.correct) {
		process.stderr.write('a run left B different from A (see mismatches)\n');
		process.exit(1);
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(1);
});
