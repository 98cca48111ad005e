/**
 * The convergence simulation over many seeds, outside jest:
 *   npx node -r ./scripts/register-ts.js scripts/simulate.ts [--seeds 5000] [--first 1] [--seed n] [--postgres]
 * Each seed runs on a fresh in-memory SQLite store, or with --postgres in its own schema of a fresh
 * Postgres database (dropped at the end). A failing seed prints its problems and how to replay it
 * (`--seed n`, or `SIM_SEED=n npx jest test/simulation`), then the run stops with exit code 1.
 */
import { migrate } from '../lib/engine/store/migrations';
import { PgDriver, SqliteDriver, type Driver } from '../lib/engine/store/driver';
import { Store } from '../lib/engine/store/store';
import { checkWorld } from '../test/simulation/check';
import { scenarioFor, World } from '../test/simulation/world';
import { createPgDatabase, type PgTestDatabase } from '../test/helpers/services';

function arg(name: string): number | undefined {
	const i = process.argv.indexOf(`--${name}`);
	return i === -1 ? undefined : Number(process.argv[i + 1]);
}

async function main(): Promise<number> {
	const single = arg('seed');
	const first = single ?? arg('first') ?? 1;
	const count = single === undefined ? (arg('seeds') ?? 1000) : 1;
	const pg: PgTestDatabase | undefined = process.argv.includes('--postgres') ? await createPgDatabase('datasync_simulate') : undefined;
	const driverFor = (seed: number): Driver =>
		pg ? new PgDriver({ ...pg.config, schema: `sim_${seed}`, ssl: 'disable' }) : new SqliteDriver(':memory:');
	try {
		return await runSeeds(first, count, single, driverFor);
	} finally {
		await pg?.drop();
	}
}

async function runSeeds(first: number, count: number, single: number | undefined, driverFor: (seed: number) => Driver): Promise<number> {
	const started = Date.now();
	let conflicts = 0;
	let overwritten = 0;
	for (let seed = first; seed < first + count; seed++) {
		const driver = driverFor(seed);
		await migrate(driver, 'simulation');
		const world = new World(new Store(driver, 'simulation', () => undefined), scenarioFor(seed));
		let problems: string[];
		try {
			await world.storm();
			await world.quiesce();
			const report = await checkWorld(world);
			problems = report.problems;
			conflicts += report.conflicts;
			overwritten += report.overwrittenBeforeRead;
		} catch (error) {
			problems = [(error as Error).message];
		} finally {
			await driver.close();
		}
		if (problems.length) {
			process.stdout.write(`seed ${seed} (${world.scenario.policy.kind}, deletes ${world.scenario.deletePolicy}) FAILED:\n  ${problems.join('\n  ')}\n`);
			if (single !== undefined) process.stdout.write(`schedule:\n${world.log.join('\n')}\n`);
			process.stdout.write(`replay: npx node -r ./scripts/register-ts.js scripts/simulate.ts --seed ${seed}\n`);
			return 1;
		}
		if ((seed - first + 1) % 500 === 0) process.stdout.write(`${seed - first + 1} seeds ok (${Math.round((Date.now() - started) / 1000)} s)\n`);
	}
	process.stdout.write(
		`${count} seeds converged (first ${first}), ${conflicts} conflicts recorded, ${overwritten} user edits overwritten in their own system before the sync read them, ${Math.round((Date.now() - started) / 1000)} s\n`,
	);
	return 0;
}

main().then((code) => process.exit(code));
