/**
 * Soak: the bidirectional template in one stock n8n on the default SQLite store, fed signed webhooks at a
 * steady rate for a long time (issue 13, item 5). Not part of `npm test`.
 *
 *   npm run soak [-- --minutes 20] [--rate 2] [--window 2] [--out .test-artifacts/soak.json]
 *
 * System A = a CRM in real Postgres, System B = an ERP in real MariaDB (databases of their own, dropped
 * at the end), the store an SQLite file, n8n's own data in SQLite (n8n's default). 100 contacts are
 * seeded in A and linked by a first Refresh; then, `--rate` times a second, one change is made in a
 * system's table and announced to its DataSync Trigger: 30 % creates in A, 40 % updates in A, 30 % updates
 * in B (a contact is not changed again while its previous change is still on its way). Measured:
 * - n8n's RSS: the sum of VmRSS over its process group (main process and task runner; the runner comes
 *   and goes) and the main process's alone, every 10 s, each with its least-squares slope in MB/hour
 *   (whole run, after the first window as warm-up, and over the second half);
 * - the webhook's answer latency (send → HTTP answer) per request, and the end-to-end sync latency
 *   (send → the change readable in the other system's table, polled every 20 ms);
 * - p50 / p95 of both per window (`--window` minutes, default 2).
 * At the end: every contact equal in A and B (first name, last name, phone), one row per e-mail on each
 * side, every row linked once. Exit code 0 when all of that holds and no change failed to arrive within
 * 60 s; the figures go to the JSON file either way.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { closeAllStores, openStore } from '../lib/engine';
import { treeRssMb } from '../bench/rss';
import { ARTIFACTS, N8nInstance, prepare } from '../test/acceptance/harness';
import { failure, importBidirectional, runFromTrigger, signedPost, systemCredentials } from '../test/acceptance/templates-support';
import { ADA_CRM, CrmSystem, ErpSystem } from '../test/acceptance/templates-systems';
import { prng } from '../test/helpers/prng';
import { createMariaDbDatabase, createPgDatabase, createTempDir } from '../test/helpers/services';

function option(name: string, fallback: string): string {
	const i = process.argv.indexOf(`--${name}`);
	return i === -1 || i + 1 >= process.argv.length ? fallback : process.argv[i + 1];
}

const MINUTES = Number(option('minutes', '20'));
const RATE = Number(option('rate', '2'));
const WINDOW_MIN = Number(option('window', '2'));
const OUT = option('out', join(ARTIFACTS, 'soak.json'));
const SEED = 100;
const SECRET_A = 'crm-signing-secret-0123456789';
const SECRET_B = 'erp-signing-secret-0123456789';
const ARRIVAL_TIMEOUT_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fold = (email: unknown) => String(email).trim().toLowerCase();

/** Least-squares slope of y over x. */
function slope(points: Array<{ x: number; y: number }>): number {
	const n = points.length;
	if (n < 2) return 0;
	const mx = points.reduce((s, p) => s + p.x, 0) / n;
	const my = points.reduce((s, p) => s + p.y, 0) / n;
	const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
	const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
	return sxx === 0 ? 0 : sxy / sxx;
}

/** VmRSS of one process in MB (0 when it is gone). */
function processRssMb(pid: number): number {
	try {
		const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return m ? Number(m[1]) / 1024 : 0;
	} catch {
		return 0;
	}
}

function percentile(values: number[], p: number): number | null {
	if (!values.length) return null;
	const sorted = [...values].sort((a, b) => a - b);
	return Math.round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]);
}

interface Sample {
	/** Seconds since the load started. */
	t: number;
	kind: 'create-a' | 'update-a' | 'update-b';
	status: number;
	answerMs: number;
	/** Send → visible in the other system; null when it did not arrive within ARRIVAL_TIMEOUT_MS. */
	syncMs: number | null;
}

