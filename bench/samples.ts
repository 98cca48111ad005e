/**
 * What `npm run bench` measures and how it names it: the options of a run (bench/run.ts parses them), the
 * contestants and scenarios, one run's sample, and the small statistics the report (bench/report.ts)
 * draws from them. No I/O here.
 */
import type { CheckResult } from './check';

/** The command line of a run (bench/run.ts, `parseOptions`). */
export interface BenchOptions {
	/** --full: the built-in way at 100,000 too (about 12 minutes a run). */
	full: boolean;
	/** --scales: the table sizes, each a suite of its own, in this order. */
	scales: number[];
	/** --runs: runs per suite; --runs-1m: runs of the 1,000,000 suite. */
	runs: number;
	runs1m: number;
	/** --seed: the generator's seed (bench/generate.ts). */
	seed: number;
	/** --only: the contestants. */
	only: Contestant[];
	/** --scenarios a,b: only these scenarios (names as in SCENARIO_TITLE's keys); undefined: all. */
	scenarios?: string[];
	/** --realtime N: the real-time run's changes; 0 with --no-realtime. */
	realtime: number;
	/**
	 * --n8n-env K=V,K=V: extra environment for the bench's n8n (e.g. N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true);
	 * the report names it, so a figure says which n8n it was measured on. Empty: n8n's defaults.
	 */
	n8nEnv: Record<string, string>;
	/**
	 * --store sqlite|postgres: the sync store of ours (sqlite: a file, the templates' default; postgres: a
	 * schema of its own per run in the bench's Postgres database, as queue mode has it).
	 */
	store: 'sqlite' | 'postgres';
	/** --out: where the results go (bench/results by default). */
	out?: string;
	/** The arguments as given (the report's "Reproduce" line). */
	argv: string[];
}

/** The page size of the template's Get Changes nodes. */
export const POLL_PAGE = 5000;
/** The largest table ours syncs through the one-execution Refresh (above, n8n would hold it all at once). */
export const REFRESH_MAX = 100_000;
export const THOUSAND = 1000;
/** The real-time run alternates the floor and ours in blocks of this many calls. */
export const REALTIME_BLOCK = 25;
/** DESIGN.md, "Scale and speed". */
export const TARGET = { initialRatio: 2, memoryMb: 512, proportional: 2, realtimeMs: 30 };

export type Contestant = 'limit' | 'builtin' | 'ours';
export const CONTESTANTS: Contestant[] = ['limit', 'builtin', 'ours'];
export type Scenario = 'initial' | 'initialPaged' | 'unchanged' | 'changed1pct' | 'unchangedPoll' | 'changed1pctPoll' | 'thousand';
export const SCENARIO_TITLE: Record<Scenario, string> = {
	initial: 'initial sync',
	initialPaged: 'initial sync, page by page (nightly-batch template)',
	unchanged: 'nothing changed',
	changed1pct: '1 % changed',
	unchangedPoll: 'nothing changed, backup poll',
	changed1pctPoll: '1 % changed, backup poll',
	thousand: '1,000 rows changed',
};
export const SCENARIOS = Object.keys(SCENARIO_TITLE) as Scenario[];
/** The limit's and the built-in way's figure a path of ours is compared with. */
export const COMPARED_WITH: Partial<Record<Scenario, Scenario>> = { unchangedPoll: 'unchanged', changed1pctPoll: 'changed1pct', initialPaged: 'initial' };
export const CONTESTANT_TITLE: Record<Contestant, string> = {
	limit: 'limit (pg + mysql2 script)',
	builtin: 'built-in n8n nodes',
	ours: 'ours (shipped templates)',
};

/** What each suite runs, by table size. */
export interface Plan {
	limit: Scenario[];
	builtin: Scenario[];
	ours: Scenario[];
	realtime: boolean;
}

export interface Sample {
	seconds: number;
	peakRssMb: number;
	/** RSS of the tree just before the run (n8n keeps what earlier runs grew). */
	startRssMb?: number;
	ok: boolean;
	check: CheckResult;
	/** n8n's own start → stop of the execution (n8n contestants). */
	executionSeconds?: number;
	/** Executions it took (the paged path). */
	executions?: number;
	/** n8n main process after the run, from its /metrics: JS heap in use and RSS (MB). */
	heapAfterMb?: number;
	mainRssAfterMb?: number;
	/** The same just before the run. */
	heapBeforeMb?: number;
	error?: string;
}

/** Samples of one table size. */
export type Samples = Partial<Record<Scenario, Partial<Record<Contestant, Sample[]>>>>;

/** One node's share of an execution: n8n's executionTime summed over its runs, and the items of its outputs. */
export interface NodeCost {
	ms: number;
	items: number[];
}

/** Per table size, contestant and scenario: the first run's cost per node. */
export type NodeCosts = Record<number, Partial<Record<Contestant, Partial<Record<Scenario, Record<string, NodeCost>>>>>>;

export interface Percentiles {
	p50: number;
	p95: number;
	p99: number;
	min: number;
	max: number;
	n: number;
}

/** The real-time run: the floor's round trips and ours, change → visible in B, and the trigger's answer alone. */
export interface RealtimeResult {
	changes: number;
	floor: Percentiles;
	ours: Percentiles;
	oursAck: Percentiles;
	p95AboveFloorMs: number;
	peakRssMb: number;
	check: CheckResult;
	/** Per node, the median executionTime (ms) of the last webhook executions. */
	perNodeMedianMs: Record<string, number>;
}

/** Figures of one scenario and contestant at one table size. */
export interface Figure {
	seconds: { median: number; min: number; max: number; runs: number };
	recordsPerSecond: number;
	peakRssMb: number;
	rssBeforeMb: number | null;
	rssRiseMb: number | null;
	correct: boolean;
	changedRecords: number;
	samples: Sample[];
}

export const log = (...args: unknown[]) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const n = (v: number) => v.toLocaleString('en-US');

export function stats(values: number[]): { median: number; min: number; max: number; runs: number } {
	const s = [...values].sort((a, b) => a - b);
	const mid = Math.floor(s.length / 2);
	const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
	return { median, min: s[0], max: s[s.length - 1], runs: s.length };
}

export function percentile(values: number[], p: number): number {
	const s = [...values].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function percentiles(values: number[]): Percentiles {
	return { p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99), min: Math.min(...values), max: Math.max(...values), n: values.length };
}
