/**
 * Test layer 4. `npm test` runs a few hundred seeds; SIM_SEEDS=5000 runs more, SIM_SEED=n replays one
 * (printing its schedule). Seeds run on an in-memory SQLite store; a few also on Postgres.
 */
import { migrate } from '../../lib/engine/store/migrations';
import { PgDriver, SqliteDriver, type Driver } from '../../lib/engine/store/driver';
import { Store } from '../../lib/engine/store/store';
import { createPgDatabase, type PgTestDatabase } from '../helpers/services';
import { checkWorld } from './check';
import { scenarioFor, World } from './world';

const single = process.env.SIM_SEED === undefined ? undefined : Number(process.env.SIM_SEED);
const count = Number(process.env.SIM_SEEDS ?? 200);
const first = Number(process.env.SIM_FIRST_SEED ?? 1);

async function runSeed(seed: number, driver: Driver): Promise<{ passes: number; overwritten: number; conflicts: number }> {
	await migrate(driver, 'simulation');
	const store = new Store(driver, 'simulation', () => undefined);
	const world = new World(store, scenarioFor(seed));
	const replay = `replay with: SIM_SEED=${seed} npx jest test/simulation`;
	try {
		await world.storm();
		const passes = await world.quiesce();
		const report = await checkWorld(world);
		if (report.problems.length) {
			throw new Error(`${report.problems.slice(0, 10).join('\n')}`);
		}
		return { passes, overwritten: report.overwrittenBeforeRead, conflicts: report.conflicts };
	} catch (error) {
		const schedule = single === undefined ? '' : `\nschedule:\n${world.log.join('\n')}`;
		throw new Error(`simulation seed ${seed} (${world.scenario.policy.kind}, deletes ${world.scenario.deletePolicy}) failed: ${(error as Error).message}\n${replay}${schedule}`);
	} finally {
		await driver.close();
	}
}

describe('convergence simulation', () => {
	const seeds = single !== undefined ? [single] : Array.from({ length: count }, (_, i) => first + i);

	it(`converges for ${seeds.length} seeds on SQLite`, async () => {
		let overwritten = 0;
		let conflicts = 0;
		for (const seed of seeds) {
			const result = await runSeed(seed, new SqliteDriver(':memory:'));
			overwritten += result.overwritten;
			conflicts += result.conflicts;
		}
		expect(conflicts).toBeGreaterThan(0);
		if (process.env.SIM_REPORT) process.stdout.write(`seeds ${seeds.length}, conflicts ${conflicts}, edits overwritten before read ${overwritten}\n`);
	}, 600_000);

	describe('on Postgres', () => {
		let db: PgTestDatabase;
		beforeAll(async () => {
			db = await createPgDatabase('datasync_sim');
		});
		afterAll(() => db.drop());

		it('converges for a few seeds', async () => {
			const pgSeeds = single !== undefined ? [single] : [first, first + 1, first + 2, first + 3];
			for (const seed of pgSeeds) {
				await runSeed(seed, new PgDriver({ ...db.config, schema: `sim_${seed}`, ssl: 'disable' }));
			}
		}, 120_000);
	});
});
