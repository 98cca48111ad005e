import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { expectShape, parseSyncItem, SyncItemError, type SyncItem } from '../../../lib/item';
import { checkIdentifier, type GuardedOutcome, type GuardedRecord, type WriteOptions } from '../../../lib/connectors/sql';
import { writeGuarded } from '../../../lib/connectors/sql/guarded';
import { matchValue, parseMatchKeys, type MatchKey } from '../../../lib/engine/identity';
import { databaseContext, nodeError, unavailable, type DatabaseContext } from './common';

/** Options shared by Upsert and Delete. */
export const writeOptions: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Batch Size',
			name: 'batchSize',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 50000 },
			default: 1000,
			description: 'Records per statement and transaction; a batch is written whole or not at all',
		},
		{
			displayName: 'Conditional Writes',
			name: 'conditional',
			type: 'boolean',
			default: true,
			description:
				'Whether to write a change only if the row is still at the version the sync last read or wrote (its updated-at). A row that moved is not overwritten: it comes out with outcome "stale" and is merged again; a linked row deleted meanwhile is never re-inserted (outcome "target-deleted").',
		},
		{
			displayName: 'Match Columns',
			name: 'matchColumns',
			type: 'string',
			default: '',
			placeholder: 'email',
			description:
				'Columns that identify a record (the match keys, e.g. email), comma-separated. A create first looks for a row holding the same value (trimmed, any case, Unicode NFC; add ":trim" to keep case or ":exact") and links it instead of inserting a duplicate (outcome "matched"); two rows are an ambiguous match. Makes creates exactly-once when a Commit was lost.',
		},
		{
			displayName: 'Ignore Unknown Fields',
			name: 'ignoreUnknownFields',
			type: 'boolean',
			default: false,
			description: 'Whether to skip fields that are not columns of the table; off = refuse the record and name the field',
		},
		{
			displayName: 'Set Updated-At',
			name: 'touchUpdatedAt',
			type: 'boolean',
			default: true,
			description: 'Whether to set the updated-at column to the time of the write when the record does not carry it',
		},
		{
			displayName: 'Write Actor',
			name: 'actor',
			type: 'string',
			default: 'datasync',
			description: "Written to the actor column (if the table has one) so the Loop Guard recognises the sync's own writes; empty = leave the column alone",
		},
	],
};

interface Pending {
	index: number;
	item: SyncItem;
}

function label(item: SyncItem, index: number): string {
	return `item ${index} (${item.entity} / ${item.system} / ${item.id ?? 'new'})`;
}

/** A record to write; its label (for errors) is only spelled out when an error needs it. */
class PendingRecord implements GuardedRecord {
	readonly id: string | null;
	readonly values: Record<string, unknown>;
	readonly index: number;
	readonly op: 'upsert' | 'delete';
	readonly expect?: string;
	readonly match?: GuardedRecord['match'];

	constructor(
		private readonly pending: Pending,
		guard: { conditional: boolean; match: MatchKey[] },
		op: 'upsert' | 'delete',
	) {
		this.id = pending.item.id;
		this.values = pending.item.data;
		this.index = pending.index;
		this.op = op;
		if (guard.conditional && pending.item.trace.version) this.expect = pending.item.trace.version;
		if (this.id === null && guard.match.length) {
			const match: NonNullable<GuardedRecord['match']> = [];
			for (const key of guard.match) {
				const value = matchValue(pending.item.data[key.field], key.mode);
				if (value !== null) match.push({ column: key.field, value, normalise: (text) => matchValue(text, key.mode) });
			}
			if (match.length) this.match = match;
		}
	}

	get label(): string {
		return label(this.pending.item, this.pending.index);
	}
}

