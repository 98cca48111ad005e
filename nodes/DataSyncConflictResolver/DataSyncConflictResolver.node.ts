import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { resolve, type DeletePolicy, type EmptyValueRule, type MergePolicy, type ResolveOptions } from '../../lib/engine';
import { engineError, listParameter, readSyncItems, runIdOf, storeOf, STORE_CREDENTIAL, testStoreCredential } from '../shared/engine-node';

type PolicyKind = MergePolicy['kind'];

/**
 * Identity, three-way merge into the golden record and the plan of outbound changes, for a batch of
 * canonical items (after the Mapper). Thin shell over lib/engine `resolve`: the parameters are read once
 * per execution and the whole batch is one store transaction.
 */
export class DataSyncConflictResolver implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'DataSync Conflict Resolver',
		name: 'dataSyncConflictResolver',
		icon: { light: 'file:resolver.svg', dark: 'file:resolver.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["entity"] + " · " + {"priority":"system priority","lastWriteWins":"last write wins","ownership":"field ownership","manual":"manual review"}[$parameter["policy"]]}}',
		description: 'Merge changes into the golden record and plan the writes to every other system',
		defaults: { name: 'DataSync Conflict Resolver' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Changes', 'Conflicts', 'Skipped'],
		credentials: [{ name: STORE_CREDENTIAL, required: true, testedBy: 'dataSyncStoreTest' }],
		properties: [
			{
				displayName: 'Items must be canonical DataSync items (map them with the DataSync Mapper first). Changes go out once per target system; wire them to a Mapper (from canonical) and the write node, then Store → Commit.',
				name: 'notice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Sync Name',
				name: 'sync',
				type: 'string',
				default: 'contacts',
				required: true,
				description: 'Names this sync in the store (its cursors, runs, audit). Use the same name in the Loop Guard and Store nodes of the flow.',
			},
			{
				displayName: 'Entity',
				name: 'entity',
				type: 'string',
				default: 'contact',
				required: true,
				description: 'The entity of the items (contact, order, inventory, user, …)',
			},
			{
				displayName: 'Systems',
				name: 'systems',
				type: 'string',
				default: 'crm, erp',
				required: true,
				placeholder: 'crm, erp, shop',
				description: 'Every system of this sync, comma-separated. Changes are planned for each system whose copy differs from the golden record.',
			},
			{
				displayName: 'Match Keys',
				name: 'matchKeys',
				type: 'string',
				default: 'email',
				placeholder: 'email',
				description: 'Canonical fields that identify a record seen for the first time (e.g. email, sku), comma-separated. One match links it; several are an ambiguous-match conflict; none creates a new golden record.',
			},
			{
				displayName: 'Conflict Policy',
				name: 'policy',
				type: 'options',
				noDataExpression: true,
				default: 'priority',
				description: 'Who wins when two systems changed the same field differently',
				options: [
					{ name: 'Field Ownership', value: 'ownership', description: 'Each field belongs to one system; others by priority' },
					{ name: 'Last Write Wins', value: 'lastWriteWins', description: 'The later change wins (ties by priority)' },
					{ name: 'Manual Review', value: 'manual', description: 'Nothing wins; the conflict waits in the review queue' },
					{ name: 'System Priority', value: 'priority', description: 'The first system in the priority list wins ("System A wins")' },
				],
			},
			{
				displayName: 'Priority',
				name: 'priority',
				type: 'string',
				default: 'crm, erp',
				placeholder: 'crm, erp',
				description: 'Systems from the strongest to the weakest, comma-separated. "System A wins" = A first.',
				displayOptions: { show: { policy: ['priority', 'lastWriteWins', 'ownership'] } },
			},
			{
				displayName: 'Field Owners',
				name: 'owners',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true },
				placeholder: 'Add Field Owner',
				default: {},
				displayOptions: { show: { policy: ['ownership'] } },
				options: [
					{
						name: 'owner',
						displayName: 'Owner',
						values: [
							{ displayName: 'Field', name: 'field', type: 'string', default: '', description: 'Canonical field name' },
							{ displayName: 'System', name: 'system', type: 'string', default: '', description: 'The system that owns the field' },
						],
					},
				],
			},
			{
				displayName: 'Delete Policy',
				name: 'deletePolicy',
				type: 'options',
				noDataExpression: true,
				default: 'propagate',
				options: [
					{ name: 'Hold for Approval', value: 'approval', description: 'A delete waits as a conflict until someone approves it' },
					{ name: 'Ignore', value: 'ignore', description: 'Deletes are not synced; the record stays everywhere else' },
					{ name: 'Propagate', value: 'propagate', description: 'Delete the record in every other system' },
					{ name: 'Soft Delete', value: 'soft', description: 'Mark the golden record deleted; other systems keep theirs' },
				],
			},
			{
				displayName: 'Empty Values',
				name: 'emptyValueRule',
				type: 'options',
				noDataExpression: true,
				default: 'keep',
				options: [
					{ name: 'Keep Existing Data', value: 'keep', description: 'An empty incoming value never erases a filled field' },
					{ name: 'Erase', value: 'erase', description: 'An empty incoming value that wins erases the field' },
				],
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Dry Run',
						name: 'dryRun',
						type: 'boolean',
						default: false,
						description: 'Whether to plan everything and store nothing (see what a sync would do)',
					},
					{
						displayName: 'Sensitive Fields',
						name: 'sensitiveFields',
						type: 'string',
						default: '',
						placeholder: 'passwordHash, nationalId',
						description: 'Canonical fields that never reach the store (they still travel with the change), comma-separated',
					},
				],
			},
		],
	};

	methods = { credentialTest: { dataSyncStoreTest: testStoreCredential } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const input = this.getInputData();
		const { items, indexes, errors } = readSyncItems(this, input);
		const options = readOptions(this);
		// With Continue on Fail, malformed items go to Skipped (with the error), never towards the writes.
		if (items.length === 0) return [[], [], errors];

		const store = await storeOf(this);
		let result;
		try {
			result = await resolve(store, options, items);
		} catch (error) {
			throw engineError(this, error, indexes);
		}

		const changes = result.changes.map((c) => ({ json: c.item as unknown as IDataObject, pairedItem: { item: indexes[c.sourceIndex] } }));
		const conflicts = result.conflicts.map((c) => ({
			json: {
				...(c.item as unknown as IDataObject),
				conflict: { kind: c.kind, status: c.status, key: c.key, fields: c.fields, competing: c.competing, resolution: c.resolution, message: c.message },
			} as IDataObject,
			pairedItem: { item: indexes[c.sourceIndex] },
		}));
		const skipped = [
			...errors,
			...result.skipped.map((s) => ({
				json: { ...(s.item as unknown as IDataObject), skipped: { reason: s.reason, detail: s.detail } } as IDataObject,
				pairedItem: { item: indexes[s.sourceIndex] },
			})),
		];
		return [changes, conflicts, skipped];
	}
}

