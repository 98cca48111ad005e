/**
 * Test layer 4. `npm test` runs 500 seeds on in-memory SQLite stores and a few on Postgres;
 * SIM_SEEDS=n runs more, SIM_SEED=n replays one (printing its schedule). The long campaign is
 * `npm run simulate -- --seeds 10000` (scripts/simulate.ts), on the same runner (./run.ts).
 * Every seed is checked in full (./check.ts): a lost edit or a duplicate fails it, with no excuse.
 */
import { PgDriver, SqliteDriver } from '../../lib/engine/store/driver';
import { createPgDatabase, type PgTestDatabase } from '../helpers/services';
import { describeScenario, runSeed, Totals, type SeedOutcome } from './run';

const single = process.env.SIM_SEED === undefined ? undefined : Number(process.env.SIM_SEED);
const count = Number(process.env.SIM_SEEDS ?? 500);
const first = Number(process.env.SIM_FIRST_SEED ?? 1);

function failure(o: SeedOutcome): string {
	const replay = `replay with: SIM_SEED=${o.seed} npx jest --selectProjects simulation   (or npm run simulate -- --seed ${o.seed})`;
	const schedule = single === undefined ? '' : `\nschedule:\n${o.world.log.join('\n')}`;
	return `simulation seed ${o.seed} (${describeScenario(o.world.scenario)}) failed:\n  ${o.report.problems.slice(0, 10).join('\n  ')}\n${replay}${schedule}`;
}

describe('convergence simulation', () => {
	const seeds = single !== undefined ? [single] : Array.from({ length: count }, (_, i) => first + i);

	it(`converges with no lost edit and no duplicate for ${seeds.length} seeds on SQLite`, async () => {
		const totals = new Totals();
		const failures: string[] = [];
		for (const seed of seeds) {
			const outcome = await runSeed(seed, new SqliteDriver(':memory:'));
			totals.add(outcome);
			if (outcome.report.problems.length && failures.length < 3) failures.push(failure(outcome));
		}
		if (process.env.SIM_REPORT) process.stdout.write(`${totals.summary(0)}\n`);
		expect(failures).toEqual([]);
		expect(totals.lostEdits).toBe(0);
		expect(totals.duplicates).toBe(0);
		// The schedules really exercise what they are meant to: conflicts, stale targets, matched creates,
		// overlapping executions, edits under a pending write, lost commits.
		if (single === undefined) {
			expect(totals.conflicts).toBeGreaterThan(0);
			expect(totals.stale).toBeGreaterThan(0);
			expect(totals.matched).toBeGreaterThan(0);
			expect(totals.overlapped).toBeGreaterThan(0);
			expect(totals.editsUnderWrite).toBeGreaterThan(0);
			expect(totals.partialDeliveries).toBeGreaterThan(0);
			expect(totals.commitsLost).toBeGreaterThan(0);
		}
	}, 1_200_000);

	it('without the guards (plain upsert by id, creates not looked up) the same schedules lose edits or make duplicates', async () => {
		// The check is not blind: the connectors the real nodes replaced fail it.
		let bad = 0;
		for (let seed = 1; seed <= 40 && bad === 0; seed++) {
			const outcome = await runSeed(seed, new SqliteDriver(':memory:'), { guarded: false });
			if (outcome.report.lostEdits + outcome.report.duplicates > 0) bad++;
		}
		expect(bad).toBeGreaterThan(0);
	}, 300_000);

	describe('on Postgres', () => {
		let db: PgTestDatabase;
		beforeAll(async () => {
			db = await createPgDatabase('datasync_sim');
		});
		afterAll(() => db.drop());

		it('converges for a few seeds', async () => {
			const pgSeeds = single !== undefined ? [single] : [first, first + 1, first + 2, first + 3];
			for (const seed of pgSeeds) {
				const outcome = await runSeed(seed, new PgDriver({ ...db.config, schema: `sim_${seed}`, ssl: 'disable' }));
				if (outcome.report.problems.length) throw new Error(failure(outcome));
			}
		}, 300_000);
	});
});
