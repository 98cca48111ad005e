import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeParameters,
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
import { runIdOf } from '../shared/run-id';
import { mapperProperties } from './description';
import { EditorInputError, editorToDocument, type EditorParameters } from './editor';

/**
 * Maps DataSync items between a system's shape and the canonical shape of one entity, with one mapping
 * per system used both ways. The mapping is read and compiled once per execution (item 0's
 * parameters); each item is then mapped by plain code from lib/mapping. Records that break a rule go
 * to the second output, "Invalid". With "Output per System" the valid records go instead to one output
 * per listed system (by the item's `system`), "Invalid" last: a built-in route by target system.
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
		// Computed by n8n from the parameters, as the Switch node (v3) does: [Valid, Invalid], or one output per
		// listed system and Invalid last. No `outputNames`: the names are the outputs' display names.
		outputs: `={{(${mapperOutputs})($parameter)}}`,
		properties: mapperProperties,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const operation = this.getNodeParameter('operation', 0) as string;

		// The outputs as n8n computes them from the same parameters, so as many arrays are returned.
		const routeBySystem = operation === 'map' && (this.getNodeParameter('routeBySystem', 0, false) as boolean);
		const outputs = mapperOutputs({
			operation,
			routeBySystem,
			routeSystems: routeBySystem ? (this.getNodeParameter('routeSystems', 0, '') as string) : '',
		});
		const invalidOutput = outputs.length - 1;
		/** Output index by system name, when routing. */
		const routes = new Map(routeBySystem ? outputs.slice(0, -1).map((o, index) => [o.displayName, index] as const) : []);
		const emptyOutputs = () => outputs.map((): INodeExecutionData[] => []);

		let mapping: CompiledMapping;
		let wrap: CompiledWrap | undefined;
		let direction: MapDirection = 'toCanonical';
		try {
			mapping = compiledMapping(this);
			if (routeBySystem) checkRoutes([...routes.keys()], mapping);
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
							runId: runIdOf(this),
						},
						mapping,
					);
				}
			}
		} catch (error) {
			if (!(error instanceof MappingConfigError || error instanceof EditorInputError || error instanceof SyncItemError || error instanceof RouteConfigError)) {
				throw new NodeOperationError(this.getNode(), error as Error);
			}
			const message = error instanceof RouteConfigError ? error.message : `The mapping cannot be used: ${error.message}`;
			// A mapping that does not compile fails every item alike: on the first output (Valid), or when
			// routing on Invalid, as no system's output is the place for an error.
			if (this.continueOnFail()) {
				const result = emptyOutputs();
				result[routeBySystem ? invalidOutput : 0] = items.map((_, i) => ({ json: { error: message }, pairedItem: { item: i } }));
				return result;
			}
			throw new NodeOperationError(this.getNode(), message, {
				description: 'The mapping is checked once, before any item is mapped. Fix the row or setting named above.',
			});
		}

		if (operation === 'export') {
			// A copy: the compiled mapping is shared by later executions, the item may be changed downstream.
			return [[{ json: structuredClone(mapping.document) as unknown as IDataObject, pairedItem: { item: 0 } }], []];
		}

		const result = emptyOutputs();
		for (let i = 0; i < items.length; i++) {
			try {
				const item = wrap ? wrap.wrap(items[i].json, i) : parseSyncItem(items[i].json, i);
				const outcome = mapSyncItem(mapping, item, direction, i);
				let output = outcome.valid ? 0 : invalidOutput;
				if (routeBySystem) {
					const route = routes.get(outcome.item.system);
					if (route === undefined) throw new UnroutedItemError(i, outcome.item.system, [...routes.keys()]);
					if (outcome.valid) output = route;
				}
				result[output].push({ json: outcome.item as unknown as IDataObject, pairedItem: { item: i } });
			} catch (error) {
				if (this.continueOnFail()) {
					// Without routing an error item goes to the first output as before; with routing to Invalid,
					// never to a system's write.
					result[routeBySystem ? invalidOutput : 0].push({ json: { error: (error as Error).message }, pairedItem: { item: i } });
					continue;
				}
				if (error instanceof UnroutedItemError) {
					throw new NodeOperationError(this.getNode(), error.message, {
						itemIndex: i,
						description: `"Output per System" has one output per system listed under "Systems". Add "${error.system}" there, or keep items of "${error.system}" away from this node.`,
					});
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
		return result;
	}
}

/**
 * The Mapper's outputs for its parameters: "Valid" and "Invalid"; or, for Map Records with Output per
 * System, one output per system listed under Systems (comma- or newline-separated, in the order given,
 * each once) and "Invalid" last.
 *
 * n8n runs this function's source text in its expression sandbox (the `outputs` expression above) to
 * draw and connect the outputs, and `execute` calls it to return as many outputs. So, once compiled, it
 * must be self-contained plain JavaScript: no imports, module constants or helpers (a reference the
 * sandbox cannot resolve makes n8n show no outputs at all), no ".constructor", and never two braces in a
 * row, which would end the `{{ }}` expression early. test/nodes/mapper.test.ts evaluates it as n8n does.
 */
export function mapperOutputs(parameters: INodeParameters): Array<{ type: 'main'; displayName: string }> {
	const invalid = { type: 'main' as const, displayName: 'Invalid' };
	if (parameters.operation === 'export' || parameters.routeBySystem !== true) {
		return [{ type: 'main' as const, displayName: 'Valid' }, invalid];
	}
	const systems: string[] = [];
	const listed = typeof parameters.routeSystems === 'string' ? parameters.routeSystems : '';
	for (const part of listed.split(/[,\n]/)) {
		const name = part.trim();
		if (name !== '' && !systems.includes(name)) systems.push(name);
	}
	return systems.map((name) => ({ type: 'main' as const, displayName: name })).concat([invalid]);
}

/** A valid item of a system that "Output per System" has no output for. */
class UnroutedItemError extends Error {
	constructor(
		readonly index: number,
		readonly system: string,
		listed: string[],
	) {
		super(`item ${index} is for system "${system}", which is not one of the Systems of "Output per System" (${listed.map((s) => `"${s}"`).join(', ')})`);
	}
}

/** A "Systems" list of Output per System that cannot be used. */
class RouteConfigError extends Error {}

/** The Systems of Output per System: at least one, each one the mapping maps (a typo would be an output that never gets an item). */
function checkRoutes(systems: string[], mapping: CompiledMapping): void {
	if (systems.length === 0) throw new RouteConfigError('"Output per System" is on but "Systems" lists no system (e.g. "crm, erp")');
	const unknown = systems.filter((s) => !mapping.systems.has(s));
	if (unknown.length > 0) {
		throw new RouteConfigError(
			`"Systems" of "Output per System" lists ${unknown.map((s) => `"${s}"`).join(', ')}, which the mapping does not map (it maps ${[...mapping.systems.keys()].map((s) => `"${s}"`).join(', ')})`,
		);
	}
}

/**
 * Compiled mappings by their source text (the JSON, the shipped mapping's name or the editor's parameters),
 * shared by every execution of this process: the same mapping is parsed and compiled once, not once per
 * execution (about 0.3 ms for the templates' mapping, paid on every real-time change otherwise). A
 * compiled mapping is read-only; a changed mapping has another text and is compiled anew.
 */
const compiledMappings = new Map<string, CompiledMapping>();
const MAX_COMPILED_MAPPINGS = 64;

/** The compiled mapping from the chosen source, read from the parameters of item 0 (once per execution). */
function compiledMapping(ctx: IExecuteFunctions): CompiledMapping {
	const { key, read } = mappingSource(ctx);
	const known = compiledMappings.get(key);
	if (known) {
		// Most recently used last: the first entry is the one to drop when full.
		compiledMappings.delete(key);
		compiledMappings.set(key, known);
		return known;
	}
	const mapping = compileMapping(read());
	compiledMappings.set(key, mapping);
	if (compiledMappings.size > MAX_COMPILED_MAPPINGS) compiledMappings.delete(compiledMappings.keys().next().value as string);
	return mapping;
}

/** The mapping source as a cache key, and how to read its document. */
function mappingSource(ctx: IExecuteFunctions): { key: string; read: () => unknown } {
	const source = ctx.getNodeParameter('mappingSource', 0) as string;
	if (source === 'shipped') {
		const name = ctx.getNodeParameter('shippedMapping', 0) as string;
		return {
			key: `shipped\u0000${name}`,
			read: () => {
				const doc = shippedMapping(name);
				if (!doc) throw new MappingConfigError(`there is no shipped mapping "${name}"`);
				return doc;
			},
		};
	}
	if (source === 'json') {
		const raw = ctx.getNodeParameter('mappingJson', 0) as unknown;
		if (typeof raw !== 'string') return { key: `json\u0000${JSON.stringify(raw)}`, read: () => raw };
		return {
			key: `json\u0000${raw}`,
			read: () => {
				const parsed = attempt(() => JSON.parse(raw) as unknown);
				if (!parsed.ok) throw new MappingConfigError(`"Mapping (JSON)" is not valid JSON: ${(parsed.error as Error).message}`);
				return parsed.value;
			},
		};
	}
	const parameters: EditorParameters = {
		entity: ctx.getNodeParameter('entity', 0) as string,
		systems: ctx.getNodeParameter('systems', 0, {}) as EditorParameters['systems'],
		canonicalFields: ctx.getNodeParameter('canonicalFields', 0, {}) as EditorParameters['canonicalFields'],
		sensitiveFields: ctx.getNodeParameter('sensitiveFields', 0, '') as string,
	};
	return { key: `editor\u0000${JSON.stringify(parameters)}`, read: () => editorToDocument(parameters) };
}
