/**
 * TCP ports for the servers tests start in child processes (stock n8n, its task broker and workers,
 * private database servers).
 *
 * A port the OS picks with `listen(0)` comes from the ephemeral range (32768-60999 on Linux), the range it
 * also hands out as the source port of every outgoing connection. Between closing the probe and the child
 * binding the port, a client connection of any process can take it (CI, stop 20: "n8n Task Broker's port
 * 36739 is already in use"). These ports come from below that range instead, from a block of their own
 * per jest worker (or per process outside jest), and each is probed before it is handed out.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 20_000;
const BLOCK = 400;

function ephemeralLow(): number {
	try {
		const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
		return Number.isInteger(low) && low > LOWEST + BLOCK ? low : 32_768;
	} catch {
		return 32_768;
	}
}

const blocks = Math.max(1, Math.floor((ephemeralLow() - LOWEST) / BLOCK));
const worker = Number(process.env.JEST_WORKER_ID);
// Jest workers count from 1; a process outside jest (demo, bench) takes a block by its pid, past the first eight.
const block = Number.isInteger(worker) && worker > 0 ? (worker - 1) % blocks : blocks > 8 ? 8 + (process.pid % (blocks - 8)) : process.pid % blocks;
const start = LOWEST + block * BLOCK;
let cursor = 0;

function probe(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const server = createServer();
		server.unref();
		server.once('error', () => resolve(false));
		server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
	});
}

/** A TCP port on 127.0.0.1 that nothing listens on, outside the OS's ephemeral range. */
export async function freePort(): Promise<number> {
	for (let tried = 0; tried < BLOCK; tried++) {
		const port = start + (cursor++ % BLOCK);
		if (await probe(port)) return port;
	}
	throw new Error(`no free TCP port in ${start}-${start + BLOCK - 1}`);
}
