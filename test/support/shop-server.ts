/**
 * The REST stand-in for System C, the shop: node:http on 127.0.0.1 and a random port. One collection per
 * entity (`/contacts`, `/orders`, `/inventory`, `/users`), records in the shop's own shape (nested objects,
 * prices in integer minor units, times in epoch milliseconds), with:
 *
 * - `GET /{collection}?updated_since=<ms>&page=<n>&limit=<n>`: `{ data: [...], page, limit, total }` in
 *   (updated_at, id) order, `updated_since` inclusive (as most APIs are);
 * - `GET|PATCH|PUT|DELETE /{collection}/{id}`, `POST /{collection}` (the new id in the answer);
 * - bearer tokens; each token is a user of the shop, and what it changes is recorded as that user's
 *   (`updated_by`), like the API user the sync writes as;
 * - a signed webhook (`hex(HMAC-SHA256(secret, "<ts>.<raw body>"))`, headers x-datasync-timestamp and
 *   x-datasync-signature) POSTed to the configured URL of the entity on every change made through the API
 *   or `change()`, as `{ id, op, changedAt, actor, data }`. Changes by the actors in `quietActors` send
 *   none (a real shop lets you filter out the sync's own API user); `dropNextWebhooks` loses the next ones.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, unknown>;

export interface ShopRecord extends Json {
	id: number;
	updated_at: number;
	updated_by: string;
}

export interface WebhookDelivery {
	url: string;
	entity: string;
	body: Json;
	status: number;
	error?: string;
}

export interface ShopServerOptions {
	/** token → the user it acts as. */
	tokens?: Record<string, string>;
	/** Secret that webhooks are signed with. */
	secret?: string;
}

export const SHOP_COLLECTIONS: Record<string, string> = { contacts: 'contact', orders: 'order', inventory: 'inventory', users: 'user' };

export class ShopServer {
	readonly records = new Map<string, Map<number, ShopRecord>>();

	/** Where to POST each entity's changes (entity → URL); none = no webhooks. */
	readonly webhookUrls = new Map<string, string>();

	/** Changes by these users send no webhook. */
	readonly quietActors = new Set<string>();

	/** Every webhook sent (or lost on purpose: status 0). */
	readonly deliveries: WebhookDelivery[] = [];

	/** Every API request: method, path, user. */
	readonly requests: Array<{ method: string; path: string; actor: string }> = [];

	dropNextWebhooks = 0;

	/** A write request (POST, PATCH, PUT, DELETE) this answers true for gets a 500 and changes nothing: a failing API. */
	failWrite?: (request: { method: string; path: string; body: Json }) => boolean;

	private nextId = 5001;

	private lastTime = 0;

	private pending: Array<Promise<void>> = [];

	private server!: Server;

	private constructor(private readonly options: Required<ShopServerOptions>) {
		for (const entity of Object.values(SHOP_COLLECTIONS)) this.records.set(entity, new Map());
	}

	static async start(options: ShopServerOptions = {}): Promise<ShopServer> {
		const shop = new ShopServer({
			tokens: options.tokens ?? { 'shop-sync-token': 'datasync', 'shop-admin-token': 'shop-admin' },
			secret: options.secret ?? 'shop-webhook-secret-0123456789',
		});
		shop.server = createServer((req, res) => void shop.handle(req, res));
		await new Promise<void>((resolve) => shop.server.listen(0, '127.0.0.1', resolve));
		return shop;
	}

	get url(): string {
		return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
	}

	get secret(): string {
		return this.options.secret;
	}

	/** A strictly increasing epoch-ms clock: two changes never share a time. */
	private now(): number {
		this.lastTime = Math.max(Date.now(), this.lastTime + 1);
		return this.lastTime;
	}

	list(entity: string): ShopRecord[] {
		return [...this.records.get(entity)!.values()].sort((a, b) => a.id - b.id);
	}

	get(entity: string, id: number | string): ShopRecord | undefined {
		return this.records.get(entity)!.get(Number(id));
	}

	/**
	 * A change made in the shop (its admin screen): create (no id), update (fields merged) or delete.
	 * Sends the webhook unless `notify` is false or the actor is quiet. Returns the record.
	 */
	async change(entity: string, change: { id?: number; data?: Json; delete?: boolean; actor?: string; notify?: boolean }): Promise<ShopRecord | undefined> {
		const record = this.apply(entity, change.id ?? null, change.data ?? {}, change.delete ? 'delete' : change.id ? 'patch' : 'create', change.actor ?? 'shop-admin', change.notify ?? true);
		await this.settled();
		return record;
	}

	/** Waits for the webhooks sent so far. */
	async settled(): Promise<void> {
		const pending = this.pending;
		this.pending = [];
		await Promise.all(pending);
	}

	async close(): Promise<void> {
		await this.settled();
		this.server.closeAllConnections();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}

