/**
 * Test layer 2: runs one of our nodes in-process through n8n-core's real WorkflowExecute, so parameter
 * defaults, expressions, pairedItem handling, continueOnFail and the helpers (httpRequestWithAuthentication)
 * behave as in n8n. No n8n server, no database of n8n's own.
 *
 *   const { outputs, error } = await runNode(DataSyncMapper, { parameters, input: [{ json }] });
 */
import { Container } from '@n8n/di';
import { ErrorReporter, ExecutionLifecycleHooks, WorkflowExecute } from 'n8n-core';
import {
	createRunExecutionData,
	ICredentialsHelper,
	Workflow,
	type ICredentialDataDecryptedObject,
	type ICredentials,
	type ICredentialType,
	type IDataObject,
	type IHttpRequestOptions,
	type INode,
	type INodeCredentialsDetails,
	type INodeExecutionData,
	type INodeParameters,
	type INodeProperties,
	type INodeType,
	type INodeTypes,
	type IRequestOptionsSimplified,
	type IRun,
	type IVersionedNodeType,
	type IWorkflowBase,
	type IWorkflowExecuteAdditionalData,
} from 'n8n-workflow';

export interface RunNodeOptions {
	/** Node parameters as they stand in a workflow JSON (expressions allowed). */
	parameters: INodeParameters;
	/** Items into the node's first main input; plain objects are wrapped as `{ json }`. */
	input?: Array<INodeExecutionData | IDataObject>;
	/** Decrypted credential data by credential type name. */
	credentials?: Record<string, ICredentialDataDecryptedObject>;
	/** Credential classes whose `authenticate` is applied by httpRequestWithAuthentication. */
	credentialTypes?: Array<new () => ICredentialType>;
	typeVersion?: number;
	continueOnFail?: boolean;
	/** The node's "On Error" setting; `continueErrorOutput` adds n8n's Error output after the node's own. */
	onError?: INode['onError'];
	/**
	 * The execution id the node sees (`this.getExecutionId()`). Calls with the same id are steps of one
	 * execution (a Resolver, then a Commit): they share its execution context, and so its run id.
	 */
	executionId?: string;
	/**
	 * When the execution started (its execution context's `establishedAt`, ms): another time with an id used
	 * before is another execution with the same id, as in a fresh n8n database. Default: the time of the
	 * first call with this id.
	 */
	startedAt?: number;
}

export interface RunNodeResult {
	/** One array of items per output of the node. */
	outputs: INodeExecutionData[][];
	/** The error the node threw, if any (then `outputs` is empty). */
	error?: Error & { description?: string | null; context?: IDataObject };
	run: IRun;
}

const NODE_NAME = 'Node Under Test';

/** The start time of each execution id seen, so that the steps of one execution share their run id. */
const startTimes = new Map<string, number>();
let lastStart = 0;

function startOf(executionId: string, startedAt?: number): number {
	if (startedAt !== undefined) {
		startTimes.set(executionId, startedAt);
		return startedAt;
	}
	let at = startTimes.get(executionId);
	if (at === undefined) {
		// Distinct start times: two executions of a test never share a run id by chance.
		at = lastStart = Math.max(Date.now(), lastStart + 1);
		startTimes.set(executionId, at);
	}
	return at;
}

/** The run id our nodes use in execution `executionId` of runNode (see nodes/shared/run-id.ts). */
export function runIdOfExecution(executionId: string, startedAt?: number): string {
	return `${executionId}-${startOf(executionId, startedAt).toString(36)}`;
}

// n8n-core reports every node error with its stack through the ErrorReporter; a test reads the error
// from the result instead, so the report is dropped.
Container.set(ErrorReporter, { error: () => {}, warn: () => {}, info: () => {} } as unknown as ErrorReporter);

class TestCredentialsHelper extends ICredentialsHelper {
	constructor(
		private readonly data: Record<string, ICredentialDataDecryptedObject>,
		private readonly types: Map<string, ICredentialType>,
	) {
		super();
	}

	getParentTypes(): string[] {
		return [];
	}

	isCredentialUsableByNode(): boolean {
		return true;
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		requestOptions: IHttpRequestOptions | IRequestOptionsSimplified,
	): Promise<IHttpRequestOptions> {
		const type = this.types.get(typeName);
		const options = requestOptions as IHttpRequestOptions;
		if (!type?.authenticate) return options;
		if (typeof type.authenticate === 'function') return await type.authenticate(credentials, options);
		throw new Error(
			`run-node supports only the function form of "authenticate" (credential type ${typeName}); use stock n8n (acceptance tests) for generic auth`,
		);
	}

	async preAuthentication(): Promise<undefined> {
		return undefined;
	}

	async runPreAuthentication(): Promise<undefined> {
		return undefined;
	}

	async getCredentials(): Promise<ICredentials> {
		throw new Error('run-node: getCredentials is not used by nodes');
	}

	async getDecrypted(
		_additionalData: IWorkflowExecuteAdditionalData,
		_nodeCredentials: INodeCredentialsDetails,
		type: string,
	): Promise<ICredentialDataDecryptedObject> {
		const found = this.data[type];
		if (!found) throw new Error(`run-node: no credentials of type "${type}" were given`);
		return structuredClone(found);
	}

	async updateCredentials(): Promise<void> {}

	async updateCredentialsOauthTokenData(): Promise<void> {}

