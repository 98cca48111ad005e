import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { compressBursts, guard, type CompressOptions, type GuardOptions } from '../../lib/engine';
import { engineError, readSyncItems, runIdOf, storeOf, STORE_CREDENTIAL, testStoreCredential } from '../shared/engine-node';

interface LimitParameter {
	max?: number;
	windowSeconds?: number;
}

/**
 * The cheap, wide guards in front of the Mapper: our own echoes (exact hash of what we last wrote, our
 * own actor), duplicate deliveries (webhook and poll), hop limit, per-actor and per-record limits and a
 * breaker. Thin shell over lib/engine `guard`, one store transaction per batch.
 */
export class DataSyncLoopGuard implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'DataSync Loop Guard',
		name: 'dataSyncLoopGuard',
		icon: { light: 'file:loopguard.svg', dark: 'file:loopguard.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{"sync " + $parameter["sync"]}}',
		description: 'Stop sync echoes, duplicate deliveries and runaway changes before they spread',
		defaults: { name: 'DataSync Loop Guard' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Pass', 'Blocked'],
		credentials: [{ name: STORE_CREDENTIAL, required: true, testedBy: 'dataSyncStoreTest' }],
		properties: [
			{
				displayName: 'Sync Name',
				name: 'sync',
				type: 'string',
				default: 'contacts',
				required: true,
				description: 'The same sync name as in the Conflict Resolver and Store nodes of this flow',
			},
			{
				displayName: 'Own Actor',
				name: 'ownActor',
				type: 'string',
				default: '',
				placeholder: 'datasync',
				description: 'The user our own writes appear as in the systems (e.g. the API user of the sync). Changes made by it are echoes and are blocked. Empty = off.',
			},
			{
				displayName: 'Block Exact Echoes',
				name: 'writtenHashCheck',
				type: 'boolean',
				default: true,
				description: 'Whether to block a change whose data is exactly what this sync last wrote to that record',
			},
			{
				displayName: 'Duplicate Window (Seconds)',
				name: 'duplicateWindowSeconds',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 300,
				description: 'The same change arriving again within this window (by webhook and by poll) passes once. 0 = off.',
			},
			{
				displayName: 'Max Hops',
				name: 'maxHops',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 3,
				description: 'Changes that have travelled through more systems than this are blocked',
			},
			{
				displayName: 'Change Compression',
				name: 'compression',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				description:
					'Bursts of changes to one record (e.g. 20 edits in 3 seconds) pass as one change with the last state, so the other systems get one write. Every field any of the changes carried is kept. For deliveries (webhooks); changes read from a feed pass untouched.',
				options: [
					{
						displayName: 'Window (Ms)',
						name: 'windowMs',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: 600000 },
						default: 1000,
						description: 'A change waits this long for a later change of the same record; if one comes, that one carries both. Adds this much delay to each real-time change. 0 = off.',
					},
					{
						displayName: 'Max Delay (Ms)',
						name: 'maxDelayMs',
						type: 'number',
						typeOptions: { minValue: 0, maxValue: 3600000 },
						default: 10000,
						description: 'A record edited without pause is still passed on at least this often (counted from the first change of its burst)',
					},
				],
			},
			{
				displayName: 'Limits',
				name: 'limits',
				type: 'collection',
				placeholder: 'Add Limit',
				default: {},
				options: [
					{
						displayName: 'Breaker: Max Records per Run',
						name: 'breakerMaxRecords',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 1000,
						description: 'When one run would change more records than this, nothing passes: everything goes to Blocked with one alert item',
					},
					{
						displayName: 'Breaker: Max Share of Entity (%)',
						name: 'breakerMaxSharePercent',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 100 },
						default: 20,
						description: 'When one run would change more than this share of an entity\'s records, nothing passes',
					},
					{
						displayName: 'Breaker: Minimum Entity Size',
						name: 'breakerMinRecords',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 100,
						description: 'The share rule applies only to entities with at least this many records (small tables change a lot in relative terms)',
					},
					{
						displayName: 'Per-Actor Limit',
						name: 'actorLimit',
						type: 'fixedCollection',
						default: {},
						description: 'At most this many changes per user in a time window',
						options: [
							{
								name: 'limit',
								displayName: 'Limit',
								values: [
									{ displayName: 'Max Changes', name: 'max', type: 'number', typeOptions: { minValue: 1 }, default: 100 },
									{ displayName: 'Window (Seconds)', name: 'windowSeconds', type: 'number', typeOptions: { minValue: 1 }, default: 3600 },
								],
							},
						],
					},
					{
						displayName: 'Per-Record Limit',
						name: 'recordLimit',
						type: 'fixedCollection',
						default: {},
						description: 'At most this many changes of one record in a time window (a record flapping between values)',
						options: [
							{
								name: 'limit',
								displayName: 'Limit',
								values: [
									{ displayName: 'Max Changes', name: 'max', type: 'number', typeOptions: { minValue: 1 }, default: 10 },
									{ displayName: 'Window (Seconds)', name: 'windowSeconds', type: 'number', typeOptions: { minValue: 1 }, default: 60 },
								],
							},
						],
					},
				],
			},
		],
	};

	methods = { credentialTest: { dataSyncStoreTest: testStoreCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const input = this.getInputData();
		const { items, indexes, errors } = readSyncItems(this, input);
		if (items.length === 0) return [[], errors];
		const options = readOptions(this);
		const store = await storeOf(this);
		let result;
		try {
			result = await guard(store, options, items);
		} catch (error) {
			throw engineError(this, error, indexes);
		}
		const compression = readCompression(this, options);
		let passed = result.passed;
		let compressed: Array<{ item: (typeof passed)[number]['item']; sourceIndex: number; detail: string }> = [];
		if (compression) {
			try {
				const c = await compressBursts(store, compression, passed);
				passed = c.passed;
				compressed = c.compressed;
			} catch (error) {
				throw engineError(this, error, indexes);
			}
		}
		const pass = passed.map((p) => ({ json: p.item as unknown as IDataObject, pairedItem: { item: indexes[p.sourceIndex] } }));
		const blocked: INodeExecutionData[] = [...errors];
		if (result.breakerTripped) {
			const reasons = result.blocked.filter((b) => b.reason === 'breaker');
			blocked.push({
				json: {
					alert: 'breaker',
					sync: options.sync,
					message: `DataSync Loop Guard stopped this run: ${reasons[0]?.detail ?? 'too many changes'}. Nothing was passed on; check the source system, then raise the limit or run again.`,
					blocked: reasons.length,
				},
				pairedItem: reasons.map((b) => ({ item: indexes[b.sourceIndex] })),
			});
		}
		for (const b of result.blocked) {
			blocked.push({
				json: { ...(b.item as unknown as IDataObject), blocked: { reason: b.reason, detail: b.detail } } as IDataObject,
				pairedItem: { item: indexes[b.sourceIndex] },
			});
		}
		for (const c of compressed) {
			blocked.push({
				json: { ...(c.item as unknown as IDataObject), blocked: { reason: 'compressed', detail: c.detail } } as IDataObject,
				pairedItem: { item: indexes[c.sourceIndex] },
			});
		}
		return [pass, blocked];
	}
}