function readOptions(ctx: IExecuteFunctions): ResolveOptions {
	const systems = listParameter(ctx.getNodeParameter('systems', 0));
	const kind = ctx.getNodeParameter('policy', 0) as PolicyKind;
	const priority = kind === 'manual' ? [] : listParameter(ctx.getNodeParameter('priority', 0, ''));
	const unknown = priority.filter((s) => !systems.includes(s));
	if (unknown.length) {
		throw new NodeOperationError(ctx.getNode(), `Priority names systems that are not in "Systems": ${unknown.join(', ')}`, {
			description: `Systems: ${systems.join(', ')}`,
		});
	}
	let policy: MergePolicy;
	if (kind === 'ownership') {
		const rows = (ctx.getNodeParameter('owners', 0, {}) as { owner?: Array<{ field: string; system: string }> }).owner ?? [];
		const owners: Record<string, string> = {};
		for (const [i, row] of rows.entries()) {
			const field = row.field.trim();
			const system = row.system.trim();
			if (!field || !systems.includes(system)) {
				throw new NodeOperationError(ctx.getNode(), `Field Owners row ${i + 1}: needs a field and one of the systems (${systems.join(', ')}), got "${field}" → "${system}"`);
			}
			owners[field] = system;
		}
		policy = { kind, owners, priority };
	} else if (kind === 'manual') {
		policy = { kind };
	} else {
		policy = { kind, priority };
	}
	const extra = ctx.getNodeParameter('options', 0, {}) as { dryRun?: boolean; sensitiveFields?: string };
	return {
		sync: (ctx.getNodeParameter('sync', 0) as string).trim(),
		entity: (ctx.getNodeParameter('entity', 0) as string).trim(),
		runId: runIdOf(ctx),
		systems,
		matchKeys: listParameter(ctx.getNodeParameter('matchKeys', 0, '')),
		policy,
		deletePolicy: ctx.getNodeParameter('deletePolicy', 0) as DeletePolicy,
		emptyValueRule: ctx.getNodeParameter('emptyValueRule', 0) as EmptyValueRule,
		sensitiveFields: listParameter(extra.sensitiveFields ?? ''),
		dryRun: extra.dryRun ?? false,
	};
}
