/**
 * The convergence simulation over many seeds, outside jest:
 *   npx node -r ./scripts/register-ts.js scripts/simulate.ts [--seeds 10000] [--first 1] [--seed n] [--postgres] [--stop] [--unguarded]
 * Each seed runs on a fresh in-memory SQLite store, or with --postgres in its own schema of a fresh
 * Postgres database (dropped at the end). Every seed is checked in full (test/simulation/check.ts); a
 * failing seed prints its problems and how to replay it (`--seed n` prints its whole schedule).
 * At the end: seeds, steps, edits, conflicts, stale-target results, matched creates, lost edits and
 * duplicates (both must be 0), elapsed time. Exit code 1 when any seed failed (`--stop`: at the first).
 * `--unguarded` runs the same schedules against plain upsert-by-id connectors (to see what the guards prevent).
 */
import { PgDriver, SqliteDriver, type Driver } from '../lib/engine/store/driver';
import { describeScenario, runSeed, Totals } from '../test/simulation/run';
import { createPgDatabase, type PgTestDatabase } from '../test/helpers/services';

function arg(name: string): number | undefined {
	const i = process.argv.indexOf(`--${name}`);
	return i === -1 ? undefined : Number(process.argv[i + 1]);
}

async function main(): Promise<number> {
	const single = arg('seed');
	const first = single ?? arg('first') ?? 1;
	const count = single === undefined ? (arg('seeds') ?? 1000) : 1;
	const stop = process.argv.includes('--stop');
	const guarded = !process.argv.includes('--unguarded');
	const pg: PgTestDatabase | undefined = process.argv.includes('--postgres') ? await createPgDatabase('datasync_simulate') : undefined;
	const driverFor = (seed: number): Driver =>
		pg ? new PgDriver({ ...pg.config, schema: `sim_${seed}`, ssl: 'disable' }) : new SqliteDriver(':memory:');
	const started = Date.now();
	const totals = new Totals();
	const failing: number[] = [];
	try {
		for (let seed = first; seed < first + count; seed++) {
			const outcome = await runSeed(seed, driverFor(seed), { guarded });
			totals.add(outcome);
			const { problems } = outcome.report;
			if (problems.length) {
				failing.push(seed);
				const shown = single === undefined ? problems.slice(0, 8) : problems;
				process.stdout.write(`seed ${seed} (${describeScenario(outcome.world.scenario)}) FAILED, ${problems.length} problems:\n  ${shown.join('\n  ')}\n`);
				if (single !== undefined) process.stdout.write(`schedule:\n${outcome.world.log.join('\n')}\n`);
				process.stdout.write(`replay: npx node -r ./scripts/register-ts.js scripts/simulate.ts --seed ${seed}${guarded ? '' : ' --unguarded'}   (or SIM_SEED=${seed} npx jest --selectProjects simulation)\n`);
				if (stop) break;
			}
			const done = seed - first + 1;
			if (done % 1000 === 0) process.stdout.write(`${done} seeds, ${failing.length} failed (${Math.round((Date.now() - started) / 1000)} s)\n`);
		}
	} finally {
		await pg?.drop();
	}
	process.stdout.write(`${totals.summary(Date.now() - started)}\n`);
	if (failing.length) process.stdout.write(`failing seeds: ${failing.slice(0, 50).join(' ')}${failing.length > 50 ? ' …' : ''}\n`);
	return failing.length ? 1 : 0;
}

main().then(
	(code) => process.exit(code),
	(error) => {
		process.stderr.write(`${(error as Error).stack}\n`);
		process.exit(2);
	},
);
