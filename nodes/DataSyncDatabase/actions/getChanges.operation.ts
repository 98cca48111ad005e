import { NodeOperationError, updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { SqlConfigError } from '../../../lib/connectors/sql';
import { openStore, storeConfigFromCredentials, type Store } from '../../../lib/engine/store';
import type { SyncCursor, SyncItem } from '../../../lib/item';
import { asOutput, databaseContext, nodeError, recordToItem, unavailable, type DatabaseContext } from './common';

const properties: INodeProperties[] = [
	{
		displayName: 'Sync Name',
		name: 'sync',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'contacts-crm-erp',
		description: 'The sync whose cursor is read; DataSync Store Commit advances it after the writes succeeded',
	},
	{
		displayName: 'Cursor From',
		name: 'cursorSource',
		type: 'options',
		options: [
			{ name: 'Sync Store', value: 'store', description: 'The cursor Store Commit saved for this sync, system and entity' },
			{ name: 'Start Cursor Only', value: 'explicit', description: 'Always read after the start cursor below (tests, one-off loads)' },
		],
		default: 'store',
	},
	{
		displayName: 'Page Size',
		name: 'pageSize',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 100000 },
		default: 5000,
		description: 'Most changes read per execution; the next run continues after the last one committed',
	},
	{
		displayName: 'Look-Back (Seconds)',
		name: 'lookBackSeconds',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: 86400 },
		default: 0,
		description:
			'Also read again the rows changed in this many seconds before the cursor (up to one page): rows committed late with an earlier updated-at (long transactions, clocks a little apart) are not missed. Re-reads of rows already synced are recognised and skipped. 0 = off.',
	},
	{
		displayName: 'Start Cursor',
		name: 'start',
		type: 'collection',
		placeholder: 'Add Field',
		default: {},
		description: 'Where to start when the store has no cursor yet (first run) or when the cursor comes from here only',
		options: [
			{
				displayName: 'After ID',
				name: 'id',
				type: 'string',
				default: '',
				description: 'Among rows with exactly the timestamp below, start after this ID; empty = only rows changed strictly after the timestamp',
			},
			{
				displayName: 'After Timestamp',
				name: 'ts',
				type: 'string',
				default: '',
				placeholder: '2024-05-01T00:00:00Z',
				description: 'ISO 8601; rows changed after it are read',
			},
		],
	},
];

export const description = updateDisplayOptions({ show: { operation: ['getChanges'] } }, properties);

/** The read's own parameters (Sync Name, Page Size, Look-Back, Start Cursor …), for the Database Trigger. */
export const changesProperties: INodeProperties[] = properties;

/** How Get Changes (and the Database Trigger, which runs the same read) reads one page. */
export interface ChangesRead {
	sync: string;
	pageSize: number;
	/** The sync store to take the cursor and the unread links from; null = the start cursor only. */
	store: Store | null;
	start: { ts?: string; id?: string };
	lookBackSeconds: number;
}

/** "Start Cursor" as given, checked; null when it is empty. */
export function startCursor(start: { ts?: string; id?: string }): SyncCursor | null {
	if (!start.ts) return null;
	if (Number.isNaN(Date.parse(start.ts))) throw new SqlConfigError(`Start Cursor: "After Timestamp" must be an ISO 8601 date-time, got "${start.ts}"`);
	// An empty id means "strictly after the timestamp" (see SqlTransport.readChanges).
	return { ts: start.ts, id: start.id ?? '' };
}

/**
 * One page of the rows changed after the sync's cursor, as DataSync items, with the linked rows no poll
 * has read yet and (with a look-back) rows that turned up late before the cursor. Never writes the cursor.
 * `rows` counts the rows read after the cursor: a full page means more are waiting.
 */
export async function readChangesPage(ctx: DatabaseContext, read: ChangesRead): Promise<{ items: SyncItem[]; rows: number }> {
	let cursor = startCursor(read.start);
	let unread: string[] = [];
	if (read.store) {
		cursor = (await read.store.getCursor(read.sync, ctx.system, ctx.entity)) ?? cursor;
		unread = await read.store.unreadLinks(ctx.entity, ctx.system, Math.min(read.pageSize, 500));
	}
	try {
		const records = await ctx.transport.readChanges(ctx.table, cursor, read.pageSize);
		const items = records.map((r) => recordToItem(r, ctx, { cursor: true, sync: read.sync }));
		if (unread.length) {
			// Rows a create found by match key and linked without reading them: read now (no cursor), so their
			// values are merged into the golden record and the sync writes to them again.
			const inPage = new Set(records.map((r) => r.id));
			const missing = unread.filter((id) => !inPage.has(id));
			if (missing.length) for (const r of await ctx.transport.readByIds(ctx.table, missing)) items.push(recordToItem(r, ctx, { sync: read.sync }));
		}
		if (read.lookBackSeconds > 0 && cursor && cursor.id !== '') {
			// The window before the cursor, read again: a row that turned up there late is a change not yet
			// seen. Re-reads carry no cursor (they never move it) and are skipped downstream as echoes or
			// duplicate deliveries when nothing changed.
			const at = cursor;
			const from = { ts: new Date(Date.parse(at.ts) - read.lookBackSeconds * 1000).toISOString(), id: '' };
			const seen = new Set(items.map((i) => String(i.id)));
			const window = await ctx.transport.readChanges(ctx.table, from, read.pageSize);
			const atOrBefore = (r: { updatedAt: string | null; id: string }) => r.updatedAt !== null && Date.parse(r.updatedAt) <= Date.parse(at.ts);
			for (const r of window) if (atOrBefore(r) && !seen.has(r.id)) items.push(recordToItem(r, ctx, { sync: read.sync }));
		}
		return { items, rows: records.length };
	} catch (error) {
		throw unavailable(ctx, error);
	}
}

/** Reads one page of changes after the cursor; never writes the cursor (only Store Commit does). */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const ctx = await databaseContext(this);
	const sync = String(this.getNodeParameter('sync', 0, '')).trim();
	if (!sync) throw new NodeOperationError(this.getNode(), 'Parameter "Sync Name" is empty');
	const start = this.getNodeParameter('start', 0, {}) as { ts?: string; id?: string };
	try {
		startCursor(start);
	} catch (error) {
		throw new NodeOperationError(this.getNode(), (error as Error).message);
	}
	let store: Store | null = null;
	if (this.getNodeParameter('cursorSource', 0, 'store') === 'store') {
		try {
			store = await openStore(storeConfigFromCredentials(await this.getCredentials('dataSyncStoreApi')));
		} catch (error) {
			throw nodeError(this, error);
		}
	}
	try {
		const { items } = await readChangesPage(ctx, {
			sync,
			pageSize: Number(this.getNodeParameter('pageSize', 0, 5000)),
			store,
			start,
			lookBackSeconds: Number(this.getNodeParameter('lookBackSeconds', 0, 0)) || 0,
		});
		return asOutput(items);
	} catch (error) {
		throw nodeError(this, error);
	}
}