	getCredentialsProperties(type: string): INodeProperties[] {
		return this.types.get(type)?.properties ?? [];
	}
}

function nodeTypesOf(type: INodeType): INodeTypes {
	const name = type.description.name;
	return {
		getByName: () => type,
		getByNameAndVersion: (n: string) => {
			if (n !== name) throw new Error(`run-node: unknown node type ${n}`);
			return type;
		},
		getKnownTypes: () => ({}),
	} as unknown as INodeTypes;
}

function additionalDataFor(
	hooks: ExecutionLifecycleHooks,
	credentialsHelper: ICredentialsHelper,
	executionId: string,
): IWorkflowExecuteAdditionalData {
	const unused = (what: string) => () => {
		throw new Error(`run-node: ${what} is not available in-process`);
	};
	// Fields n8n-core reads while running a plain node; everything else stays undefined on purpose.
	return {
		hooks,
		credentialsHelper,
		executionId,
		currentNodeExecutionIndex: 0,
		restApiUrl: 'http://127.0.0.1:5678/rest',
		instanceBaseUrl: 'http://127.0.0.1:5678/',
		formBaseUrl: 'http://127.0.0.1:5678/form',
		formWaitingBaseUrl: 'http://127.0.0.1:5678/form-waiting',
		formTestBaseUrl: 'http://127.0.0.1:5678/form-test',
		webhookBaseUrl: 'http://127.0.0.1:5678/webhook',
		webhookWaitingBaseUrl: 'http://127.0.0.1:5678/webhook-waiting',
		webhookTestBaseUrl: 'http://127.0.0.1:5678/webhook-test',
		mcpBaseUrl: 'http://127.0.0.1:5678/mcp',
		mcpTestBaseUrl: 'http://127.0.0.1:5678/mcp-test',
		variables: {},
		userId: 'test-user',
		workflowId: 'test-workflow',
		executeWorkflow: unused('executeWorkflow'),
		getRunExecutionData: async () => undefined,
		getRuntimeCredential: async () => undefined,
		logAiEvent: () => {},
		startRunnerTask: unused('the task runner (Code node)'),
	} as unknown as IWorkflowExecuteAdditionalData;
}

/** Runs `nodeClass` once over `options.input` and returns its outputs (or the error it threw). */
export async function runNode(
	nodeClass: new () => INodeType | IVersionedNodeType,
	options: RunNodeOptions,
): Promise<RunNodeResult> {
	const instance = new nodeClass();
	if (!('description' in instance) || !('properties' in instance.description)) {
		throw new Error('run-node runs plain (non-versioned) node types');
	}
	const nodeType = instance as INodeType;
	const executionId = options.executionId ?? `test-${Math.random().toString(36).slice(2, 10)}`;
	const node: INode = {
		id: 'node-under-test',
		name: NODE_NAME,
		type: nodeType.description.name,
		typeVersion: options.typeVersion ?? (Array.isArray(nodeType.description.version)
			? Math.max(...nodeType.description.version)
			: nodeType.description.version),
		position: [0, 0],
		parameters: options.parameters,
		continueOnFail: options.continueOnFail,
		onError: options.onError,
		credentials: Object.fromEntries(
			Object.keys(options.credentials ?? {}).map((type) => [type, { id: `cred-${type}`, name: type }]),
		),
	};
	const workflow = new Workflow({
		id: 'test-workflow',
		name: 'run-node',
		nodes: [node],
		connections: {},
		active: false,
		nodeTypes: nodeTypesOf(nodeType),
		settings: { executionOrder: 'v1' },
	});

	const types = new Map((options.credentialTypes ?? []).map((C) => {
		const t = new C();
		return [t.name, t] as const;
	}));
	const hooks = new ExecutionLifecycleHooks('manual', executionId, {
		id: 'test-workflow',
		name: 'run-node',
		nodes: [node],
		connections: {},
		active: false,
		settings: {},
	} as unknown as IWorkflowBase);
	let finished: (run: IRun) => void = () => {};
	const done = new Promise<IRun>((resolve) => (finished = resolve));
	hooks.addHandler('workflowExecuteAfter', (run) => finished(run));

	const input = (options.input ?? [{ json: {} }]).map((item, i): INodeExecutionData => {
		const wrapped = 'json' in item && typeof item.json === 'object' ? (item as INodeExecutionData) : { json: item as IDataObject };
		return { ...wrapped, pairedItem: wrapped.pairedItem ?? { item: i } };
	});
	const runExecutionData = createRunExecutionData({
		executionData: {
			nodeExecutionStack: [{ node, data: { main: [input] }, source: null }],
			// As n8n-core's establishExecutionContext sets it at the start of an execution; an execution context
			// already there (a resumed execution) is kept by n8n-core as it is.
			runtimeData: { version: 1, establishedAt: startOf(executionId, options.startedAt), source: 'manual' },
		},
	});
	const additionalData = additionalDataFor(
		hooks,
		new TestCredentialsHelper(options.credentials ?? {}, types),
		executionId,
	);
	const execute = new WorkflowExecute(additionalData, 'manual', runExecutionData);
	await execute.processRunExecutionData(workflow);
	const run = await done;

	const task = run.data.resultData.runData[NODE_NAME]?.[0];
	const error = (task?.error ?? run.data.resultData.error) as RunNodeResult['error'];
	const outputs = (task?.data?.main ?? []).map((items) => items ?? []);
	return { outputs, error, run };
}
