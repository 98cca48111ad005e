/**
 * A REST system for tests: node:http on 127.0.0.1 and a random port, holding contacts in memory, with
 * the four pagination styles, a batch endpoint, bearer auth, and scripted trouble (5xx, 429 with
 * Retry-After, slow answers, dropped connections) for the next requests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Contact {
	id: string;
	email: string;
	updated_at: string;
	[field: string]: unknown;
}

export type Trouble = { status: 500 | 502 | 503 } | { status: 429; retryAfter?: string } | { delayMs: number } | { drop: true };

export interface RestServer {
	url: string;
	token: string;
	contacts: Map<string, Contact>;
	/** Every request received: method, path and query. */
	log: Array<{ method: string; path: string; query: URLSearchParams; body?: unknown; ifMatch?: string }>;
	/** Trouble for the next requests, taken in order. */
	trouble: Trouble[];
	style: 'page' | 'offset' | 'cursor' | 'link';
	close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
	const text = body === undefined ? '' : JSON.stringify(body);
	res.writeHead(status, { 'content-type': 'application/json', ...headers });
	res.end(text);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
	const chunks: Buffer[] = [];
	for await (const chunk of req) chunks.push(chunk as Buffer);
	const text = Buffer.concat(chunks).toString('utf8');
	return text ? JSON.parse(text) : undefined;
}

export async function startRestServer(): Promise<RestServer> {
	let nextId = 1;
	const state: Omit<RestServer, 'url' | 'close'> = {
		token: 'test-token-123',
		contacts: new Map(),
		log: [],
		trouble: [],
		style: 'page',
	};
	const sorted = () =>
		[...state.contacts.values()].sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
	const stamp = () => new Date().toISOString();

	const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const body = req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH' ? await readBody(req) : undefined;
		const ifMatch = typeof req.headers['if-match'] === 'string' ? req.headers['if-match'] : undefined;
		state.log.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, body, ifMatch });
		const trouble = state.trouble.shift();
		if (trouble && 'drop' in trouble) {
			req.socket.destroy();
			return;
		}
		if (trouble && 'delayMs' in trouble) await new Promise((r) => setTimeout(r, trouble.delayMs));
		if (trouble && 'status' in trouble) {
			send(res, trouble.status, { error: 'scripted' }, trouble.status === 429 && trouble.retryAfter ? { 'retry-after': trouble.retryAfter } : {});
			return;
		}
		if (req.headers.authorization !== `Bearer ${state.token}`) return send(res, 401, { error: 'unauthorized' });

		const parts = url.pathname.split('/').filter(Boolean);
		if (parts[0] !== 'contacts') return send(res, 404, { error: 'no such route' });
		if (parts.length === 1 && req.method === 'GET') {
			const since = url.searchParams.get('updated_since');
			const limit = Number(url.searchParams.get('limit') ?? 50);
			// Inclusive, as most APIs filter: the connector must drop what it already had.
			const all = sorted().filter((c) => !since || c.updated_at >= since);
			if (state.style === 'cursor') {
				const after = url.searchParams.get('cursor');
				const start = after ? all.findIndex((c) => c.id === after) + 1 : 0;
				const page = all.slice(start, start + limit);
				return send(res, 200, { data: page, next_cursor: start + limit < all.length ? page[page.length - 1]?.id : null });
			}
			if (state.style === 'offset') {
				const offset = Number(url.searchParams.get('offset') ?? 0);
				return send(res, 200, { data: all.slice(offset, offset + limit) });
			}
			const pageNo = Number(url.searchParams.get('page') ?? 1);
			const page = all.slice((pageNo - 1) * limit, pageNo * limit);
			if (state.style === 'link') {
				const headers: Record<string, string> = {};
				if (pageNo * limit < all.length) {
					const next = new URL(url.toString());
					next.host = req.headers.host ?? '';
					next.searchParams.set('page', String(pageNo + 1));
					headers.link = `<http://${req.headers.host}${next.pathname}${next.search}>; rel="next", <http://${req.headers.host}/contacts?page=1>; rel="first"`;
				}
				return send(res, 200, { data: page }, headers);
			}
			return send(res, 200, { data: page });
		}
		if (parts.length === 1 && req.method === 'POST') {
			const id = String(nextId++);
			const contact = { ...(body as object), id, updated_at: stamp() } as Contact;
			state.contacts.set(id, contact);
			return send(res, 201, { data: contact });
		}
		if (parts[1] === 'batch' && req.method === 'POST') {
			const records = (body as { records: Array<Record<string, unknown>> }).records;
			const written = records.map((r) => {
				const id = r.id === undefined ? String(nextId++) : String(r.id);
				const contact = { ...(state.contacts.get(id) ?? {}), ...r, id, updated_at: stamp() } as Contact;
				state.contacts.set(id, contact);
				return contact;
			});
			return send(res, 200, { records: written });
		}
		const id = decodeURIComponent(parts[1] ?? '');
		const existing = state.contacts.get(id);
		if (!existing) return send(res, 404, { error: `contact ${id} not found` });
		// ETags as most APIs make them: the record's version; a write with a stale If-Match is refused (412).
		const etag = `"${existing.updated_at}"`;
		if (req.method === 'GET') return send(res, 200, { data: existing }, { etag });
		if (ifMatch !== undefined && ifMatch !== etag) return send(res, 412, { error: `contact ${id} changed (precondition failed)` });
		if (req.method === 'DELETE') {
			state.contacts.delete(id);
			return send(res, 204);
		}
		if (req.method === 'PUT' || req.method === 'PATCH') {
			const next = { ...(req.method === 'PATCH' ? existing : {}), ...(body as object), id, updated_at: stamp() } as Contact;
			state.contacts.set(id, next);
			return send(res, 200, { data: next });
		}
		return send(res, 405, { error: 'method not allowed' });
	};

	const server: Server = createServer((req, res) => {
		handle(req, res).catch((error: Error) => send(res, 500, { error: error.message }));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	const result = state as RestServer;
	result.url = `http://127.0.0.1:${port}`;
	result.close = () =>
		new Promise<void>((resolve) => {
			server.closeAllConnections();
			server.close(() => resolve());
		});
	return result;
}

/** Fills the server with `n` contacts; groups of `tie` share one updated_at, so pages split ties. */
export function seedContacts(server: RestServer, n: number, tie = 5): void {
	for (let i = 0; i < n; i++) {
		const id = String(100000 + i);
		const at = new Date(Date.UTC(2024, 0, 1) + Math.floor(i / tie) * 1000).toISOString();
		server.contacts.set(id, { id, email: `c${i}@example.com`, updated_at: at });
	}
}
