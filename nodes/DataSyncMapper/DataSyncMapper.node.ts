import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { SyncItemError, parseSyncItem } from '../../lib/item';
import {
	MappingConfigError,
	attempt,
	compileMapping,
	compileWrap,
	mapSyncItem,
	shippedMapping,
	type CompiledMapping,
	type CompiledWrap,
	type MapDirection,
} from '../../lib/mapping';
import { mapperProperties } from './description';
import { EditorInputError, editorToDocument, type EditorParameters } from './editor';

/**
 * Maps DataSync items between a system's shape and the canonical shape of one entity, with one mapping
 * per system used both ways. The mapping is read and compiled once per execution (item 0's
 * parameters); each item is then mapped by plain code from lib/mapping. Records that break a rule go
 * to the second output, "Invalid".
 */
export class DataSyncMapper implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'DataSync Mapper',
		name: 'dataSyncMapper',
		icon: { light: 'file:mapper.svg', dark: 'file:mapper.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle:
			'={{$parameter["operation"] === "export" ? "Export mapping" : ($parameter["direction"] === "toCanonical" ? "To canonical" : "From canonical")}}',
		description: 'Map records between each system and the canonical shape, both ways, with checks before write',
		defaults: { name: 'DataSync Mapper' },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Valid', 'Invalid'],
		properties: mapperProperties,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const operation = this.getNodeParameter('operation', 0) as string;

		let mapping: CompiledMapping;
		let wrap: CompiledWrap | undefined;
		let direction: MapDirection = 'toCanonical';
		try {
			mapping = compileMapping(readMappingDocument(this));
			if (operation === 'map') {
				direction = this.getNodeParameter('direction', 0) as MapDirection;
				if (this.getNodeParameter('input', 0) === 'raw') {
					const options = this.getNodeParameter('wrapOptions', 0, {}) as { opField?: string; changedAtField?: string; actorField?: string };
					wrap = compileWrap(
						{
							entity: mapping.entity,
							system: (this.getNodeParameter('wrapSystem', 0) as string).trim(),
							idField: this.getNodeParameter('wrapIdField', 0, '') as string,
							opField: options.opField,
							changedAtField: options.changedAtField,
							actorField: options.actorField,
							shape: direction === 'toCanonical' ? 'system' : 'canonical',
							runId: this.getExecutionId() ?? '',
						},
						mapping,
					);
				}
			}
		} catch (error) {
			if (!(error instanceof MappingConfigError || error instanceof EditorInputError || error instanceof SyncItemError)) {
				throw new NodeOperationError(this.getNode(), error as Error);
			}
			const message = `The mapping cannot be used: ${error.message}`;
			// A mapping that does not compile fails every item alike.
			if (this.continueOnFail()) return [items.map((_, i) => ({ json: { error: message }, pairedItem: { item: i } })), []];
			throw new NodeOperationError(this.getNode(), message, {
				description: 'The mapping is checked once, before any item is mapped. Fix the row or setting named above.',
			});
		}

		if (operation === 'export') {
			return [[{ json: mapping.document as unknown as IDataObject, pairedItem: { item: 0 } }], []];
		}

		const valid: INodeExecutionData[] = [];
		const invalid: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			try {
				const item = wrap ? wrap.wrap(items[i].json, i) : parseSyncItem(items[i].json, i);
				const outcome = mapSyncItem(mapping, item, direction, i);
				(outcome.valid ? valid : invalid).push({ json: outcome.item as unknown as IDataObject, pairedItem: { item: i } });
			} catch (error) {
				if (this.continueOnFail()) {
					valid.push({ json: { error: (error as Error).message }, pairedItem: { item: i } });
					continue;
				}
				if (error instanceof SyncItemError) {
					throw new NodeOperationError(this.getNode(), error.message, {
						itemIndex: i,
						description: `Field "${error.field}" of item ${i}. Items into this node come from DataSync nodes, or use Input "Raw Records (Wrap)" for records from other nodes.`,
					});
				}
				throw new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
			}
		}
		return [valid, invalid];
	}
}

/** The mapping document from the chosen source, read from the parameters of item 0 (once per execution). */
function readMappingDocument(ctx: IExecuteFunctions): unknown {
	const source = ctx.getNodeParameter('mappingSource', 0) as string;
	if (source === 'shipped') {
		const name = ctx.getNodeParameter('shippedMapping', 0) as string;
		const doc = shippedMapping(name);
		if (!doc) throw new MappingConfigError(`there is no shipped mapping "${name}"`);
		return doc;
	}
	if (source === 'json') {
		const raw = ctx.getNodeParameter('mappingJson', 0) as unknown;
		if (typeof raw !== 'string') return raw;
		const parsed = attempt(() => JSON.parse(raw) as unknown);
		if (!parsed.ok) throw new MappingConfigError(`"Mapping (JSON)" is not valid JSON: ${(parsed.error as Error).message}`);
		return parsed.value;
	}
	return editorToDocument({
		entity: ctx.getNodeParameter('entity', 0) as string,
		systems: ctx.getNodeParameter('systems', 0, {}) as EditorParameters['systems'],
		canonicalFields: ctx.getNodeParameter('canonicalFields', 0, {}) as EditorParameters['canonicalFields'],
		sensitiveFields: ctx.getNodeParameter('sensitiveFields', 0, '') as string,
	});
}