/** The Change Compression option; undefined when it is off. */
function readCompression(ctx: IExecuteFunctions, options: GuardOptions): CompressOptions | undefined {
	const value = ctx.getNodeParameter('compression', 0, {}) as { windowMs?: number; maxDelayMs?: number };
	if (value.windowMs === undefined && value.maxDelayMs === undefined) return undefined;
	const windowMs = value.windowMs ?? 1000;
	if (windowMs === 0) return undefined;
	return { sync: options.sync, windowMs, maxDelayMs: value.maxDelayMs ?? Math.max(10_000, windowMs), runId: options.runId };
}

function readLimit(value: { limit?: LimitParameter } | undefined): GuardOptions['actorLimit'] {
	const limit = value?.limit;
	if (!limit || limit.max === undefined || limit.windowSeconds === undefined) return undefined;
	return { max: limit.max, windowSeconds: limit.windowSeconds };
}

function readOptions(ctx: IExecuteFunctions): GuardOptions {
	const limits = ctx.getNodeParameter('limits', 0, {}) as {
		breakerMaxRecords?: number;
		breakerMaxSharePercent?: number;
		breakerMinRecords?: number;
		actorLimit?: { limit?: LimitParameter };
		recordLimit?: { limit?: LimitParameter };
	};
	const ownActor = (ctx.getNodeParameter('ownActor', 0, '') as string).trim();
	const breaker =
		limits.breakerMaxRecords !== undefined || limits.breakerMaxSharePercent !== undefined
			? {
					maxRecords: limits.breakerMaxRecords,
					maxShare: limits.breakerMaxSharePercent === undefined ? undefined : limits.breakerMaxSharePercent / 100,
					minRecords: limits.breakerMinRecords,
				}
			: undefined;
	return {
		sync: (ctx.getNodeParameter('sync', 0) as string).trim(),
		runId: runIdOf(ctx),
		ownActor: ownActor || undefined,
		maxHops: ctx.getNodeParameter('maxHops', 0) as number,
		writtenHashCheck: ctx.getNodeParameter('writtenHashCheck', 0) as boolean,
		duplicateWindowSeconds: ctx.getNodeParameter('duplicateWindowSeconds', 0) as number,
		actorLimit: readLimit(limits.actorLimit),
		recordLimit: readLimit(limits.recordLimit),
		breaker,
	};
}
