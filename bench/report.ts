/**
 * The report of `npm run bench`, in the order of the README's "Performance" section: per table size the
 * results table (median and extremes of the runs, records/s, RSS, correct), the ratios ours ÷ limit and
 * built-in ÷ ours, the targets of DESIGN.md ("Scale and speed") each against its figure, the real-time
 * run, where ours spends its time per node, the machine and the command that reproduces it.
 *
 * Writes <out>/latest.json, latest.md and README-section.md (out: bench/results by default) and prints
 * the markdown.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import type mysql from 'mysql2/promise';

import { REPO_ROOT, prepared } from '../test/acceptance/harness';
import {
	COMPARED_WITH,
	REALTIME_BLOCK,
	CONTESTANTS,
	CONTESTANT_TITLE,
	SCENARIOS,
	SCENARIO_TITLE,
	TARGET,
	THOUSAND,
	n,
	stats,
	type BenchOptions,
	type Contestant,
	type Figure,
	type NodeCosts,
	type RealtimeResult,
	type Samples,
	type Scenario,
} from './samples';

/** What a run measured (the Bench's samples). */
export interface BenchResults {
	samples: Record<number, Samples>;
	nodeCosts: NodeCosts;
	realtime?: RealtimeResult;
}

type Facts = Record<string, unknown>;
/** Per table size, scenario and contestant. */
type AllFigures = Record<number, Record<string, Record<string, Figure>>>;
interface Target {
	target: string;
	figure: string;
	met: boolean | null;
}

const fmt = (v: number, d = 2) => v.toFixed(d);

/** The machine and the versions of what ran on it. */
export async function machineFacts(pg: Client, my: mysql.Connection, store: 'sqlite' | 'postgres' = 'sqlite'): Promise<Facts> {
	const { rows } = await pg.query<{ v: string }>("SELECT current_setting('server_version') AS v");
	const [version] = await my.query('SELECT VERSION() AS v');
	let n8nVersion = '?';
	try {
		n8nVersion = (JSON.parse(readFileSync(join(prepared().n8nDir, 'node_modules', 'n8n', 'package.json'), 'utf8')) as { version: string }).version;
	} catch {
		// not prepared
	}
	return {
		cpu: cpus()[0]?.model,
		cores: cpus().length,
		memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
		kernel: release(),
		node: process.version,
		n8n: n8nVersion,
		postgres: rows[0].v,
		mariadb: (version as Array<{ v: string }>)[0].v,
		store: store === 'sqlite' ? 'SQLite file (the templates’ default)' : 'Postgres (a schema per run, as in queue mode)',
	};
}

/** Figures of one scale: per scenario and contestant, the medians and extremes of the samples. */
export function figures(samples: Samples | undefined, scale: number): Record<string, Record<string, Figure>> {
	const out: Record<string, Record<string, Figure>> = {};
	for (const scenario of SCENARIOS) {
		for (const c of CONTESTANTS) {
			const list = samples?.[scenario]?.[c];
			if (!list?.length) continue;
			const before = list.every((s) => s.startRssMb !== undefined) ? Math.min(...list.map((s) => s.startRssMb!)) : null;
			const rise = list.every((s) => s.startRssMb !== undefined) ? Math.max(...list.map((s) => s.peakRssMb - s.startRssMb!)) : null;
			const changedRecords = scenario.startsWith('initial') ? scale : scenario.startsWith('unchanged') ? 0 : scenario === 'thousand' ? Math.min(THOUSAND, scale) : Math.ceil(scale / 100);
			const t = stats(list.map((s) => s.seconds));
			(out[scenario] ??= {})[c] = {
				seconds: t,
				recordsPerSecond: scale / t.median,
				peakRssMb: Math.max(...list.map((s) => s.peakRssMb)),
				rssBeforeMb: before,
				rssRiseMb: rise,
				correct: list.every((s) => s.ok),
				changedRecords,
				samples: list,
			};
		}
	}
	return out;
}

