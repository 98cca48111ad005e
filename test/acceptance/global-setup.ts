import { killRecordedInstances, prepare } from './harness';

/** Once per `jest` run of the acceptance layer: stock n8n in its cache, this package built and packed. */
export default async function globalSetup(): Promise<void> {
	// Test workers inherit this: the instances they start belong to this run.
	process.env.DATASYNC_TEST_OWNER_PID = String(process.pid);
	killRecordedInstances('stale');
	const started = Date.now();
	const p = await prepare();
	process.stdout.write(`\nacceptance: stock n8n at ${p.n8nDir}; package packed as ${p.tarball} (${Math.round((Date.now() - started) / 1000)} s)\n`);
}
