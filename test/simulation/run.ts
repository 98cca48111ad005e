/**
 * One seed of the convergence simulation on a fresh store, and the campaign totals: shared by the jest
 * test (convergence.test.ts) and the long campaign (scripts/simulate.ts).
 */
import type { Driver } from '../../lib/engine/store/driver';
import { migrate } from '../../lib/engine/store/migrations';
import { Store } from '../../lib/engine/store/store';
import { checkWorld, type CheckReport } from './check';
import { scenarioFor, World, type Scenario, type WorldStats } from './world';

export interface SeedOutcome {
	seed: number;
	world: World;
	/** Quiet passes to the fixed point (0 when the run threw). */
	passes: number;
	report: CheckReport;
}

/** Runs one seed: the storm, quiescence, the checks. An exception of the engine is a problem of the seed. */
export async function runSeed(seed: number, driver: Driver, overrides: Partial<Omit<Scenario, 'seed'>> = {}): Promise<SeedOutcome> {
	let world: World | undefined;
	try {
		await migrate(driver, 'simulation');
		const store = new Store(driver, 'simulation', () => undefined, () => (world ? world.clock() : new Date(0)));
		world = new World(store, scenarioFor(seed, overrides));
		let passes = 0;
		let thrown: string | undefined;
		try {
			await world.storm();
			passes = await world.quiesce();
		} catch (error) {
			thrown = `the run threw: ${(error as Error).stack ?? String(error)}`;
		}
		const report = await checkWorld(world);
		if (thrown) report.problems.unshift(thrown);
		return { seed, world, passes, report };
	} finally {
		await driver.close();
	}
}

export function describeScenario(s: Scenario): string {
	return `${s.policy.kind}, deletes ${s.deletePolicy}${s.guarded ? '' : ', UNGUARDED connectors'}`;
}

export class Totals {
	seeds = 0;
	failed = 0;
	steps = 0;
	edits = 0;
	executions = 0;
	overlapped = 0;
	editsUnderWrite = 0;
	partialDeliveries = 0;
	conflicts = 0;
	stale = 0;
	matched = 0;
	targetDeleted = 0;
	ambiguous = 0;
	writeErrors = 0;
	writtenThenFailed = 0;
	commitsLost = 0;
	retries = 0;
	reviews = 0;
	lostEdits = 0;
	duplicates = 0;
	lostByPolicy = 0;
	skippedInAudit = 0;

	add(o: SeedOutcome) {
		const s: WorldStats = o.world.stats;
		this.seeds++;
		if (o.report.problems.length) this.failed++;
		this.steps += s.steps;
		this.edits += s.edits;
		this.executions += s.executions;
		this.overlapped += s.overlapped;
		this.editsUnderWrite += s.editsUnderWrite;
		this.partialDeliveries += s.partialDeliveries;
		this.conflicts += o.report.conflicts;
		this.stale += s.outcomes.stale;
		this.matched += s.outcomes.matched;
		this.targetDeleted += s.outcomes['target-deleted'];
		this.ambiguous += s.outcomes.ambiguous;
		this.writeErrors += s.writeErrors;
		this.writtenThenFailed += s.writtenThenFailed;
		this.commitsLost += s.commitsLost;
		this.retries += s.retries;
		this.reviews += s.reviews;
		this.lostEdits += o.report.lostEdits;
		this.duplicates += o.report.duplicates;
		this.lostByPolicy += o.report.lostByPolicy;
		this.skippedInAudit += o.report.skippedInAudit;
	}

	summary(ms: number): string {
		return [
			`seeds ${this.seeds} (${this.failed} failed), steps ${this.steps}, user edits ${this.edits} (${this.editsUnderWrite} under a pending write), partial webhooks ${this.partialDeliveries}, executions ${this.executions}`,
			`conflicts ${this.conflicts}, stale-target results ${this.stale}, matched creates ${this.matched}, target-deleted ${this.targetDeleted}, ambiguous ${this.ambiguous}, commit retries ${this.retries}, reviews ${this.reviews}`,
			`faults: write errors ${this.writeErrors}, written-then-failed ${this.writtenThenFailed}, commits lost ${this.commitsLost}`,
			`last edits lost to the policy or a review (in a conflict record) ${this.lostByPolicy}, skipped as stale (in the audit) ${this.skippedInAudit}`,
			`LOST EDITS ${this.lostEdits}, DUPLICATES ${this.duplicates}`,
			`elapsed ${(ms / 1000).toFixed(1)} s`,
		].join('\n');
	}
}
