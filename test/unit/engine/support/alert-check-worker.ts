/**
 * One of two processes that run Get Alerts on the same store at the same moment (alerts.test.ts).
 * argv[2] is JSON: { config, startAt }. Prints the alerts it got as JSON.
 */
import { checkAlerts } from '../../../../lib/engine/alerts';
import { closeAllStores, openStore, type StoreConfig } from '../../../../lib/engine/store';

async function main() {
	const { config, startAt } = JSON.parse(process.argv[2]) as { config: StoreConfig; startAt: number };
	const store = await openStore(config);
	while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1));
	const { alerts } = await checkAlerts(store, { sync: 'contacts' });
	process.stdout.write(JSON.stringify(alerts.map((a) => `${a.kind}:${a.system}:${a.count}`)));
	await closeAllStores();
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
