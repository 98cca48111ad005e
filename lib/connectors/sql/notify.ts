/**
 * Postgres LISTEN/NOTIFY for the DataSync Database Trigger: the trigger function that tells about every
 * insert, update and delete of a table, and a listening connection that comes back by itself.
 *
 * The notification carries only the operation and the id (a payload over 8000 bytes fails in Postgres, and
 * the user's write with it): the trigger then reads the rows changed after the sync's cursor, as Get
 * Changes does, so a notification that is lost costs nothing but time. Only a hard DELETE leaves no row to
 * read: its notification carries the deleted id.
 */
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { checkTableSpec } from './common';
import { pgConnectionOptions } from './postgres';
import type { SqlConnectionConfig, TableSpec } from './types';

/** The name of the row trigger on the table (one per table, shared by every workflow that listens to it). */
export const TRIGGER_NAME = 'datasync_notify';

/** What Postgres lets an identifier be before it cuts it (63 bytes). */
const MAX_IDENTIFIER = 63;

/** Postgres' limit for a NOTIFY payload is 8000 bytes; an id longer than this is sent as null. */
export const MAX_NOTIFY_ID = 7900;

export function quoteIdent(name: string): string {
	return `"${name.replace(/"/g, '""')}"`;
}

function quoteLiteral(text: string): string {
	return `'${text.replace(/'/g, "''")}'`;
}

export interface NotifySql {
	/** The channel the function notifies and the trigger listens on: [a-z0-9_] only, under 63 bytes. */
	channel: string;
	/** The function, schema-qualified and quoted. */
	functionName: string;
	/** CREATE OR REPLACE FUNCTION + (re)CREATE TRIGGER, in one transaction: running it twice changes nothing. */
	install: string;
	/** Takes both away again. */
	remove: string;
}

/**
 * The channel of a table: a readable part of its name and a hash of schema and table, so two tables never
 * share a channel (a name that only differs in case or punctuation included) and any name gives a safe one.
 */
export function channelOf(table: TableSpec): string {
	const hash = createHash('sha256').update(`${table.schema ?? ''}\u0000${table.table}`).digest('hex').slice(0, 12);
	const readable = table.table.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 24);
	return `datasync_${readable ? `${readable}_` : ''}${hash}`;
}

/** The SQL that makes a table notify its changes on its channel (identifiers quoted, names checked). */
export function notifySql(table: TableSpec): NotifySql {
	checkTableSpec(table);
	const channel = channelOf(table);
	const fn = `${channel.replace(/^datasync_/, 'datasync_notify_')}`.slice(0, MAX_IDENTIFIER);
	const schema = table.schema ? `${quoteIdent(table.schema)}.` : '';
	const functionName = `${schema}${quoteIdent(fn)}`;
	const target = `${schema}${quoteIdent(table.table)}`;
	const id = quoteIdent(table.idColumn);
	// The deleted id and when (the source's clock) go with a delete; an insert or update only says "changed".
	const at = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
	const deleted = (row: string) =>
		`PERFORM pg_notify(${quoteLiteral(channel)}, json_build_object('op', 'delete', 'id', CASE WHEN octet_length(${row}.${id}::text) > ${MAX_NOTIFY_ID} THEN NULL ELSE ${row}.${id}::text END, 'at', ${at})::text);`;
	const install = `BEGIN;
CREATE OR REPLACE FUNCTION ${functionName}() RETURNS trigger LANGUAGE plpgsql AS $datasync$
BEGIN
  IF TG_OP = 'DELETE' THEN
    ${deleted('OLD')}
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.${id} IS DISTINCT FROM NEW.${id} THEN
    ${deleted('OLD')}
  END IF;
  PERFORM pg_notify(${quoteLiteral(channel)}, json_build_object('op', 'upsert')::text);
  RETURN NEW;
END
$datasync$;
DROP TRIGGER IF EXISTS ${quoteIdent(TRIGGER_NAME)} ON ${target};
CREATE TRIGGER ${quoteIdent(TRIGGER_NAME)} AFTER INSERT OR UPDATE OR DELETE ON ${target}
  FOR EACH ROW EXECUTE FUNCTION ${functionName}();
COMMIT;`;
	const remove = `DROP TRIGGER IF EXISTS ${quoteIdent(TRIGGER_NAME)} ON ${target};
DROP FUNCTION IF EXISTS ${functionName}();`;
	return { channel, functionName, install, remove };
}

/** One notification's content: a delete (with its id when it fitted) or "rows changed". */
export type Notice = { op: 'delete'; id: string | null; at?: string } | { op: 'upsert' };

/** Reads a payload; anything else than a delete with an id is "rows changed" (the read finds out which). */
export function parseNotice(payload: string | undefined): Notice {
	try {
		const value = JSON.parse(payload ?? '') as { op?: unknown; id?: unknown; at?: unknown };
		if (value && value.op === 'delete') {
			return { op: 'delete', id: typeof value.id === 'string' && value.id !== '' ? value.id : null, at: typeof value.at === 'string' ? value.at : undefined };
		}
	} catch {
		// not ours, or cut: a read after the cursor tells what changed
	}
	return { op: 'upsert' };
}

/** Runs `work` on a connection of its own, closed afterwards. */
async function withClient<T>(config: SqlConnectionConfig, work: (client: Client) => Promise<T>): Promise<T> {
	const client = new Client({ ...pgConnectionOptions(config), connectionTimeoutMillis: 10_000, application_name: 'datasync-db-trigger-setup' });
	client.on('error', () => undefined);
	await client.connect();
	try {
		return await work(client);
	} finally {
		await client.end().catch(() => undefined);
	}
}

