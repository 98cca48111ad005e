/**
 * One of several processes that merge changes into the same golden record at the same moment
 * (concurrency.test.ts). argv[2] is JSON: { config, system, rounds, startAt }.
 * Each round this process changes only its own field; at the end every field must hold its last value.
 */
import { closeAllStores, openStore, type StoreConfig } from '../../../../lib/engine/store';
import { resolve } from '../../../../lib/engine/resolve';

interface Args {
	config: StoreConfig;
	system: string;
	systems: string[];
	rounds: number;
	startAt: number;
}

async function main() {
	const args = JSON.parse(process.argv[2]) as Args;
	const store = await openStore(args.config);
	// Start together, so the transactions really overlap.
	while (Date.now() < args.startAt) await new Promise((r) => setTimeout(r, 1));
	for (let round = 1; round <= args.rounds; round++) {
		await resolve(
			store,
			{
				sync: 'race',
				entity: 'contact',
				runId: `${args.system}-${round}`,
				systems: args.systems,
				matchKeys: ['email'],
				policy: { kind: 'priority', priority: args.systems },
			},
			[
				{
					entity: 'contact',
					system: args.system,
					id: `${args.system}-1`,
					op: 'upsert',
					shape: 'canonical',
					data: { email: 'race@x.io', [`field_${args.system}`]: round },
					trace: { runId: `${args.system}-${round}`, origin: args.system, hops: 0 },
				},
			],
		);
	}
	await closeAllStores();
}

main().catch((error: Error) => {
	process.stderr.write(`${error.stack ?? error.message}\n`);
	process.exit(1);
});