async function main(): Promise<number> {
	console.log(`soak: ${MINUTES} min at ${RATE} changes/s, windows of ${WINDOW_MIN} min → ${OUT}`);
	await prepare();
	const [pg, maria] = await Promise.all([createPgDatabase('ds_soak_a'), createMariaDbDatabase('ds_soak_b')]);
	const dir = createTempDir('ds-soak');
	let n8n: N8nInstance | undefined;
	const crm = await CrmSystem.open(pg, 'crm_people');
	const erp = await ErpSystem.open(maria, 'erp_customers');
	try {
		n8n = await N8nInstance.start();
		const rootPid = (n8n as unknown as { child: ChildProcess }).child.pid!;
		const storePath = dir.file('store.sqlite');
		const credentials = await systemCredentials(n8n, { backend: 'sqlite', path: storePath }, pg, maria, { a: SECRET_A, b: SECRET_B });
		const paths = { crm: 'soak/crm/contact', erp: 'soak/erp/contact' };
		const wf = await importBidirectional(n8n, credentials, { crm: crm.table, erp: erp.table }, paths);

		// Seed: 100 contacts in A, linked to B by a first Refresh.
		const contacts: Array<{ email: string; aId: number; bId: number; busy: boolean; n: number }> = [];
		for (let i = 0; i < SEED; i++) await crm.insert({ ...ADA_CRM, email: `soak${i}@example.com`, firstName: `Soak${i}`, lastName: 'Seed', phone: `+44 20 7946 ${1000 + i}` });
		const refresh = await runFromTrigger(n8n, wf, 'Refresh (manual)', 180_000);
		if (refresh.status !== 'success') throw new Error(`seed Refresh failed: ${failure(refresh)}`);
		for (const row of await crm.rows()) {
			const b = await erp.byEmail(String(row.email));
			if (!b) throw new Error(`seed: ${String(row.email)} not in B after the Refresh`);
			contacts.push({ email: String(row.email), aId: row.id as number, bId: b.contact_id as number, busy: false, n: 0 });
		}
		console.log(`seeded ${contacts.length} contacts; RSS ${treeRssMb(rootPid).toFixed(0)} MB`);

		const random = prng(20);
		const samples: Sample[] = [];
		const rss: Array<{ t: number; mb: number }> = [];
		const mainRss: Array<{ t: number; mb: number }> = [];
		const sampleRss = () => {
			rss.push({ t: seconds(), mb: treeRssMb(rootPid) });
			mainRss.push({ t: seconds(), mb: processRssMb(rootPid) });
		};
		const inFlight = new Set<Promise<void>>();
		const started = performance.now();
		const seconds = () => (performance.now() - started) / 1000;
		let created = 0;

		/** Polls `visible` every 20 ms until it holds or the deadline passes; ms from `t0`, or null. */
		async function arrival(t0: number, visible: () => Promise<boolean>): Promise<number | null> {
			const deadline = t0 + ARRIVAL_TIMEOUT_MS;
			for (;;) {
				if (await visible()) return performance.now() - t0;
				if (performance.now() > deadline) return null;
				await sleep(20);
			}
		}

		async function oneChange(): Promise<void> {
			const roll = random();
			const t = seconds();
			if (roll < 0.3) {
				const n = created++;
				const email = `soak.new${n}@example.com`;
				const row = await crm.insert({ ...ADA_CRM, email, firstName: `New${n}`, lastName: 'Created', phone: `+44 20 7946 ${(5000 + n) % 10_000}` });
				const contact = { email, aId: row.id as number, bId: 0, busy: true, n: 0 };
				contacts.push(contact);
				const t0 = performance.now();
				const res = await signedPost(n8n!, paths.crm, SECRET_A, CrmSystem.notice(row));
				const answerMs = performance.now() - t0;
				const syncMs = await arrival(t0, async () => (await erp.byEmail(email))?.first_name === `New${n}`);
				const b = await erp.byEmail(email);
				contact.bId = (b?.contact_id as number) ?? 0;
				contact.busy = false;
				samples.push({ t, kind: 'create-a', status: res.status, answerMs, syncMs });
				return;
			}
			const idle = contacts.filter((c) => !c.busy && c.bId);
			if (!idle.length) return;
			const contact = idle[Math.floor(random() * idle.length)];
			contact.busy = true;
			const value = `E${++contact.n}-${Math.round(t)}`;
			const inA = roll < 0.7;
			const kind: Sample['kind'] = inA ? 'update-a' : 'update-b';
			const notice = inA ? CrmSystem.notice(await crm.update(contact.aId, { lastName: value })) : ErpSystem.notice(await erp.update(contact.bId, { last_name: value }));
			const t0 = performance.now();
			const { status } = await signedPost(n8n!, inA ? paths.crm : paths.erp, inA ? SECRET_A : SECRET_B, notice);
			const answerMs = performance.now() - t0;
			const syncMs = await arrival(t0, async () => (inA ? (await erp.row(contact.bId))?.last_name : (await crm.row(contact.aId))?.lastName) === value);
			contact.busy = false;
			samples.push({ t, kind, status, answerMs, syncMs });
		}

		const rssTimer = setInterval(sampleRss, 10_000);
		sampleRss();
		const total = Math.round(MINUTES * 60 * RATE);
		let lastReport = 0;
		for (let i = 0; i < total; i++) {
			// A steady schedule: change i starts at i / RATE seconds, whatever the previous ones took.
			const due = started + (i * 1000) / RATE;
			if (due > performance.now()) await sleep(due - performance.now());
			const p: Promise<void> = oneChange()
				.catch((error: Error) => {
					samples.push({ t: seconds(), kind: 'update-a', status: 0, answerMs: 0, syncMs: null });
					console.log(`  change failed: ${error.message}`);
				})
				.finally(() => inFlight.delete(p));
			inFlight.add(p);
			if (seconds() - lastReport >= 60) {
				lastReport = seconds();
				const recent = samples.filter((s) => s.t >= lastReport - 60);
				console.log(
					`  ${(lastReport / 60).toFixed(0)} min: ${samples.length} changes, RSS ${rss[rss.length - 1].mb.toFixed(0)} MB, ` +
						`answer p95 ${percentile(recent.map((s) => s.answerMs), 95)} ms, sync p95 ${percentile(recent.flatMap((s) => (s.syncMs === null ? [] : [s.syncMs])), 95)} ms`,
				);
			}
		}
		await Promise.all([...inFlight]);
		clearInterval(rssTimer);
		const loadSeconds = seconds();

		// Every contact synced, none doubled.
		const [rowsA, rowsB] = [await crm.rows(), await erp.rows()];
		const byEmailB = new Map<string, Array<Record<string, unknown>>>();
		for (const r of rowsB) byEmailB.set(fold(r.email), [...(byEmailB.get(fold(r.email)) ?? []), r]);
		const dupA = rowsA.length - new Set(rowsA.map((r) => fold(r.email))).size;
		const dupB = rowsB.length - byEmailB.size;
		const unsynced = rowsA
			.filter((a) => {
				const b = byEmailB.get(fold(a.email))?.[0];
				return !b || b.first_name !== a.firstName || b.last_name !== a.lastName || b.phone_number !== a.phone;
			})
			.map((a) => String(a.email));
		const store = await openStore({ backend: 'sqlite', path: storePath });
		const [linksA, linksB] = [await store.listLinks('contact', 'crm'), await store.listLinks('contact', 'erp')];
		const linkedOnce =
			linksA.length === rowsA.length &&
			linksB.length === rowsB.length &&
			new Set(linksA.map((l) => l.externalId)).size === rowsA.length &&
			new Set(linksB.map((l) => l.externalId)).size === rowsB.length &&
			new Set(linksA.map((l) => l.key)).size === rowsA.length;
		await closeAllStores();

		const windows = [];
		for (let start = 0; start < loadSeconds; start += WINDOW_MIN * 60) {
			const inWindow = samples.filter((s) => s.t >= start && s.t < start + WINDOW_MIN * 60);
			const rssIn = rss.filter((r) => r.t >= start && r.t < start + WINDOW_MIN * 60);
			windows.push({
				fromMin: start / 60,
				changes: inWindow.length,
				answerP50Ms: percentile(inWindow.map((s) => s.answerMs), 50),
				answerP95Ms: percentile(inWindow.map((s) => s.answerMs), 95),
				syncP50Ms: percentile(inWindow.flatMap((s) => (s.syncMs === null ? [] : [s.syncMs])), 50),
				syncP95Ms: percentile(inWindow.flatMap((s) => (s.syncMs === null ? [] : [s.syncMs])), 95),
				rssMaxMb: rssIn.length ? Math.round(Math.max(...rssIn.map((r) => r.mb))) : null,
			});
		}
		const hours = (points: Array<{ t: number; mb: number }>) => points.map((p) => ({ x: p.t / 3600, y: p.mb }));
		const result = {
			minutes: MINUTES,
			rate: RATE,
			loadSeconds: Math.round(loadSeconds),
			changes: samples.length,
			non200: samples.filter((s) => s.status !== 200).length,
			notArrived: samples.filter((s) => s.syncMs === null).length,
			rows: { a: rowsA.length, b: rowsB.length },
			duplicates: { a: dupA, b: dupB },
			unsynced,
			linkedOnce,
			rss: {
				startMb: Math.round(rss[0].mb),
				endMb: Math.round(rss[rss.length - 1].mb),
				maxMb: Math.round(Math.max(...rss.map((r) => r.mb))),
				slopeMbPerHour: Number(slope(hours(rss)).toFixed(1)),
				slopeAfterWarmupMbPerHour: Number(slope(hours(rss.filter((r) => r.t >= WINDOW_MIN * 60))).toFixed(1)),
				slopeSecondHalfMbPerHour: Number(slope(hours(rss.filter((r) => r.t >= loadSeconds / 2))).toFixed(1)),
				samples: rss.map((r) => ({ t: Math.round(r.t), mb: Math.round(r.mb) })),
			},
			mainProcessRss: {
				startMb: Math.round(mainRss[0].mb),
				endMb: Math.round(mainRss[mainRss.length - 1].mb),
				maxMb: Math.round(Math.max(...mainRss.map((r) => r.mb))),
				slopeMbPerHour: Number(slope(hours(mainRss)).toFixed(1)),
				slopeAfterWarmupMbPerHour: Number(slope(hours(mainRss.filter((r) => r.t >= WINDOW_MIN * 60))).toFixed(1)),
				slopeSecondHalfMbPerHour: Number(slope(hours(mainRss.filter((r) => r.t >= loadSeconds / 2))).toFixed(1)),
				samples: mainRss.map((r) => ({ t: Math.round(r.t), mb: Math.round(r.mb) })),
			},
			answer: { p50Ms: percentile(samples.map((s) => s.answerMs), 50), p95Ms: percentile(samples.map((s) => s.answerMs), 95) },
			sync: {
				p50Ms: percentile(samples.flatMap((s) => (s.syncMs === null ? [] : [s.syncMs])), 50),
				p95Ms: percentile(samples.flatMap((s) => (s.syncMs === null ? [] : [s.syncMs])), 95),
			},
			windows,
		};
		mkdirSync(dirname(OUT), { recursive: true });
		writeFileSync(OUT, JSON.stringify(result, null, 2));
		console.log(`RSS: ${result.rss.startMb} → ${result.rss.endMb} MB (max ${result.rss.maxMb}), slope ${result.rss.slopeMbPerHour} MB/h (after warm-up ${result.rss.slopeAfterWarmupMbPerHour}, second half ${result.rss.slopeSecondHalfMbPerHour} MB/h)`);
		console.log(`main process alone: ${result.mainProcessRss.startMb} → ${result.mainProcessRss.endMb} MB (max ${result.mainProcessRss.maxMb}), slope ${result.mainProcessRss.slopeMbPerHour} MB/h (after warm-up ${result.mainProcessRss.slopeAfterWarmupMbPerHour}, second half ${result.mainProcessRss.slopeSecondHalfMbPerHour} MB/h)`);
		console.log(`per ${WINDOW_MIN}-min window: from | changes | answer p50/p95 ms | sync p50/p95 ms | RSS max MB`);
		for (const w of windows) console.log(`  ${w.fromMin.toFixed(0).padStart(3)} min | ${String(w.changes).padStart(4)} | ${w.answerP50Ms}/${w.answerP95Ms} | ${w.syncP50Ms}/${w.syncP95Ms} | ${w.rssMaxMb}`);
		console.log(
			`changes ${result.changes}, non-200 ${result.non200}, not arrived ${result.notArrived}, rows A ${rowsA.length} / B ${rowsB.length}, ` +
				`duplicates ${dupA}/${dupB}, unsynced ${unsynced.length}, linked once ${linkedOnce}`,
		);
		const ok = samples.length === total && result.non200 === 0 && result.notArrived === 0 && dupA === 0 && dupB === 0 && unsynced.length === 0 && linkedOnce && rowsA.length === rowsB.length;
		console.log(ok ? 'soak: OK' : 'soak: FAILED');
		return ok ? 0 : 1;
	} finally {
		await n8n?.stop();
		await crm.close();
		await erp.close();
		await pg.drop();
		await maria.drop();
		dir.remove();
	}
}

main().then(
	(code) => process.exit(code),
	(error: Error) => {
		console.error(error);
		process.exit(1);
	},
);