	private apply(entity: string, id: number | null, data: Json, kind: 'create' | 'patch' | 'put' | 'delete', actor: string, notify: boolean): ShopRecord | undefined {
		const table = this.records.get(entity)!;
		let record: ShopRecord | undefined;
		const clean = { ...data };
		delete clean.id;
		delete clean.updated_at;
		delete clean.updated_by;
		if (kind === 'create') {
			record = { ...clean, id: id ?? this.nextId++, updated_at: this.now(), updated_by: actor };
			table.set(record.id, record);
		} else if (kind === 'delete') {
			record = table.get(id!);
			if (!record) return undefined;
			table.delete(id!);
		} else {
			const current = table.get(id!);
			if (!current) return undefined;
			record = kind === 'put' ? { ...clean, id: id!, updated_at: this.now(), updated_by: actor } : { ...current, ...clean, id: id!, updated_at: this.now(), updated_by: actor };
			table.set(record.id, record);
		}
		if (notify) this.pending.push(this.notify(entity, kind === 'delete' ? 'delete' : 'upsert', record, actor));
		return record;
	}

	private async notify(entity: string, op: 'upsert' | 'delete', record: ShopRecord, actor: string): Promise<void> {
		const url = this.webhookUrls.get(entity);
		if (!url || this.quietActors.has(actor)) return;
		const body = { id: record.id, op, changedAt: new Date(op === 'delete' ? this.now() : record.updated_at).toISOString(), actor, data: op === 'delete' ? {} : record };
		if (this.dropNextWebhooks > 0) {
			this.dropNextWebhooks--;
			this.deliveries.push({ url, entity, body, status: 0, error: 'dropped on purpose' });
			return;
		}
		const raw = JSON.stringify(body);
		const ts = String(Math.floor(Date.now() / 1000));
		const signature = createHmac('sha256', this.options.secret).update(`${ts}.${raw}`).digest('hex');
		try {
			const res = await fetch(url, {
				method: 'POST',
				headers: { 'content-type': 'application/json', 'x-datasync-timestamp': ts, 'x-datasync-signature': `sha256=${signature}` },
				body: raw,
			});
			await res.text();
			this.deliveries.push({ url, entity, body, status: res.status });
		} catch (error) {
			this.deliveries.push({ url, entity, body, status: 0, error: (error as Error).message });
		}
	}

	private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const send = (status: number, body?: unknown) => {
			res.writeHead(status, { 'content-type': 'application/json' });
			res.end(body === undefined ? '' : JSON.stringify(body));
		};
		try {
			const url = new URL(req.url ?? '/', 'http://127.0.0.1');
			const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
			const actor = this.options.tokens[token];
			if (!actor) return send(401, { error: 'unknown token' });
			this.requests.push({ method: req.method ?? 'GET', path: url.pathname, actor });
			const [, collection, idText, extra] = url.pathname.split('/');
			if (url.pathname === '/' || url.pathname === '') return send(200, { ok: true, collections: Object.keys(SHOP_COLLECTIONS) });
			const entity = SHOP_COLLECTIONS[collection];
			if (!entity || extra !== undefined) return send(404, { error: `no such path ${url.pathname}` });
			const chunks: Buffer[] = [];
			for await (const chunk of req) chunks.push(chunk as Buffer);
			const text = Buffer.concat(chunks).toString('utf8');
			const body = (text ? JSON.parse(text) : {}) as Json;
			if (req.method !== 'GET' && this.failWrite?.({ method: req.method ?? '', path: url.pathname, body })) return send(500, { error: 'internal error (failed on purpose)' });
			if (!idText) {
				if (req.method === 'GET') return send(200, this.page(entity, url.searchParams));
				if (req.method === 'POST') {
					const record = this.apply(entity, null, body, 'create', actor, true);
					return send(201, record);
				}
				return send(405, { error: 'method not allowed' });
			}
			const id = Number(idText);
			if (!this.get(entity, id)) return send(404, { error: `${entity} ${idText} not found` });
			switch (req.method) {
				case 'GET':
					return send(200, this.get(entity, id));
				case 'PATCH':
				case 'PUT':
					return send(200, this.apply(entity, id, body, req.method === 'PUT' ? 'put' : 'patch', actor, true));
				case 'DELETE':
					this.apply(entity, id, {}, 'delete', actor, true);
					return send(204);
				default:
					return send(405, { error: 'method not allowed' });
			}
		} catch (error) {
			send(500, { error: (error as Error).message });
		}
	}

	private page(entity: string, query: URLSearchParams): Json {
		const since = query.get('updated_since');
		const limit = Math.min(Number(query.get('limit') ?? 100) || 100, 1000);
		const page = Math.max(Number(query.get('page') ?? 1) || 1, 1);
		const rows = this.list(entity)
			.filter((r) => since === null || r.updated_at >= Number(since))
			.sort((a, b) => a.updated_at - b.updated_at || a.id - b.id);
		return { data: rows.slice((page - 1) * limit, page * limit), page, limit, total: rows.length };
	}
}
