import { NodeOperationError, updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { listRecords, type Pagination } from '../../../lib/connectors/http/client';
import { openStore, storeConfigFromCredentials } from '../../../lib/engine/store';
import type { SyncCursor, SyncItem } from '../../../lib/item';
import { apiError, asOutput, httpContext, recordToItem } from './common';

const properties: INodeProperties[] = [
	{
		displayName: 'Updated Since From',
		name: 'cursorSource',
		type: 'options',
		options: [
			{ name: 'No Filter', value: 'none', description: 'List every record (the snapshot for reconcile)' },
			{ name: 'Start Time Only', value: 'explicit', description: 'Always list the records changed after the start time below' },
			{ name: 'Sync Store', value: 'store', description: 'The cursor Store Commit saved for this sync, system and entity' },
		],
		default: 'store',
	},
	{
		displayName: 'Sync Name',
		name: 'sync',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'contacts-crm-erp',
		description: 'The sync whose cursor is read; DataSync Store Commit advances it after the writes succeeded',
		displayOptions: { show: { cursorSource: ['store'] } },
	},
	{
		displayName: 'Start Time',
		name: 'startTime',
		type: 'string',
		default: '',
		placeholder: '2024-05-01T00:00:00Z',
		description: 'ISO 8601: the first run (no cursor in the store yet) or every run lists the records changed after it',
		displayOptions: { show: { cursorSource: ['store', 'explicit'] } },
	},
	{
		displayName: 'Updated-Since Query Parameter',
		name: 'updatedSinceParam',
		type: 'string',
		default: 'updated_since',
		displayOptions: { show: { cursorSource: ['store', 'explicit'] } },
	},
	{
		displayName: 'Updated-Since Format',
		name: 'updatedSinceFormat',
		type: 'options',
		options: [
			{ name: 'ISO 8601', value: 'iso' },
			{ name: 'Unix Milliseconds', value: 'ms' },
			{ name: 'Unix Seconds', value: 's' },
		],
		default: 'iso',
		displayOptions: { show: { cursorSource: ['store', 'explicit'] } },
	},
	{
		displayName: 'Pagination',
		name: 'pagination',
		type: 'options',
		options: [
			{ name: 'Cursor Token', value: 'cursor', description: 'The answer carries a token for the next page' },
			{ name: 'Link Header', value: 'link', description: 'The answer\'s Link header names the next page (rel="next")' },
			{ name: 'None', value: 'none', description: 'One request returns everything' },
			{ name: 'Offset', value: 'offset', description: 'A record offset in the query' },
			{ name: 'Page Number', value: 'page', description: 'A page number in the query' },
		],
		default: 'page',
	},
	{
		displayName: 'Page Parameter',
		name: 'pageParam',
		type: 'string',
		default: 'page',
		description: 'The query parameter that carries the page number, the offset or the cursor token',
		displayOptions: { show: { pagination: ['page', 'offset', 'cursor'] } },
	},
	{
		displayName: 'First Page Number',
		name: 'pageStart',
		type: 'number',
		default: 1,
		displayOptions: { show: { pagination: ['page'] } },
	},
	{
		displayName: 'Next Token Path',
		name: 'nextTokenPath',
		type: 'string',
		default: 'next_cursor',
		description: 'Dotted path to the next-page token in the answer; no token = last page',
		displayOptions: { show: { pagination: ['cursor'] } },
	},
	{
		displayName: 'Page Size',
		name: 'pageSize',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 100,
	},
	{
		displayName: 'Page Size Parameter',
		name: 'pageSizeParam',
		type: 'string',
		default: 'limit',
		description: 'The query parameter that carries the page size; empty = the API does not take one',
	},
	{
		displayName: 'Records Path',
		name: 'itemsPath',
		type: 'string',
		default: '',
		placeholder: 'data',
		description: 'Dotted path to the list of records in each answer; empty = the answer is the list',
	},
	{
		displayName: 'Max Pages',
		name: 'maxPages',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Most pages read per execution (bounds memory); the next run continues from the committed cursor',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['list'] } }, properties);

function compare(a: SyncCursor, b: SyncCursor): number {
	const ta = Date.parse(a.ts);
	const tb = Date.parse(b.ts);
	if (ta !== tb) return ta < tb ? -1 : 1;
	return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Lists the collection, filtered by updated-since when a cursor is known. APIs filter by time only
 * (usually inclusive), so records at or before the cursor are dropped here: the cursor is (time, id) and
 * nothing is taken twice. Items come out in (time, id) order with their cursor, for Store Commit.
 */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const ctx = await httpContext(this);
	const source = this.getNodeParameter('cursorSource', 0, 'store') as 'none' | 'explicit' | 'store';
	const kind = this.getNodeParameter('pagination', 0, 'page') as Pagination['kind'];
	const param = String(this.getNodeParameter('pageParam', 0, 'page'));
	const pagination: Pagination =
		kind === 'cursor'
			? { kind, param, nextPath: String(this.getNodeParameter('nextTokenPath', 0, 'next_cursor')) }
			: kind === 'page'
				? { kind, param, start: Number(this.getNodeParameter('pageStart', 0, 1)) }
				: kind === 'offset'
					? { kind, param }
					: { kind };
	let cursor: SyncCursor | null = null;
	const sync = source === 'store' ? String(this.getNodeParameter('sync', 0, '')).trim() : '';
	if (source !== 'none') {
		const start = String(this.getNodeParameter('startTime', 0, '')).trim();
		if (start) {
			if (Number.isNaN(Date.parse(start))) throw new NodeOperationError(this.getNode(), `"Start Time" must be an ISO 8601 date-time, got "${start}"`);
			cursor = { ts: start, id: '' };
		}
		if (source === 'store') {
			if (!sync) throw new NodeOperationError(this.getNode(), 'Parameter "Sync Name" is empty');
			const store = await openStore(storeConfigFromCredentials(await this.getCredentials('dataSyncStoreApi')));
			cursor = (await store.getCursor(sync, ctx.system, ctx.entity)) ?? cursor;
		}
	}
	const qs: Record<string, string | number> = {};
	if (cursor) {
		const format = this.getNodeParameter('updatedSinceFormat', 0, 'iso') as 'iso' | 'ms' | 's';
		const ms = Date.parse(cursor.ts);
		qs[String(this.getNodeParameter('updatedSinceParam', 0, 'updated_since'))] =
			format === 'ms' ? ms : format === 's' ? Math.floor(ms / 1000) : cursor.ts;
	}
	try {
		const result = await listRecords(ctx.send, ctx.policy, {
			baseUrl: ctx.baseUrl,
			path: ctx.collection,
			qs,
			itemsPath: String(this.getNodeParameter('itemsPath', 0, '')).trim(),
			pageSize: Number(this.getNodeParameter('pageSize', 0, 100)),
			pageSizeParam: String(this.getNodeParameter('pageSizeParam', 0, 'limit')).trim(),
			pagination,
			maxPages: Number(this.getNodeParameter('maxPages', 0, 50)),
		});
		const items: SyncItem[] = [];
		for (const record of result.records) {
			const item = recordToItem(record, ctx);
			if (!item) {
				throw new NodeOperationError(this.getNode(), `A record of ${ctx.collection} has no id at "${ctx.idField}"`, {
					description: JSON.stringify(record).slice(0, 300),
				});
			}
			if (source !== 'none' && item.changedAt) {
				const at: SyncCursor = { ts: item.changedAt, id: item.id as string };
				if (cursor && (cursor.id === '' ? Date.parse(at.ts) <= Date.parse(cursor.ts) : compare(at, cursor) <= 0)) continue;
				item.trace.cursor = at;
				if (sync) item.trace.sync = sync;
			}
			items.push(item);
		}
		if (source !== 'none') items.sort((a, b) => (a.trace.cursor && b.trace.cursor ? compare(a.trace.cursor, b.trace.cursor) : 0));
		return asOutput(items);
	} catch (error) {
		throw apiError(this, error);
	}
}
