/**
 * `npm run bench` (issue 8): our sync side by side with the raw limit and the built-in-nodes way, in one
 * run, on this machine's Postgres (System A) and MariaDB (System B), in databases of its own that it drops
 * afterwards, through stock n8n started by the acceptance harness.
 *
 *   npx node -r ./scripts/register-ts.js bench/run.ts [--full] [--scales 10000,1000,100000,1000000]
 *        [--runs R] [--runs-1m R] [--seed S] [--only limit,builtin,ours] [--scenarios initial,thousand,…]
 *        [--realtime N | --no-realtime] [--n8n-env KEY=VALUE,…] [--store sqlite|postgres] [--out DIR]
 *
 * Suites, each on a table of its own size (n8n is restarted for each, so "RSS before" starts clean):
 * - 10,000: initial sync, nothing changed, 1 % changed for the three contestants; for ours also the
 *   backup-poll path (nothing changed, 1 % changed) and the paged initial sync; then the real-time run:
 *   500 sequential changes through the signed DataSync Trigger against a bare Webhook → Respond floor.
 * - 1,000 and 100,000: 1,000 changed rows (cost proportional to the changes, not the table); at 100,000
 *   also initial, nothing changed, 1 % changed (the built-in way only with --full: ~12 minutes a run).
 * - 1,000,000: initial sync, the limit and ours page by page (the shipped nightly-batch template: a
 *   sub-workflow execution per page of 5,000, so that n8n holds one page at a time).
 * Every run is followed by the SQL correctness check (check.ts); a fast wrong run counts as a failure.
 *
 * Contestants:
 * - limit: bench/limit.ts, a plain Node script (pg + mysql2, keyset pages of 5,000, upserts of 1,000);
 * - built-in: bench/builtin.ts, n8n's own nodes, run as the editor runs it (REST run endpoint);
 * - ours: workflows/bidirectional-contacts.json as shipped (credentials and tables swapped): its
 *   "Refresh (manual)" path (read all of A and B, reconcile, write, commit: one execution) up to 100,000,
 *   and its backup-poll path (Get Changes after the store's cursors, a page per execution); for the
 *   page-by-page initial sync, workflows/nightly-batch.json.
 *
 * This file is the command line: the options, which scenarios each suite runs, and the order of suites.
 * The scenarios (setup, run, check) are in bench/scenarios.ts, the report (tables, ratios, targets, the
 * README section) in bench/report.ts, the names and statistics both share in bench/samples.ts.
 *
 * Writes bench/results/latest.json, latest.md and README-section.md (--out: elsewhere).
 */
import { writeReport, machineFacts } from './report';
import { Bench } from './scenarios';
import { REFRESH_MAX, THOUSAND, log, n, type BenchOptions, type Contestant, type Plan, type Scenario } from './samples';

function parseOptions(argv: string[]): BenchOptions {
	const flag = (name: string) => argv.includes(`--${name}`);
	const option = (name: string): string | undefined => {
		const i = argv.indexOf(`--${name}`);
		return i === -1 ? undefined : argv[i + 1];
	};
	const runs = Number(option('runs') ?? 3);
	return {
		full: flag('full'),
		scales: (option('scales') ?? '10000,1000,100000,1000000').split(',').map(Number),
		runs,
		runs1m: Number(option('runs-1m') ?? runs),
		seed: Number(option('seed') ?? 42),
		only: (option('only') ?? 'limit,builtin,ours').split(',') as Contestant[],
		scenarios: option('scenarios')?.split(','),
		realtime: flag('no-realtime') ? 0 : Number(option('realtime') ?? 500),
		n8nEnv: Object.fromEntries(
			(option('n8n-env') ?? '')
				.split(',')
				.filter(Boolean)
				.map((pair) => {
					const eq = pair.indexOf('=');
					if (eq < 1) throw new Error(`--n8n-env: "${pair}" is not KEY=VALUE`);
					return [pair.slice(0, eq), pair.slice(eq + 1)];
				}),
		),
		store: parseStore(option('store')),
		out: option('out'),
		argv,
	};
}

function parseStore(value: string | undefined): 'sqlite' | 'postgres' {
	if (value === undefined || value === 'sqlite' || value === 'postgres') return value ?? 'sqlite';
	throw new Error(`--store: "${value}" is not sqlite or postgres`);
}

/** What each suite runs, by table size. */
function planOf(scale: number, options: BenchOptions): Plan {
	const has = (c: Contestant) => options.only.includes(c);
	const pick = (c: Contestant, list: Scenario[]) => (has(c) ? list.filter((s) => !options.scenarios || options.scenarios.includes(s)) : []);
	if (scale > REFRESH_MAX) return { limit: pick('limit', ['initial']), builtin: [], ours: pick('ours', ['initialPaged']), realtime: false };
	if (scale <= THOUSAND) return { limit: pick('limit', ['initial', 'thousand']), builtin: [], ours: pick('ours', ['initial', 'thousand']), realtime: false };
	const full: Scenario[] = ['initial', 'unchanged', 'changed1pct'];
	return {
		limit: pick('limit', scale >= 100_000 ? [...full, 'thousand'] : full),
		builtin: scale <= 10_000 || options.full ? pick('builtin', full) : [],
		ours: pick('ours', [...full, 'unchangedPoll', 'changed1pctPoll', ...(scale >= 100_000 ? (['thousand'] as Scenario[]) : []), 'initialPaged']),
		realtime: scale === 10_000 && options.realtime > 0 && has('ours'),
	};
}

async function main(options: BenchOptions): Promise<void> {
	const started = performance.now();
	const bench = new Bench(options);
	const report = async () => writeReport(options, bench, await machineFacts(bench.pg, bench.my, options.store), (performance.now() - started) / 1000);
	let failed = false;
	try {
		await bench.setup();
		for (const scale of options.scales) {
			const plan = planOf(scale, options);
			if (!plan.limit.length && !plan.builtin.length && !plan.ours.length) continue;
			await bench.newSuite(scale);
			const needN8n = plan.builtin.length > 0 || plan.ours.length > 0;
			if (needN8n) await bench.startN8n();
			const tables: string[] = [];
			const runs = scale >= 1_000_000 ? options.runs1m : options.runs;
			for (let r = 1; r <= runs; r++) {
				log(`${n(scale)} contacts: run ${r} of ${runs}`);
				if (plan.limit.length) tables.push(await bench.limitRun(r, plan.limit));
				if (plan.builtin.length) tables.push(await bench.builtinRun(r, plan.builtin));
				if (plan.ours.length) tables.push(...(await bench.oursRun(r, plan.ours)));
			}
			if (plan.realtime && bench.lastOurs) await bench.realtimeScenario(options.realtime);
			if (needN8n) await bench.stopN8n();
			await bench.endSuite(tables);
			// The results so far, after each table size: a long run that is stopped keeps what it measured.
			await report();
		}
		failed = await report();
	} finally {
		await bench.teardown();
	}
	if (failed) {
		console.error('At least one run left B wrong: see "correct" above.');
		process.exitCode = 1;
	}
}

main(parseOptions(process.argv.slice(2))).catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