function resultTables(lines: string[], scales: number[], all: AllFigures, seed: number): void {
	lines.push(
		`Seed ${seed}. Each figure: median (min–max) of the runs; records/s: table size ÷ median time. Peak RSS: the whole n8n process tree (main + task runner), sampled every 50 ms, or the script's own process for the limit; "before": the tree just before the run (n8n is restarted for each table size); "rise": the largest peak − before of the runs, what the sync itself added. Ours is the shipped bidirectional template: "initial sync", "nothing changed" and "1 % changed" run its manual Refresh (read all of A and B, reconcile, write, commit: one execution); the backup-poll rows and "1,000 rows changed" run its schedule path (Get Changes after the store's cursors, a page of 5,000 per system and execution, after an untimed catch-up); "page by page" is the shipped nightly-batch template (one execution that runs a sub-workflow execution per page of 5,000, A's pages then B's) from an empty B and store. A run whose B is wrong after it (checked in SQL against A) counts as a failure.`,
		'',
	);
	for (const scale of scales) {
		lines.push(`### ${n(scale)} contacts`, '');
		lines.push('| scenario | contestant | seconds, median (min–max) | runs | records/s | peak RSS MB | before MB | rise MB | correct |');
		lines.push('|---|---|---|---|---|---|---|---|---|');
		for (const scenario of SCENARIOS) {
			for (const c of CONTESTANTS) {
				const f = all[scale][scenario]?.[c];
				if (!f) continue;
				const t = f.seconds;
				const execs = f.samples[0]?.executions ? ` (${f.samples[0].executions} executions)` : '';
				lines.push(
					`| ${SCENARIO_TITLE[scenario]}${execs} | ${CONTESTANT_TITLE[c]} | ${fmt(t.median)} (${fmt(t.min)}–${fmt(t.max)}) | ${t.runs} | ${n(Math.round(f.recordsPerSecond))} | ${f.peakRssMb.toFixed(0)} | ${f.rssBeforeMb === null ? '–' : f.rssBeforeMb.toFixed(0)} | ${f.rssRiseMb === null ? '–' : f.rssRiseMb.toFixed(0)} | ${f.correct ? 'yes' : '**NO**'} |`,
				);
			}
		}
		lines.push('');
	}
}

type Ratios = Record<number, Record<string, { oursOverLimit: number | null; builtinOverOurs: number | null }>>;

function ratioTable(lines: string[], scales: number[], med: Median): Ratios {
	const ratios: Ratios = {};
	lines.push('Ratios of the medians (a path of ours that reads only changes is compared with the limit’s and the built-in way’s run of the same change, which read everything):', '', '| contacts | scenario | ours ÷ limit (time) | built-in ÷ ours (time) |', '|---|---|---|---|');
	for (const scale of scales) {
		for (const scenario of SCENARIOS) {
			const o = med(scale, scenario, 'ours');
			if (o === undefined) continue;
			const other = COMPARED_WITH[scenario] ?? scenario;
			const l = med(scale, other, 'limit');
			const b = med(scale, other, 'builtin');
			const r = { oursOverLimit: l ? o / l : null, builtinOverOurs: b ? b / o : null };
			(ratios[scale] ??= {})[scenario] = r;
			lines.push(`| ${n(scale)} | ${SCENARIO_TITLE[scenario]} | ${r.oursOverLimit === null ? '–' : `${r.oursOverLimit.toFixed(1)}×`} | ${r.builtinOverOurs === null ? '–' : `${r.builtinOverOurs.toFixed(1)}×`} |`);
		}
	}
	return ratios;
}

type Median = (scale: number, scenario: Scenario, c: Contestant) => number | undefined;