/** Writes the input items: upserts (op 'upsert') and deletes (op 'delete', or every item for Delete). */
export async function writeItems(fn: IExecuteFunctions, mode: 'write' | 'delete'): Promise<INodeExecutionData[]> {
	const ctx = await databaseContext(fn);
	const options = fn.getNodeParameter('options', 0, {}) as {
		batchSize?: number;
		ignoreUnknownFields?: boolean;
		touchUpdatedAt?: boolean;
		actor?: string;
		conditional?: boolean;
		matchColumns?: string;
	};
	let match: MatchKey[];
	try {
		match = parseMatchKeys(
			String(options.matchColumns ?? '')
				.split(',')
				.map((c) => c.trim())
				.filter((c) => c !== ''),
		);
		// Checked here, not when a create first looks a value up: a bad setting fails every run, not some.
		for (const key of match) checkIdentifier(key.field, 'match column');
	} catch (error) {
		throw new NodeOperationError(fn.getNode(), `Option "Match Columns": ${(error as Error).message}`);
	}
	const guard = { conditional: options.conditional ?? true, match };
	const deleteMode = fn.getNodeParameter('deleteMode', 0, 'hard') as 'hard' | 'soft';
	const batchSize = options.batchSize ?? 1000;
	const write: WriteOptions = {
		touchUpdatedAt: options.touchUpdatedAt ?? true,
		actor: options.actor ?? 'datasync',
		ignoreUnknownFields: options.ignoreUnknownFields ?? false,
		now: new Date().toISOString(),
	};
	const continueOnFail = fn.continueOnFail();
	const inputs = fn.getInputData();
	// One result per input item, in input order.
	const results: Array<INodeExecutionData | undefined> = new Array(inputs.length);
	const fail = (index: number, error: unknown) => {
		if (!continueOnFail) throw nodeError(fn, error, index);
		// The failed change keeps what Store Commit pairs it by, so the failure is recorded against it.
		const json: Record<string, unknown> = { error: (error as Error).message };
		const input = inputs[index]?.json as Record<string, unknown> | undefined;
		for (const field of ['entity', 'system', 'key', 'id', 'op'] as const) if (input && input[field] !== undefined) json[field] = input[field];
		results[index] = { json: json as INodeExecutionData['json'], pairedItem: { item: index } };
	};

	const upserts: Pending[] = [];
	const deletes: Pending[] = [];
	inputs.forEach((input, index) => {
		try {
			const item = parseSyncItem(input.json, index);
			expectShape(item, 'system', index);
			if (item.system !== ctx.system) {
				throw new SyncItemError(`${label(item, index)}: field "system" is "${item.system}", but this node writes to "${ctx.system}"`, index, 'system');
			}
			if (item.entity !== ctx.entity) {
				throw new SyncItemError(`${label(item, index)}: field "entity" is "${item.entity}", but this node writes "${ctx.entity}"`, index, 'entity');
			}
			if (mode === 'delete' || item.op === 'delete') {
				if (item.id === null) throw new SyncItemError(`${label(item, index)}: a delete needs the record's id`, index, 'id');
				deletes.push({ index, item });
			} else {
				upserts.push({ index, item });
			}
		} catch (error) {
			fail(index, error);
		}
	});

	const guarded = { ...write, deleteMode };
	for (const [list, op] of [[upserts, 'upsert'], [deletes, 'delete']] as const) {
		for (let start = 0; start < list.length; start += batchSize) {
			await writeBatch(ctx, list.slice(start, start + batchSize), op, guarded, guard, results, fail);
		}
	}
	return results.filter((r): r is INodeExecutionData => r !== undefined);
}

/** The write result of one item: the item with the target's id, its version after the write and the outcome. */
function resultOf(item: SyncItem, outcome: GuardedOutcome, table: string): Record<string, unknown> {
	const json: Record<string, unknown> = { ...item, outcome: outcome.outcome };
	switch (outcome.outcome) {
		case 'written':
			json.id = outcome.id;
			if (outcome.version !== null) json.changedAt = outcome.version;
			else delete json.changedAt;
			break;
		case 'matched':
			json.id = outcome.id;
			if (outcome.version !== null) json.changedAt = outcome.version;
			else delete json.changedAt;
			json.detail = `found row ${outcome.id} of table "${table}" by ${outcome.column}; linked, nothing inserted`;
			break;
		case 'stale':
			json.id = outcome.id;
			if (outcome.version !== null) json.changedAt = outcome.version;
			else delete json.changedAt;
			json.detail = `row ${outcome.id} of table "${table}" changed since version ${item.trace.version} (now ${outcome.version}); not overwritten`;
			break;
		case 'target-deleted':
			json.id = outcome.id;
			delete json.changedAt;
			json.detail = `row ${outcome.id} of table "${table}" is deleted there; not re-inserted`;
			break;
		case 'ambiguous':
			delete json.changedAt;
			json.detail = `rows ${outcome.ids.join(', ')} of table "${table}" all match by ${outcome.column}; nothing inserted`;
			break;
	}
	return json;
}

/**
 * One batch in one transaction, written conditionally (see lib/connectors/sql/guarded.ts); with Continue
 * On Fail a refused record is set aside and the rest retried.
 */
async function writeBatch(
	ctx: DatabaseContext,
	batch: Pending[],
	op: 'upsert' | 'delete',
	write: WriteOptions & { deleteMode: 'hard' | 'soft' },
	guard: { conditional: boolean; match: MatchKey[] },
	results: Array<INodeExecutionData | undefined>,
	fail: (index: number, error: unknown) => void,
): Promise<void> {
	let pending = batch;
	while (pending.length) {
		const records = pending.map((p) => new PendingRecord(p, guard, op));
		try {
			const outcomes = await writeGuarded(ctx.transport, ctx.table, records, write);
			pending.forEach((p, k) => {
				results[p.index] = { json: resultOf(p.item, outcomes[k], ctx.table.table) as INodeExecutionData['json'], pairedItem: { item: p.index } };
			});
			return;
		} catch (error) {
			const bad = error instanceof SyncItemError ? error.itemIndex : undefined;
			if (bad === undefined || !pending.some((p) => p.index === bad)) {
				const failure = unavailable(ctx, error);
				for (const p of pending) fail(p.index, failure);
				return;
			}
			fail(bad, error);
			pending = pending.filter((p) => p.index !== bad);
		}
	}
}
