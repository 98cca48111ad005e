/**
 * Per-key serialisation across real processes: several OS processes, each with its own store
 * connection, merge into the same golden record at the same moment. Neither the first sight (one
 * golden record, never two) nor any later change may be lost.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { closeAllStores, openStore, type StoreConfig } from '../../../lib/engine/store';
import { BACKENDS } from './backends';

const ROOT = join(__dirname, '..', '..', '..');
const WORKER = join(__dirname, 'support', 'merge-worker.ts');
const REGISTER = join(ROOT, 'scripts', 'register-ts.js');

function runWorker(args: object): Promise<void> {
	return new Promise((resolvePromise, reject) => {
		const child = spawn(process.execPath, ['-r', REGISTER, WORKER, JSON.stringify(args)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
		let stderr = '';
		child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
		child.on('error', reject);
		child.on('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`worker exited with ${code}: ${stderr}`))));
	});
}

describe.each(BACKENDS.map((make) => [make().name, make] as const))('concurrent merges on %s', (_name, make) => {
	const backend = make();
	beforeAll(() => backend.setup());
	afterAll(async () => {
		await closeAllStores();
		await backend.teardown();
	});

	it('loses no change when processes merge the same record at the same moment', async () => {
		const config: StoreConfig = backend.config();
		// Create the schema first so the workers race on data, not on migrations.
		await openStore(config);
		const systems = ['a', 'b', 'c'];
		const rounds = 15;
		const startAt = Date.now() + 1500;
		await Promise.all(systems.map((system) => runWorker({ config, system, systems, rounds, startAt })));
		const store = await openStore(config);
		const golden = await store.listGolden('contact');
		expect(golden).toHaveLength(1);
		expect(golden[0].data).toEqual({ email: 'race@x.io', field_a: rounds, field_b: rounds, field_c: rounds });
		// One version per change: none was merged over a stale read.
		expect(golden[0].version).toBe(systems.length * rounds);
		const links = await store.listLinks('contact');
		expect(links.map((l) => [l.system, l.externalId, l.key])).toEqual(systems.map((s) => [s, `${s}-1`, golden[0].key]));
	}, 60_000);
});