/** The targets of DESIGN.md, "Scale and speed", each against its figure. */
function targetTable(lines: string[], all: AllFigures, med: Median, realtime: RealtimeResult | undefined): Target[] {
	const targets: Target[] = [];
	const limit100k = med(100_000, 'initial', 'limit');
	const ours100k = [med(100_000, 'initial', 'ours'), med(100_000, 'initialPaged', 'ours')].filter((v): v is number => v !== undefined);
	if (limit100k && ours100k.length) {
		const best = Math.min(...ours100k);
		targets.push({ target: `initial sync of 100,000 at least half the limit's speed (ours ≤ ${TARGET.initialRatio}× the limit's time)`, figure: `ours ${fmt(best)} s (best of its paths) vs limit ${fmt(limit100k)} s: ${(best / limit100k).toFixed(1)}×`, met: best / limit100k <= TARGET.initialRatio });
	}
	const m = all[1_000_000]?.initialPaged?.ours;
	if (m) {
		const heaps = m.samples.filter((x) => x.heapBeforeMb !== undefined && x.heapAfterMb !== undefined).map((x) => `${x.heapBeforeMb!.toFixed(0)} → ${x.heapAfterMb!.toFixed(0)}`);
		targets.push({
			target: `1,000,000-record sync under ${TARGET.memoryMb} MB peak memory`,
			figure: `ours (page by page): the sync added at most ${m.rssRiseMb?.toFixed(0)} MB to n8n (peak ${m.peakRssMb.toFixed(0)} MB for the whole n8n tree, ${m.rssBeforeMb?.toFixed(0)} MB of it n8n itself before the run)${heaps.length ? `; n8n's JS heap in use before → after the run: ${heaps.join(', ')} MB` : ''}${m.correct ? '' : ', B WRONG'}`,
			met: m.correct && (m.rssRiseMb ?? Infinity) <= TARGET.memoryMb,
		});
	}
	const t1k = med(1000, 'thousand', 'ours');
	const t100k = med(100_000, 'thousand', 'ours');
	if (t1k && t100k) {
		const l1k = med(1000, 'thousand', 'limit');
		const l100k = med(100_000, 'thousand', 'limit');
		targets.push({
			target: `cost proportional to the changes, not the table (1,000 changes on 100,000 rows ≤ ${TARGET.proportional}× 1,000 changes on 1,000)`,
			figure: `ours ${fmt(t100k)} s vs ${fmt(t1k)} s: ${(t100k / t1k).toFixed(2)}×${l1k && l100k ? ` (the limit, which reads everything: ${fmt(l100k)} s vs ${fmt(l1k)} s, ${(l100k / l1k).toFixed(1)}×)` : ''}`,
			met: t100k / t1k <= TARGET.proportional,
		});
	}
	if (realtime) {
		const rt = realtime;
		targets.push({ target: `a webhook change written to the target within ${TARGET.realtimeMs} ms of n8n's bare webhook round trip (p95)`, figure: `p95 ${fmt(rt.ours.p95, 1)} ms vs floor ${fmt(rt.floor.p95, 1)} ms: ${fmt(rt.p95AboveFloorMs, 1)} ms above${rt.check.ok ? '' : ', B WRONG'}`, met: rt.check.ok && rt.p95AboveFloorMs <= TARGET.realtimeMs });
	}
	const b100k = all[100_000]?.initial?.builtin;
	if (b100k) targets.push({ target: 'the built-in way, 100,000 records (DESIGN.md: about 12 minutes and 3 GB): what we replace', figure: `${fmt(b100k.seconds.median / 60)} min, peak ${b100k.peakRssMb.toFixed(0)} MB`, met: null });
	if (targets.length) {
		lines.push('', 'Against the targets of DESIGN.md ("Scale and speed"):', '', '| target | measured | met |', '|---|---|---|');
		for (const t of targets) lines.push(`| ${t.target} | ${t.figure} | ${t.met === null ? '–' : t.met ? 'yes' : '**no**'} |`);
	}
	return targets;
}