/** Whether the table has our row trigger calling our function (as notifySql installs them). */
export async function notifyInstalled(config: SqlConnectionConfig, table: TableSpec): Promise<boolean> {
	const sql = notifySql(table);
	const target = `${table.schema ? `${quoteIdent(table.schema)}.` : ''}${quoteIdent(table.table)}`;
	return await withClient(config, async (client) => {
		const { rows } = await client.query<{ n: number }>(
			`SELECT count(*)::int AS n FROM pg_trigger t WHERE t.tgrelid = to_regclass($1) AND t.tgname = $2 AND NOT t.tgisinternal
			   AND t.tgfoid = to_regprocedure($3)`,
			[target, TRIGGER_NAME, `${sql.functionName}()`],
		);
		return rows[0].n > 0;
	});
}

/** Installs (or replaces) the trigger function and the row trigger. */
export async function installNotify(config: SqlConnectionConfig, table: TableSpec): Promise<void> {
	const { install } = notifySql(table);
	await withClient(config, async (client) => {
		try {
			await client.query(install);
		} catch (error) {
			await client.query('ROLLBACK').catch(() => undefined);
			throw error;
		}
	});
}

export interface ListenerEvents {
	/** Connected and listening: the first time and after every reconnect (time to read what was missed). */
	ready(reconnected: boolean): void;
	notification(payload: string | undefined): void;
	/** The connection is gone; the next attempt comes in `retryInMs`. */
	lost(error: Error, retryInMs: number): void;
}

export interface ListenerOptions {
	/** Shown in pg_stat_activity, so an admin (or a test) finds the listening connection. */
	applicationName: string;
	/** First wait before reconnecting; doubled per failed attempt (with jitter) up to maxRetryMs. */
	firstRetryMs?: number;
	maxRetryMs?: number;
}

/**
 * One connection that LISTENs on a channel and comes back after it was lost (server restart, a killed
 * backend, a network cut found by `check`): reconnects with backoff, listens again and says so (`ready`),
 * so the caller reads what changed while it was away.
 */
export class PgListener {
	private client: Client | undefined;

	private stopped = false;

	private attempts = 0;

	private retry: NodeJS.Timeout | undefined;

	constructor(
		private readonly config: SqlConnectionConfig,
		readonly channel: string,
		private readonly events: ListenerEvents,
		private readonly options: ListenerOptions,
	) {}

	/** Connects and listens; a failure here is thrown (the workflow's activation shows it). */
	async start(): Promise<void> {
		await this.connect(false);
	}

	get connected(): boolean {
		return this.client !== undefined;
	}

	private async connect(reconnected: boolean): Promise<void> {
		const client = new Client({ ...pgConnectionOptions(this.config), connectionTimeoutMillis: 10_000, keepAlive: true, application_name: this.options.applicationName });
		client.on('error', (error) => this.lost(client, error));
		client.on('end', () => this.lost(client, new Error('the listening connection was closed')));
		client.on('notification', (message) => {
			if (message.channel === this.channel) this.events.notification(message.payload);
		});
		try {
			await client.connect();
			await client.query(`LISTEN ${quoteIdent(this.channel)}`);
		} catch (error) {
			client.removeAllListeners('end');
			await client.end().catch(() => undefined);
			throw error;
		}
		if (this.stopped) {
			await client.end().catch(() => undefined);
			return;
		}
		this.client = client;
		this.attempts = 0;
		this.events.ready(reconnected);
	}

	private lost(client: Client, error: Error): void {
		if (client !== this.client || this.stopped) return;
		this.client = undefined;
		client.removeAllListeners('notification');
		void client.end().catch(() => undefined);
		this.schedule(error);
	}

	/** The wait before attempt n (0-based): doubling from firstRetryMs, half of it random, at most maxRetryMs. */
	static delay(attempt: number, firstMs: number, maxMs: number, random = Math.random): number {
		const full = Math.min(maxMs, firstMs * 2 ** Math.min(attempt, 20));
		return Math.round(full / 2 + (random() * full) / 2);
	}

	private schedule(error: Error): void {
		if (this.stopped) return;
		const wait = PgListener.delay(this.attempts++, this.options.firstRetryMs ?? 250, this.options.maxRetryMs ?? 30_000);
		this.events.lost(error, wait);
		this.retry = setTimeout(() => {
			this.retry = undefined;
			this.connect(true).catch((e: unknown) => this.schedule(e instanceof Error ? e : new Error(String(e))));
		}, wait);
	}

	/**
	 * Proves the connection still answers (a cut network shows no error until something is sent); a dead one
	 * is dropped and reconnected.
	 */
	async check(timeoutMs = 10_000): Promise<void> {
		const client = this.client;
		if (!client) return;
		let timer: NodeJS.Timeout | undefined;
		try {
			await Promise.race([
				client.query('SELECT 1'),
				new Promise((_, reject) => {
					timer = setTimeout(() => reject(new Error(`the listening connection did not answer within ${timeoutMs} ms`)), timeoutMs);
				}),
			]);
		} catch (error) {
			this.lost(client, error instanceof Error ? error : new Error(String(error)));
		} finally {
			clearTimeout(timer);
		}
	}

	async stop(): Promise<void> {
		this.stopped = true;
		clearTimeout(this.retry);
		const client = this.client;
		this.client = undefined;
		if (!client) return;
		client.removeAllListeners('notification');
		await client.query(`UNLISTEN ${quoteIdent(this.channel)}`).catch(() => undefined);
		await client.end().catch(() => undefined);
	}
}