/** The n8n settings a run was measured with, in words. */
function n8nSettings(env: Record<string, string>): string {
	const pairs = Object.entries(env);
	return pairs.length ? `n8n with ${pairs.map(([k, v]) => `\`${k}=${v}\``).join(', ')}` : 'n8n with its default settings';
}

function realtimeSection(lines: string[], rt: RealtimeResult, env: Record<string, string>): void {
	lines.push('', `Real time (10,000-row tables, ${n8nSettings(env)}): ${rt.changes} sequential changes in A, each sent signed to the DataSync Trigger, timed until the row is visible in B (polled every 2 ms), against the floor: a bare Webhook → Respond to Webhook round trip in the same n8n, the two in alternating blocks of ${REALTIME_BLOCK} so that both see the same load.`, '');
	lines.push('| path | p50 ms | p95 ms | p99 ms | min–max ms |', '|---|---|---|---|---|');
	const row = (name: string, v: RealtimeResult['floor']) => `| ${name} | ${fmt(v.p50, 1)} | ${fmt(v.p95, 1)} | ${fmt(v.p99, 1)} | ${fmt(v.min, 1)}–${fmt(v.max, 1)} |`;
	lines.push(row('floor: Webhook → Respond', rt.floor), row('ours: change → visible in B', rt.ours), row('ours: the trigger’s HTTP answer only', rt.oursAck));
	lines.push('', `p95 above the floor: ${fmt(rt.p95AboveFloorMs, 1)} ms (target ≤ ${TARGET.realtimeMs} ms); B correct after the real-time run: ${rt.check.ok ? 'yes' : '**NO**'}.`);
	const perNode = rt.perNodeMedianMs ?? {};
	if (Object.keys(perNode).length) {
		lines.push('', `A real-time execution of ours, per node (median executionTime, ms, of the last webhook runs): ${Object.entries(perNode).map(([name, ms]) => `${name} ${fmt(ms, 1)}`).join(' · ')}.`);
	}
}

function nodeCostTables(lines: string[], scales: number[], nodeCosts: NodeCosts): void {
	for (const scale of scales) {
		const costs = nodeCosts[scale]?.ours;
		if (!costs) continue;
		const scenarios = SCENARIOS.filter((s) => costs[s]);
		lines.push('', `Where ours spends its time at ${n(scale)} contacts (n8n’s executionTime per node, first run; for the paged and poll rows one execution, the first page):`, '');
		const nodes = [...new Set(scenarios.flatMap((s) => Object.keys(costs[s] ?? {})))];
		lines.push(`| node | ${scenarios.map((s) => `${SCENARIO_TITLE[s]} ms (items out)`).join(' | ')} |`, `|---|${scenarios.map(() => '---').join('|')}|`);
		for (const name of nodes) lines.push(`| ${name} | ${scenarios.map((s) => (costs[s]?.[name] ? `${Math.round(costs[s]![name].ms)} (${costs[s]![name].items.join('/')})` : '–')).join(' | ')} |`);
	}
}

/** Writes and prints the report of what was measured so far; true when a run left B wrong. */
export function writeReport(options: BenchOptions, results: BenchResults, facts: Facts, seconds: number): boolean {
	const scales = options.scales.filter((s) => results.samples[s]);
	const all: AllFigures = Object.fromEntries(scales.map((s) => [s, figures(results.samples[s], s)]));
	const med: Median = (scale, scenario, c) => all[scale]?.[scenario]?.[c]?.seconds.median;
	const lines: string[] = [];
	resultTables(lines, scales, all, options.seed);
	const ratios = ratioTable(lines, scales, med);
	const targets = targetTable(lines, all, med, results.realtime);
	if (results.realtime) realtimeSection(lines, results.realtime, options.n8nEnv);
	nodeCostTables(lines, scales, results.nodeCosts);
	lines.push('', `Machine: ${String(facts.cores)} cores (${String(facts.cpu)}), ${String(facts.memoryGb)} GB; Node ${String(facts.node)}, n8n ${String(facts.n8n)}, PostgreSQL ${String(facts.postgres)}, MariaDB ${String(facts.mariadb)}; store: ${String(facts.store)}. Whole run: ${Math.round(seconds / 60)} min.`);
	const command = `npm run bench -- ${options.argv.join(' ')}`.trim();
	lines.push('', `Reproduce: \`${command.replace(/ --$/, '')}\` (\`--full\` adds the built-in way at 100,000; \`--scales\`, \`--runs\`, \`--runs-1m\`, \`--only\` narrow it; \`--n8n-env\` sets n8n's environment; \`--store postgres\` puts ours on a Postgres store).`);
	const md = lines.join('\n');
	const dir = options.out ?? join(REPO_ROOT, 'bench', 'results');
	mkdirSync(dir, { recursive: true });
	const json = {
		generatedAt: new Date().toISOString(),
		command,
		scales,
		seed: options.seed,
		runs: options.runs,
		runs1m: options.runs1m,
		n8nEnv: options.n8nEnv,
		machine: facts,
		figures: all,
		ratios,
		targets,
		realtime: results.realtime ?? null,
		oursPerNode: Object.fromEntries(scales.map((s) => [s, results.nodeCosts[s]?.ours ?? null])),
	};
	writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
	writeFileSync(join(dir, 'latest.md'), `# Benchmark results\n\n${md}\n`);
	writeFileSync(join(dir, 'README-section.md'), `## Performance\n\nMeasured by \`npm run bench\` (bench/run.ts) on one machine, stock n8n ${String(facts.n8n)}, System A in Postgres and System B in MariaDB, against a plain pg + mysql2 script (the limit) and the same sync built from n8n's own nodes.\n\n${md.replace(/^### /gm, '#### ')}\n`);
	console.log(`\n${md}\n`);
	return scales.some((s) => Object.values(all[s]).some((byC) => Object.values(byC).some((f) => !f.correct))) || (results.realtime ? !results.realtime.check.ok : false);
}
