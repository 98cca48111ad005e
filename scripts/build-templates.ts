/**
 * Writes the workflow templates in workflows/*.json (shipped in dist/workflows by gulp). The JSON files
 * are what users import; this script only keeps their many nodes consistent (names, credentials,
 * parameters, canvas positions). After changing it:
 *
 *   npx node -r ./scripts/register-ts.js scripts/build-templates.ts
 *
 * Every template uses the DataSync nodes as users get them (`n8n-nodes-datasync.*`, typeVersion 1; the
 * DataSync Trigger at 1.1, whose webhook n8n answers without evaluating an expression per request),
 * references credentials by name with placeholder ids, and explains itself in sticky notes.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT } from '../test/acceptance/harness';
import { TEMPLATE_CREDENTIALS, templateContactMapping } from './template-mapping';

type Json = Record<string, unknown>;
type Position = [number, number];

interface Node {
	id: string;
	name: string;
	type: string;
	typeVersion: number;
	position: Position;
	parameters: Json;
	credentials?: Record<string, { id: string; name: string }>;
	webhookId?: string;
	alwaysOutputData?: boolean;
	executeOnce?: boolean;
	disabled?: boolean;
	onError?: 'continueErrorOutput' | 'continueRegularOutput' | 'stopWorkflow';
}

const DS = 'n8n-nodes-datasync.';
const MAPPING_JSON = JSON.stringify(templateContactMapping(), null, 2);

/** Stable ids, so re-running the script gives the same files. */
function stableId(template: string, name: string): string {
	const h = createHash('sha1').update(`${template}/${name}`).digest('hex');
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const cred = {
	store: { dataSyncStoreApi: TEMPLATE_CREDENTIALS.store },
	sqlA: { dataSyncSqlApi: TEMPLATE_CREDENTIALS.systemA },
	sqlB: { dataSyncSqlApi: TEMPLATE_CREDENTIALS.systemB },
	restC: { dataSyncRestApi: TEMPLATE_CREDENTIALS.systemC },
	secretA: { dataSyncWebhookApi: TEMPLATE_CREDENTIALS.secretA },
	secretB: { dataSyncWebhookApi: TEMPLATE_CREDENTIALS.secretB },
	secretC: { dataSyncWebhookApi: TEMPLATE_CREDENTIALS.secretC },
	// n8n's own SMTP credential, for the Send Email node of the alerts.
	smtp: { smtp: { id: 'datasync-smtp', name: 'SMTP (alert e-mails)' } },
};

/** The tables and the REST collection the templates name: the CRM (A), the ERP (B) and the shop (C). */
const TABLE = {
	crm: { entity: 'contact', system: 'crm', table: 'crm_contacts', idColumn: 'id', updatedAtColumn: 'updatedAt', actorColumn: 'modifiedBy' },
	erp: { entity: 'contact', system: 'erp', table: 'erp_contacts', idColumn: 'contact_id', updatedAtColumn: 'changed_at', actorColumn: 'modified_by' },
};
const SHOP = {
	entity: 'contact',
	system: 'shop',
	collectionPath: '/contacts',
	idField: 'id',
	updatedAtField: 'updated_at',
	actorField: 'updated_by',
};
const SHOP_LIST = {
	updatedSinceParam: 'updated_since',
	updatedSinceFormat: 'ms',
	pagination: 'page',
	pageParam: 'page',
	pageStart: 1,
	pageSize: 100,
	pageSizeParam: 'limit',
	itemsPath: 'data',
	maxPages: 50,
};

class Builder {
	readonly nodes: Node[] = [];

	readonly connections: Record<string, { main: Array<Array<{ node: string; type: 'main'; index: number }>> }> = {};

	constructor(readonly template: string) {}

	add(name: string, type: string, typeVersion: number, position: Position, parameters: Json, extra: Partial<Node> = {}): string {
		this.nodes.push({ id: stableId(this.template, name), name, type, typeVersion, position, parameters, ...extra });
		return name;
	}

	ds(name: string, node: string, position: Position, parameters: Json, credentials?: Node['credentials']): string {
		return this.add(name, DS + node, 1, position, parameters, credentials ? { credentials } : {});
	}

	note(name: string, position: Position, size: [number, number], content: string, color = 7): void {
		this.add(name, 'n8n-nodes-base.stickyNote', 1, position, { content, width: size[0], height: size[1], color });
	}

	connect(from: string, to: string, output = 0): void {
		const main = (this.connections[from] ??= { main: [] }).main;
		while (main.length <= output) main.push([]);
		main[output].push({ node: to, type: 'main', index: 0 });
	}

	chain(...names: string[]): void {
		for (let i = 1; i < names.length; i++) this.connect(names[i - 1], names[i]);
	}

	workflow(name: string, settings: Json = {}): Json {
		return {
			// A fixed 16-character id, as n8n exports carry: `n8n import:workflow` needs one (importing again
			// updates that workflow); the editor's import gives the workflow a new id anyway.
			id: createHash('sha1').update(`template/${this.template}`).digest('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 16),
			name,
			nodes: this.nodes,
			connections: this.connections,
			settings: { executionOrder: 'v1', ...settings },
			pinData: {},
			// No tags: n8n's CLI creates a tag per imported file and fails on the second file with the same tag.
			meta: { templateCredsSetupCompleted: false, templateId: `n8n-nodes-datasync/${this.template}` },
		};
	}
}

// ---------------------------------------------------------------------------------------------------------
// Pieces every sync template shares.

function trigger(b: Builder, name: string, system: 'crm' | 'erp' | 'shop', position: Position, credentials: Node['credentials']): string {
	// The replay guard in the sync store: a replay is refused by every webhook process (queue mode) alike.
	const n = b.ds(
		name,
		'dataSyncTrigger',
		position,
		{ path: `datasync/${system}/contact`, entity: 'contact', system, replayGuard: 'store', options: {} },
		{ ...credentials, ...cred.store },
	);
	const node = b.nodes[b.nodes.length - 1];
	node.webhookId = stableId(b.template, `${name}/webhook`);
	// 1.2 (1.1 and later): n8n skips the per-request expression it evaluates for webhook nodes of version 1 (~40 ms).
	node.typeVersion = 1.2;
	return n;
}

/**
 * The database way in, shipped disabled: a DataSync Database Trigger on the system's table (Postgres
 * LISTEN/NOTIFY, or a read every few seconds for MySQL / MariaDB), for a system whose application sends no
 * webhooks. Enabled, it replaces the 5-minute wait of the poll; the poll stays as the safety net.
 */
function databaseTrigger(b: Builder, name: string, system: 'crm' | 'erp', position: Position, sync = 'contacts'): string {
	const n = b.ds(name, 'dataSyncDatabaseTrigger', position, { ...TABLE[system], sync, pageSize: 5000, installTrigger: false, safetySeconds: 60, pollSeconds: 5, options: {} }, {
		...(system === 'crm' ? cred.sqlA : cred.sqlB),
		...cred.store,
	});
	b.nodes[b.nodes.length - 1].disabled = true;
	return n;
}

function schedule(b: Builder, name: string, position: Position, rule: Json): string {
	return b.add(name, 'n8n-nodes-base.scheduleTrigger', 1.2, position, { rule: { interval: [rule] } });
}

function getChanges(b: Builder, name: string, system: 'crm' | 'erp', position: Position, sync = 'contacts'): string {
	return b.ds(name, 'dataSyncDatabase', position, { operation: 'getChanges', ...TABLE[system], sync, cursorSource: 'store', pageSize: 5000 }, {
		...(system === 'crm' ? cred.sqlA : cred.sqlB),
		...cred.store,
	});
}

/** The letter a system has in the templates' names: A (the CRM), B (the ERP), C (the shop). */
const LETTER = { crm: 'A', erp: 'B', shop: 'C' } as const;

/**
 * The manual refresh, page by page: "Refresh (manual)" runs a loop of calls of this same workflow, one
 * sub-workflow execution per page of 5,000 (as the nightly batch), so no execution holds a whole table. Per
 * system in turn: its pages (keyset on the ID after `afterId`; the shop by page number), then, for a SQL
 * system, its deletes (DataSync Database "Find Deletes": every record the store links there, looked up in
 * the table by ID a page at a time; one the table no longer holds is a delete, wherever it sat). Each page
 * goes through `hub` (the Loop Guard of the flow every other change takes); its summary, run last, tells
 * the loop where to go on. The Page Size of each reader is the one place to change it.
 */
function pagedRefresh(b: Builder, systems: Array<'crm' | 'erp' | 'shop'>, hub: string, at: { manual: Position; handler: Position }): void {
	const manual = b.add('Refresh (manual)', 'n8n-nodes-base.manualTrigger', 1, at.manual, {});
	const steps: PageStep[] = [];
	const readers: Array<() => string> = [];
	for (const system of systems) {
		const x = LETTER[system];
		const first = steps.length === 0;
		const r = `$('Get page from ${x}')`;
		steps.push({
			start: first ? `Refresh ${x}` : `Then ${x}`,
			request: `{ "step": "page", "system": "${system}", "afterId": "" }`,
			call: `Refresh a page of ${x}`,
			moreNode: `More pages of ${x}?`,
			moreCondition: moreFlag(b, `more-pages-${system}`),
			label: `Page of ${x}`,
			value: `page ${system}`,
			reader: `Get page from ${x}`,
			summary: `Page summary ${x}`,
			fields: `"step": "page", "system": "${system}"`,
			// The shop is listed by page number: a call reads Max Pages pages of Page Size records.
			...(system === 'shop'
				? {
						next: `String((Number($('When called for a page').first().json.afterId) || ${SHOP_LIST.pageStart}) + ${r}.params.maxPages)`,
						moreWhen: `${r}.all().length >= ${r}.params.pageSize * ${r}.params.maxPages`,
					}
				: { moreWhen: `${r}.all().length >= ${r}.params.pageSize` }),
		});
		readers.push(() =>
			system === 'shop'
				? b.ds(`Get page from ${x}`, 'dataSyncHttpApi', [0, 0], { operation: 'list', ...SHOP, cursorSource: 'none', ...SHOP_LIST, pageStart: '={{ Number($json.afterId) || 1 }}' }, cred.restC)
				: b.ds(`Get page from ${x}`, 'dataSyncDatabase', [0, 0], { operation: 'getMany', ...TABLE[system], returnAll: false, pageSize: 5000, afterId: '={{ $json.afterId }}' }, system === 'crm' ? cred.sqlA : cred.sqlB),
		);
		if (system === 'shop') continue;
		const d = `$('Find deletes in ${x}')`;
		steps.push({
			start: `Then deletes in ${x}`,
			request: `{ "step": "deletes", "system": "${system}", "afterId": "" }`,
			call: `Find a page of deletes in ${x}`,
			moreNode: `More deletes in ${x}?`,
			moreCondition: moreFlag(b, `more-deletes-${system}`),
			label: `Deletes in ${x}`,
			value: `deletes ${system}`,
			reader: `Find deletes in ${x}`,
			summary: `Deletes summary ${x}`,
			fields: `"step": "deletes", "system": "${system}"`,
			moreWhen: `${d}.all().length >= ${d}.params.pageSize`,
		});
		readers.push(() =>
			b.ds(`Find deletes in ${x}`, 'dataSyncDatabase', [0, 0], { operation: 'findDeletes', ...TABLE[system], sync: 'contacts', pageSize: 5000, afterId: '={{ $json.afterId }}' }, {
				...(system === 'crm' ? cred.sqlA : cred.sqlB),
				...cred.store,
			}),
		);
	}
	const [mx, my] = at.manual;
	pageLoop(b, manual, steps, [mx + 220, my], noOp(b, 'Refresh done', [mx + 220 + 660 * steps.length, my + 100 * steps.length]));

	const [hx, hy] = at.handler;
	b.note('Refresh page handler', [hx - 460, hy - 160], [1600, 100], '### Refresh, one page (a sub-workflow execution of its own): *Refresh (manual)* calls this same workflow per page; the page goes through the Loop Guard like every other change, and its summary `{ step, system, afterId, count, more }` tells the loop what comes next', 7);
	// Each reader, then its summary below it (a summary runs after the hub: lower on the canvas than the Loop Guard).
	readers.forEach((read, i) => {
		read();
		b.nodes[b.nodes.length - 1].position = [hx + 440, hy + 140 * i];
	});
	pageHandler(b, { trigger: 'When called for a page', which: 'Which page?' }, "={{ $json.step + ' ' + $json.system }}", steps, { trigger: [hx, hy + 140], which: [hx + 220, hy + 140] }, hub);
	steps.forEach((step, i) => pageSummary(b, step, [hx + 700, hy + 140 * i]));
}

/** The write node's options in a one-way template (see unidirectional). */
const ONE_WAY: Json = { options: { matchColumns: 'email', conditional: false } };

function write(b: Builder, name: string, system: 'crm' | 'erp', position: Position, extra: Json = {}): string {
	// Match Columns: a create first looks for the contact by e-mail in the target (systems that already share
	// contacts are linked, and a create whose Commit was lost is found, not inserted twice).
	return b.ds(name, 'dataSyncDatabase', position, { operation: 'upsert', ...TABLE[system], deleteMode: 'hard', options: { matchColumns: 'email' }, ...extra }, system === 'crm' ? cred.sqlA : cred.sqlB);
}

function guard(b: Builder, position: Position, sync = 'contacts'): string {
	return b.ds('Loop Guard', 'dataSyncLoopGuard', position, { sync, ownActor: 'datasync', writtenHashCheck: true, duplicateWindowSeconds: 300, maxHops: 3, limits: {} }, cred.store);
}

/**
 * A Mapper over the template's mapping. With `route`, one output per target system in that order (then
 * Invalid): the "From canonical" Mapper sends each planned change straight to its system's write node,
 * with no per-item expression (a Switch on \`$json.system\` cost about 2 ms an item).
 */
function mapper(b: Builder, name: string, direction: 'toCanonical' | 'fromCanonical', position: Position, route?: string[]): string {
	return b.ds(name, 'dataSyncMapper', position, {
		operation: 'map',
		direction,
		input: 'items',
		...(route ? { routeBySystem: true, routeSystems: route.join(', ') } : {}),
		mappingSource: 'json',
		mappingJson: MAPPING_JSON,
	});
}

function resolver(b: Builder, position: Position, systems: string, priority: string, sync = 'contacts', extra: Json = {}): string {
	return b.ds(
		'Conflict Resolver',
		'dataSyncConflictResolver',
		position,
		{ sync, entity: 'contact', systems, matchKeys: 'email', policy: 'priority', priority, deletePolicy: 'propagate', emptyValueRule: 'keep', options: {}, ...extra },
		cred.store,
	);
}

function commit(b: Builder, position: Position, sync = 'contacts', name = 'Commit'): string {
	return b.ds(name, 'dataSyncStore', position, { operation: 'commit', sync }, cred.store);
}

/**
 * Where the *To canonical* Mapper's Invalid output goes: Store "Record Invalid" audits each refused record
 * (naming its fields) and counts it, so the dashboard shows it; the items pass on, for an alert.
 */
function invalidRecords(b: Builder, position: Position, sync = 'contacts'): string {
	return b.ds('Invalid records', 'dataSyncStore', position, { operation: 'recordInvalid', sync }, cred.store);
}

function noOp(b: Builder, name: string, position: Position): string {
	return b.add(name, 'n8n-nodes-base.noOp', 1, position, {});
}

function condition(id: string, left: string, operation: string, right: unknown, type = 'string'): Json {
	return { id, leftValue: left, rightValue: right, operator: { type, operation } };
}

/**
 * The hub every change goes through: Loop Guard → To canonical (Invalid aside) → Conflict Resolver
 * (Conflicts, Skipped aside) → From canonical, one output per system in the order of `writes` → each
 * system's write node → Commit.
 */
function hub(
	b: Builder,
	n: { guard: string; toCanonical: string; invalid: string; resolver: string; conflicts: string; skipped: string; fromCanonical: string; writes: string[]; commit: string },
): void {
	b.chain(n.guard, n.toCanonical, n.resolver);
	b.connect(n.toCanonical, n.invalid, 1);
	b.connect(n.resolver, n.fromCanonical, 0);
	b.connect(n.resolver, n.conflicts, 1);
	b.connect(n.resolver, n.skipped, 2);
	n.writes.forEach((w, i) => b.connect(n.fromCanonical, w, i));
	for (const w of n.writes) b.connect(w, n.commit);
	// A planned change the target's mapping refuses: Commit records it (audit, naming the fields) and the
	// run does not wait for it, so the poll is not held back by one bad record.
	b.connect(n.fromCanonical, n.commit, n.writes.length);
	// Writes refused as stale and planned again from the golden record go round once more.
	b.connect(n.commit, n.fromCanonical, 1);
}

// ---------------------------------------------------------------------------------------------------------
// Page by page: a run in bounded memory (the nightly batch, the manual refresh). n8n keeps every item of an
// execution until it ends, so the run is a loop of calls of this same workflow, one sub-workflow execution
// per page, each returning a one-line summary; the loop holds only those.

/** One step of a run page by page: what the parent loop sends, and the sub-workflow's node that reads it. */
interface PageStep {
	/** The Set node that starts the step, and the request it sends (JSON text: the switch's fields, afterId ''). */
	start: string;
	request: string;
	/** The Execute Workflow node that runs one page, and the If node that calls it again while pages come back full. */
	call: string;
	moreNode: string;
	/** The If node's condition: the summary says another page follows. */
	moreCondition: Json;
	/** The sub-workflow's Switch output for this step: its label and the value of the switch's key. */
	label: string;
	value: string;
	/** The node that reads one page (output to the hub), its summary node, and the summary's fields (JSON text). */
	reader: string;
	summary: string;
	fields: string;
	/** The page's position for the next call; default: the last record's id. */
	next?: string;
	/** Whether another page follows, for the summary's "more" (none: the If decides by the count). */
	moreWhen?: string;
}

function callThisWorkflow(b: Builder, name: string, position: Position): string {
	// Always an item out, so an empty last page still ends the loop on "false" (and the run goes on).
	return b.add(
		name,
		'n8n-nodes-base.executeWorkflow',
		1.2,
		position,
		{ source: 'database', workflowId: { __rl: true, value: '={{ $workflow.id }}', mode: 'id', cachedResultName: 'this workflow' }, mode: 'once', options: { waitForSubWorkflow: true } },
		{ alwaysOutputData: true },
	);
}

/**
 * The parent's loop, from `from`: per step a Set (the step's first request) → a call of this workflow (one
 * page) → "More …?" (true: call again with the summary as the request; false: the next step), then `done`.
 * Step i sits 660 to the right of and 100 below step i - 1.
 */
function pageLoop(b: Builder, from: string, steps: PageStep[], origin: Position, done: string): void {
	let previous = from;
	steps.forEach((step, i) => {
		const [x, y] = [origin[0] + 660 * i, origin[1] + 100 * i];
		b.add(step.start, 'n8n-nodes-base.set', 3.4, [x, y], { mode: 'raw', jsonOutput: step.request, options: {} });
		callThisWorkflow(b, step.call, [x + 220, y]);
		b.add(step.moreNode, 'n8n-nodes-base.if', 2.2, [x + 440, y], step.moreCondition);
		b.connect(previous, step.start, i === 0 ? 0 : 1);
		b.chain(step.start, step.call, step.moreNode);
		b.connect(step.moreNode, step.call, 0);
		previous = step.moreNode;
	});
	b.connect(previous, done, 1);
}

/** An If on the summary's count: a full page (count ≥ `pageSize`) means another may follow. */
function countAtLeast(b: Builder, id: string, pageSize: number): Json {
	return {
		conditions: {
			options: { caseSensitive: true, leftValue: '', typeValidation: 'loose', version: 2 },
			conditions: [condition(stableId(b.template, id), '={{ $json.count ?? 0 }}', 'gte', pageSize, 'number')],
			combinator: 'and',
		},
		options: {},
	};
}

/** An If on the summary's "more" (the summary compares its count with its reader's page size). */
function moreFlag(b: Builder, id: string): Json {
	return {
		conditions: {
			options: { caseSensitive: true, leftValue: '', typeValidation: 'loose', version: 2 },
			conditions: [condition(stableId(b.template, id), '={{ $json.more ?? false }}', 'true', '', 'boolean')],
			combinator: 'and',
		},
		options: {},
	};
}

/**
 * The sub-workflow's side: "When called for a page" → a Switch on `key` (one output per step, in order) →
 * each step's reader, whose items go on to `hub` (the same path as every other change) and whose summary
 * (executed once, after the hub: it sits below it on the canvas) is what the call returns.
 */
function pageHandler(b: Builder, names: { trigger: string; which: string }, key: string, steps: PageStep[], at: { trigger: Position; which: Position }, hub: string): void {
	const called = b.add(names.trigger, 'n8n-nodes-base.executeWorkflowTrigger', 1.1, at.trigger, { inputSource: 'passthrough' });
	const which = b.add(names.which, 'n8n-nodes-base.switch', 3.2, at.which, {
		rules: {
			values: steps.map((step, i) => ({
				conditions: {
					options: { caseSensitive: true, leftValue: '', typeValidation: 'strict', version: 2 },
					conditions: [condition(stableId(b.template, `which-${i}`), key, 'equals', step.value)],
					combinator: 'and',
				},
				renameOutput: true,
				outputKey: step.label,
			})),
		},
		options: {},
	});
	b.chain(called, which);
	steps.forEach((step, i) => {
		b.connect(which, step.reader, i);
		b.connect(step.reader, hub);
		b.connect(step.reader, step.summary);
	});
}

/** A page's summary, once per page: its fields, the position to go on from, the count (and "more"). */
function pageSummary(b: Builder, step: PageStep, position: Position): string {
	const r = `$('${step.reader}')`;
	const more = step.moreWhen ? `, "more": ${step.moreWhen}` : '';
	return b.add(
		step.summary,
		'n8n-nodes-base.set',
		3.4,
		position,
		{ mode: 'raw', jsonOutput: `={{ { ${step.fields}, "afterId": ${step.next ?? `${r}.last().json.id`}, "count": ${r}.all().length${more} } }}`, options: {} },
		{ executeOnce: true },
	);
}

const NOTE_CREDENTIALS = `## Credentials to set
Open each DataSync node with a red credential and pick or create:
- **DataSync store**: the central sync store (SQLite file on the n8n host, or Postgres for queue mode). One store for every workflow of the sync.
- **System A (CRM database)**, **System B (ERP database)**: *DataSync SQL System* (Postgres, MySQL/MariaDB or an SQLite file).
- **Webhook secret: …**: *DataSync Webhook Signing Secret*, the secret each system signs its change notifications with.`;

const NOTE_TABLES = `## Tables and names to change
- **Table**, **ID Column**, **Updated-At Column**, **Actor Column** in every *Get changes / Get all / Write* node (here \`crm_contacts\` / \`erp_contacts\`).
- **System** names \`crm\`, \`erp\` are used everywhere (Trigger, Database, Resolver *Systems* and *Priority*, the *From canonical* Mapper's *Output Systems* and the mapping). Rename them together or keep them.
- **Mapping**: the *To canonical* / *From canonical* Mappers carry the mapping JSON (CRM camelCase and ISO dates ↔ ERP snake_case and dd/MM/yyyy). Edit it to your columns, or switch *Mapping Source* to *Shipped Mapping*.
- **Sync Name** \`contacts\`: the same in Loop Guard, Resolver, Get changes and Commit.`;

const NOTE_POLICY = `## Policy: "System A wins"
*Conflict Resolver* → **Conflict Policy: System Priority**, **Priority: crm, erp** (A first). Other choices: Last Write Wins, Field Ownership (e.g. creditLimit belongs to the ERP), Manual Review.
**Delete Policy: Propagate** (a delete in one system deletes the record in the other); or Soft Delete, Hold for Approval, Ignore.
Wire **Conflicts** to Slack / e-mail / a ticket to hear about them; they stay in the store (Store → List Conflicts).`;

// ---------------------------------------------------------------------------------------------------------

function bidirectional(): Json {
	const b = new Builder('bidirectional-contacts');
	b.note('About this template', [-420, -560], [760, 380], `# Contacts A ↔ B (bidirectional)
Keeps contacts in step between **System A** (a CRM in Postgres) and **System B** (an ERP in MariaDB/MySQL), both ways, through the DataSync store.

Three ways in, one path through:
1. **Real time**: each system POSTs its changes, signed, to its *DataSync Trigger* (\`{n8n}/webhook/datasync/crm/contact\`, \`…/erp/contact\`). Publish the workflow to make them live.
2. **Backup poll** every 5 minutes: *Get changes* reads what a webhook missed, after the store's cursor.
3. **Manual refresh**: click *Execute workflow* on *Refresh (manual)* to compare every record (reconcile), page by page: one sub-workflow execution per page of 5,000 (*When called for a page*, below), so memory stays bounded; hard deletes are found by *Find deletes in A / B*.
4. **Database way in** (disabled): when an application sends no webhooks, enable *A changed (database)* / *B changed (database)*, the *DataSync Database Trigger*: Postgres notifies each change (turn on *Install Trigger Function* or run the SQL it shows), MySQL/MariaDB is read every 5 s.

Loop Guard drops our own echoes and duplicate deliveries; the Resolver keeps one golden record and decides conflicts; Commit stores links, cursors and the audit.`, 4);
	b.note('Credentials', [360, -560], [520, 380], NOTE_CREDENTIALS, 3);
	b.note('Tables and names', [900, -560], [620, 380], NOTE_TABLES, 5);
	b.note('Policy', [1540, -560], [520, 380], NOTE_POLICY, 6);

	const tA = trigger(b, 'A changed (webhook)', 'crm', [0, -120], cred.secretA);
	const tB = trigger(b, 'B changed (webhook)', 'erp', [0, 60], cred.secretB);
	const dA = databaseTrigger(b, 'A changed (database)', 'crm', [-240, -120]);
	const dB = databaseTrigger(b, 'B changed (database)', 'erp', [-240, 60]);
	const every = schedule(b, 'Every 5 minutes (backup poll)', [0, 280], { field: 'minutes', minutesInterval: 5 });
	const gA = getChanges(b, 'Get changes from A', 'crm', [240, 220]);
	const gB = getChanges(b, 'Get changes from B', 'erp', [240, 360]);
	const g = guard(b, [720, 200]);
	const toC = mapper(b, 'To canonical', 'toCanonical', [940, 200]);
	const r = resolver(b, [1160, 200], 'crm, erp', 'crm, erp');
	const fromC = mapper(b, 'From canonical', 'fromCanonical', [1400, 120], ['crm', 'erp']);
	const wA = write(b, 'Write to A', 'crm', [1640, 20]);
	const wB = write(b, 'Write to B', 'erp', [1640, 220]);
	const c = commit(b, [1880, 120]);
	const conflicts = noOp(b, 'Conflicts: alert or review', [1400, 340]);
	const skipped = noOp(b, 'Skipped: echoes and no-ops', [1400, 520]);
	const invalid = invalidRecords(b, [1160, 440]);

	b.connect(tA, g);
	b.connect(tB, g);
	b.connect(dA, g);
	b.connect(dB, g);
	b.connect(every, gA);
	b.connect(every, gB);
	b.connect(gA, g);
	b.connect(gB, g);
	hub(b, { guard: g, toCanonical: toC, invalid, resolver: r, conflicts, skipped, fromCanonical: fromC, writes: [wA, wB], commit: c });
	pagedRefresh(b, ['crm', 'erp'], g, { manual: [0, 700], handler: [0, 1300] });
	return b.workflow('DataSync: contacts A ↔ B (bidirectional)', { callerPolicy: 'workflowsFromSameOwner' });
}

function triDirectional(): Json {
	const b = new Builder('tri-directional-contacts');
	b.note('About this template', [-420, -600], [760, 420], `# Contacts A ↔ B ↔ C (hub and spoke)
The bidirectional template with a third spoke: **System C**, a REST shop, through *DataSync HTTP API*.
Every system maps to one canonical contact, so three systems need three mappings, not six. A change from any system is merged into the golden record once and written to the two others.

- Real time: three *DataSync Triggers* (\`…/webhook/datasync/crm/contact\`, \`…/erp/contact\`, \`…/shop/contact\`).
- Backup poll every 5 minutes: *Get changes* (A, B) and *List changes from C* (updated-since after the store's cursor).
- Manual refresh: *Refresh (manual)* reads everything, page by page (a sub-workflow execution per page), finds the hard deletes in A and B, and writes only what differs.

Tell the shop to skip notifications for changes made by the sync's own API user (actor \`datasync\`), if it can; the Loop Guard stops them anyway.`, 4);
	b.note('Credentials', [360, -600], [560, 420], `${NOTE_CREDENTIALS}
- **System C (shop API)**: *DataSync REST System*: base URL of the shop API and its token (bearer, header, basic or query key).`, 3);
	b.note('Tables and names', [940, -600], [640, 420], `${NOTE_TABLES}
- The shop: *Collection Path* \`/contacts\`, *ID Field* \`id\`, *Updated-At Field* \`updated_at\` (epoch ms), *Actor Field* \`updated_by\`; List: \`updated_since\`, page / limit, records under \`data\`.`, 5);
	b.note('Policy', [1600, -600], [520, 420], `${NOTE_POLICY.replace('**Priority: crm, erp** (A first)', '**Priority: crm, erp, shop** (A first, then B, then C)')}`, 6);

	const tA = trigger(b, 'A changed (webhook)', 'crm', [0, -180], cred.secretA);
	const tB = trigger(b, 'B changed (webhook)', 'erp', [0, -20], cred.secretB);
	const tC = trigger(b, 'C changed (webhook)', 'shop', [0, 140], cred.secretC);
	const every = schedule(b, 'Every 5 minutes (backup poll)', [0, 460], { field: 'minutes', minutesInterval: 5 });
	const gA = getChanges(b, 'Get changes from A', 'crm', [240, 300]);
	const gB = getChanges(b, 'Get changes from B', 'erp', [240, 460]);
	const gC = b.ds('List changes from C', 'dataSyncHttpApi', [240, 620], { operation: 'list', ...SHOP, cursorSource: 'store', sync: 'contacts', ...SHOP_LIST }, {
		...cred.restC,
		...cred.store,
	});
	const g = guard(b, [520, 260]);
	const toC = mapper(b, 'To canonical', 'toCanonical', [740, 260]);
	const r = resolver(b, [960, 260], 'crm, erp, shop', 'crm, erp, shop');
	const fromC = mapper(b, 'From canonical', 'fromCanonical', [1200, 160], ['crm', 'erp', 'shop']);
	const wA = write(b, 'Write to A', 'crm', [1460, 0]);
	const wB = write(b, 'Write to B', 'erp', [1460, 160]);
	const wC = b.ds('Write to C', 'dataSyncHttpApi', [1460, 320], { operation: 'upsert', ...SHOP, updateMethod: 'PATCH', recordPath: '', batchPath: '' }, cred.restC);
	const c = commit(b, [1700, 160]);
	const conflicts = noOp(b, 'Conflicts: alert or review', [1200, 400]);
	const skipped = noOp(b, 'Skipped: echoes and no-ops', [1200, 580]);
	const invalid = invalidRecords(b, [960, 500]);

	for (const t of [tA, tB, tC]) b.connect(t, g);
	for (const n of [gA, gB, gC]) {
		b.connect(every, n);
		b.connect(n, g);
	}
	hub(b, { guard: g, toCanonical: toC, invalid, resolver: r, conflicts, skipped, fromCanonical: fromC, writes: [wA, wB, wC], commit: c });
	pagedRefresh(b, ['crm', 'erp', 'shop'], g, { manual: [0, 900], handler: [0, 1600] });
	return b.workflow('DataSync: contacts A ↔ B ↔ C (tri-directional, hub and spoke)', { callerPolicy: 'workflowsFromSameOwner' });
}

function unidirectional(): Json {
	const b = new Builder('unidirectional');
	b.note('About this template', [-420, -520], [700, 340], `# Contacts A → B (one way)
System A (the CRM) is the source of truth; System B (the ERP) receives every create, update and delete. Changes made in B are not sent back (B's own edits are overwritten by A's next change of the same record).

- Real time: A POSTs signed changes to *A changed (webhook)* (\`…/webhook/datasync/crm/contact\`).
- Backup poll every 5 minutes: *Get changes from A* after the store's cursor.`, 4);
	b.note('Credentials', [300, -520], [520, 340], NOTE_CREDENTIALS.replace(', **System B (ERP database)**', ', **System B (ERP database)**').replace('**Webhook secret: …**', '**Webhook secret: System A**'), 3);
	b.note('Tables and names', [840, -520], [620, 340], `${NOTE_TABLES}
- Sync Name here: \`contacts-one-way\`.`, 5);
	const tA = trigger(b, 'A changed (webhook)', 'crm', [0, 0], cred.secretA);
	const every = schedule(b, 'Every 5 minutes (backup poll)', [0, 200], { field: 'minutes', minutesInterval: 5 });
	const gA = getChanges(b, 'Get changes from A', 'crm', [240, 200], 'contacts-one-way');
	const g = guard(b, [480, 100], 'contacts-one-way');
	const toC = mapper(b, 'To canonical', 'toCanonical', [700, 100]);
	const r = resolver(b, [920, 100], 'crm, erp', 'crm, erp', 'contacts-one-way');
	const fromC = mapper(b, 'From canonical', 'fromCanonical', [1160, 60]);
	// One way: B is never read, so a B-side edit could never be merged; A's change is written as it is
	// (Conditional Writes off), or it would wait for ever as "stale".
	const wB = write(b, 'Write to B', 'erp', [1380, 60], ONE_WAY);
	const c = commit(b, [1600, 60], 'contacts-one-way');
	const conflicts = noOp(b, 'Conflicts: alert or review', [1160, 260]);
	const invalid = invalidRecords(b, [920, 300], 'contacts-one-way');
	b.connect(tA, g);
	b.chain(every, gA, g, toC, r);
	b.connect(toC, invalid, 1);
	b.connect(r, fromC, 0);
	b.connect(r, conflicts, 1);
	b.chain(fromC, wB, c);
	b.connect(fromC, c, 1);
	b.connect(c, fromC, 1);
	return b.workflow('DataSync: contacts A → B (one way)');
}

function conditional(): Json {
	const b = new Builder('conditional');
	b.note('About this template', [-420, -560], [720, 380], `# Conditional sync A → B: only active customers
Like the one-way template, but only **some records** reach B: the *Only active customers* Filter (n8n's own Filter node) lets through contacts whose canonical \`status\` is \`active\` — and every delete, so B never keeps a record A removed.

Change the condition to your rule (country, a tag, a flag…). The Filter sits after *To canonical*, so it tests canonical field names (\`$json.data.status\`, \`$json.data.address.country\`) whatever the source system calls them.

Other ways to filter: sync only some entities by importing one copy per entity; or make a field **required** / give it a **pattern** in the mapping (the Mapper's validation), so records that break it go to the Mapper's *Invalid* output instead.`, 4);
	b.note('Credentials', [320, -560], [520, 380], NOTE_CREDENTIALS.replace('**Webhook secret: …**', '**Webhook secret: System A**'), 3);
	b.note('Tables and names', [860, -560], [620, 380], `${NOTE_TABLES}
- Sync Name here: \`contacts-active\`.`, 5);
	const tA = trigger(b, 'A changed (webhook)', 'crm', [0, 0], cred.secretA);
	const every = schedule(b, 'Every 5 minutes (backup poll)', [0, 200], { field: 'minutes', minutesInterval: 5 });
	const gA = getChanges(b, 'Get changes from A', 'crm', [240, 200], 'contacts-active');
	const g = guard(b, [480, 100], 'contacts-active');
	const toC = mapper(b, 'To canonical', 'toCanonical', [700, 100]);
	const filter = b.add('Only active customers', 'n8n-nodes-base.filter', 2.2, [920, 100], {
		conditions: {
			options: { caseSensitive: true, leftValue: '', typeValidation: 'loose', version: 2 },
			conditions: [
				condition(stableId('conditional', 'status'), '={{ $json.data.status }}', 'equals', 'active'),
				condition(stableId('conditional', 'delete'), '={{ $json.op }}', 'equals', 'delete'),
			],
			combinator: 'or',
		},
		options: {},
	});
	const r = resolver(b, [1140, 100], 'crm, erp', 'crm, erp', 'contacts-active');
	const fromC = mapper(b, 'From canonical', 'fromCanonical', [1380, 60]);
	const wB = write(b, 'Write to B', 'erp', [1600, 60], ONE_WAY);
	const c = commit(b, [1820, 60], 'contacts-active');
	const invalid = invalidRecords(b, [920, 300], 'contacts-active');
	b.connect(tA, g);
	b.chain(every, gA, g, toC, filter, r, fromC, wB, c);
	b.connect(fromC, c, 1);
	b.connect(c, fromC, 1);
	b.connect(toC, invalid, 1);
	return b.workflow('DataSync: conditional sync A → B (active customers only)');
}

function nightlyBatch(): Json {
	const b = new Builder('nightly-batch');
	const sync = 'contacts-nightly';
	b.note('About this template', [-460, -620], [820, 420], `# Nightly batch reconcile A ↔ B, page by page
Every night at 02:00 every record of A, then of B, is compared with the golden record; only differences are written. Records marked deleted (*Soft-Delete Column*) are found and the delete propagates.

**Bounded memory for millions of rows**: n8n keeps every item of an execution in memory until it ends. So the night run is a loop of **sub-workflow calls, one page each** (5,000 rows): *Reconcile one page* calls this same workflow (*When called for a page*), which reads one keyset page *after the last ID*, syncs it, commits and returns a one-line summary (\`lastId\`, \`count\`). The loop holds only those summaries; a 1M-row table is 200 small executions.

Keep the *Page Size* of the two *Get page* nodes and the **More pages?** checks equal.`, 4);
	b.note('Credentials', [380, -620], [520, 420], NOTE_CREDENTIALS.replace('\n- **Webhook secret: …**: *DataSync Webhook Signing Secret*, the secret each system signs its change notifications with.', ''), 3);
	b.note('Tables and names', [920, -620], [640, 420], `${NOTE_TABLES}
- **Soft-Delete Column** (\`deletedAt\` / \`deleted_at\`): rows with it set are read as deletes. Empty it if your tables delete rows (hard deletes then need the webhook templates).
- Sync Name here: \`${sync}\`. The schedule: *Nightly at 02:00*.`, 5);

	const night = schedule(b, 'Nightly at 02:00', [0, 0], { field: 'days', daysInterval: 1, triggerAtHour: 2, triggerAtMinute: 0 });
	const soft = { crm: { softDeleteColumn: 'deletedAt', softDeleteKind: 'timestamp' }, erp: { softDeleteColumn: 'deleted_at', softDeleteKind: 'timestamp' } };
	const step = (system: 'crm' | 'erp', x: 'A' | 'B', names: { start: string; more: string }): PageStep => ({
		start: names.start,
		request: `{ "system": "${system}", "afterId": "" }`,
		call: `Reconcile one page of ${x}`,
		moreNode: names.more,
		moreCondition: countAtLeast(b, `more${x}`, 5000),
		label: `${x} (${system})`,
		value: system,
		reader: `Get page from ${x}`,
		summary: `Page summary ${x}`,
		fields: `"system": "${system}"`,
	});
	const steps = [step('crm', 'A', { start: 'Start with A', more: 'More pages of A?' }), step('erp', 'B', { start: 'Then B', more: 'More pages of B?' })];
	pageLoop(b, night, steps, [220, 0], noOp(b, 'Night run done', [1540, 200]));

	b.note('Page handler', [-460, 300], [2420, 60], '### One page (a sub-workflow execution of its own): read a page after `afterId`, sync it, commit, return `{ system, afterId: last ID, count }`', 7);
	const page = (system: 'crm' | 'erp') => ({ returnAll: false, afterId: '={{ $json.afterId }}', ...soft[system] });
	b.add('Get page from A', DS + 'dataSyncDatabase', 1, [440, 480], { operation: 'getMany', ...TABLE.crm, pageSize: 5000, ...page('crm') }, { credentials: cred.sqlA });
	b.add('Get page from B', DS + 'dataSyncDatabase', 1, [440, 760], { operation: 'getMany', ...TABLE.erp, pageSize: 5000, ...page('erp') }, { credentials: cred.sqlB });
	const g = guard(b, [700, 560], sync);
	pageHandler(b, { trigger: 'When called for a page', which: 'Which system?' }, '={{ $json.system }}', steps, { trigger: [0, 560], which: [220, 560] }, g);
	const toC = mapper(b, 'To canonical', 'toCanonical', [920, 560]);
	const r = resolver(b, [1140, 560], 'crm, erp', 'crm, erp', sync);
	const fromC = mapper(b, 'From canonical', 'fromCanonical', [1360, 520], ['crm', 'erp']);
	const wA = write(b, 'Write to A', 'crm', [1580, 440], { ...soft.crm, deleteMode: 'soft' });
	const wB = write(b, 'Write to B', 'erp', [1580, 620], { ...soft.erp, deleteMode: 'soft' });
	const c = commit(b, [1800, 520], sync);
	b.connect(toC, invalidRecords(b, [1140, 760], sync), 1);
	pageSummary(b, steps[0], [700, 800]);
	pageSummary(b, steps[1], [700, 960]);
	b.chain(g, toC, r, fromC);
	b.connect(fromC, wA, 0);
	b.connect(fromC, wB, 1);
	b.connect(wA, c);
	b.connect(wB, c);
	b.connect(fromC, c, 2);
	b.connect(c, fromC, 1);
	// Each page's items stay out of n8n's execution list: only failures are kept.
	return b.workflow('DataSync: nightly batch reconcile A ↔ B (page by page)', {
		saveDataSuccessExecution: 'none',
		callerPolicy: 'workflowsFromSameOwner',
	});
}

/**
 * Undo a sync run: a form asks for the run ID and the mode; Store Rollback lists every change per system
 * (dry run) or plans them and sends them through the same From canonical Mapper → write → Commit path as
 * the sync, audited as "rollback". The form's answer is the list.
 */
function undoRun(): Json {
	const b = new Builder('undo-run');
	b.note('About this template', [-460, -520], [700, 460], `# Undo a sync run
Open the form (\`{n8n}/form/datasync/undo-run\`, after publishing), enter a **Run ID** (the dashboard's *Runs*, or Get Audit's \`runId\`: execution ID, a dash, its start) and pick:
- **Dry run**: the answer lists every change the rollback would make, per system and record: the fields set back, the values before, now and after, and the reason. Nothing is written.
- **Execute**: the same changes are written back through *From canonical* → *Write to A* / *Write to B* → *Commit* (audited as \`rollback\`); the answer lists what was planned.

Records changed again after the run are listed as **conflicts** and left alone. Records the run created are deleted again; records it deleted are created again. A rollback is a run too: its run ID undoes it.

Use the same **Sync Name**, **DataSync store** credential, tables and mapping as the sync's workflow (here those of *bidirectional-contacts*). **Protect the form** (*Undo form* → Authentication: Basic Auth) before publishing: it can write to your systems.`, 4);
	// Version 2.1: the last that answers through Respond to Webhook; the form page then shows the answer's HTML.
	const form = b.add('Undo form', 'n8n-nodes-base.formTrigger', 2.1, [0, 0], {
		path: 'datasync/undo-run',
		formTitle: 'Undo a sync run',
		formDescription: 'Lists (dry run) or writes back (execute) what one run of the contacts sync changed, from the audit.',
		formFields: {
			values: [
				{ fieldLabel: 'Run ID', placeholder: '1234-mgx3k9ab', requiredField: true },
				{ fieldLabel: 'Mode', fieldType: 'dropdown', fieldOptions: { values: [{ option: 'Dry run' }, { option: 'Execute' }] }, requiredField: true },
			],
		},
		responseMode: 'responseNode',
		options: {},
	}, { webhookId: stableId('undo-run', 'undo-form') });
	const rb = b.ds('Roll back the run', 'dataSyncStore', [240, 0], {
		operation: 'rollback',
		sync: 'contacts',
		rollbackTarget: 'run',
		rollbackRunId: "={{ $json['Run ID'] }}",
		rollbackMode: "={{ $json.Mode === 'Execute' ? 'execute' : 'dryRun' }}",
		rollbackOptions: { deletePolicy: 'propagate', matchKeys: 'email' },
	}, cred.store);
	// The report as an HTML table (values escaped; what is not planned first), answered once with every item.
	const esc = "String(v ?? '').replace(/[&<>\"']/g, (c) => '&#' + c.charCodeAt(0) + ';')";
	const cell = (expr: string) => `'<td>' + ((v) => ${esc})(${expr}) + '</td>'`;
	const values = (side: string) => `i.json.fields.map((f) => f + ': ' + JSON.stringify((i.json.${side} ?? {})[f] ?? null)).join(', ')`;
	const body =
		"={{ '<!doctype html><meta charset=\"utf-8\"><title>Rollback</title><style>body{font:14px sans-serif;margin:24px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}.conflict{background:#fde8e8}</style>' + " +
		"'<h2>Rollback of run ' + ((v) => " + esc + ")($('Undo form').first().json['Run ID']) + ($input.first().json.dryRun ? ' — dry run, nothing written' : ' — executed: the planned changes are being written') + '</h2>' + " +
		"'<p>' + Object.entries($input.all().reduce((s, i) => { const k = i.json.system + ' ' + i.json.status; s[k] = (s[k] ?? 0) + 1; return s; }, {})).map(([k, n]) => n + ' ' + k).join(' · ') + '</p>' + " +
		"'<table><tr><th>System</th><th>Record</th><th>ID</th><th>Change</th><th>Status</th><th>Before (written back)</th><th>Now</th><th>Reason</th></tr>' + " +
		`$input.all().slice().sort((a, b) => Number(a.json.status === 'planned') - Number(b.json.status === 'planned')).map((i) => '<tr class=\"' + i.json.status + '\">' + ${cell('i.json.system')} + ${cell('i.json.key')} + ${cell('i.json.externalId')} + ${cell('i.json.op')} + ${cell('i.json.status')} + ${cell(values('before'))} + ${cell(values('now'))} + ${cell('i.json.reason')} + '</tr>').join('') + '</table>' }}`;
	const answer = b.add('Answer with the changes', 'n8n-nodes-base.respondToWebhook', 1.1, [520, 200], {
		respondWith: 'text',
		responseBody: body,
		options: { responseHeaders: { entries: [{ name: 'content-type', value: 'text/html; charset=utf-8' }] } },
	}, { executeOnce: true });
	const from = mapper(b, 'From canonical', 'fromCanonical', [520, -120], ['crm', 'erp']);
	const wa = write(b, 'Write to A', 'crm', [780, -220]);
	const wb = write(b, 'Write to B', 'erp', [780, -40]);
	const cm = commit(b, [1040, -120]);
	b.connect(form, rb);
	b.connect(rb, from, 0);
	b.connect(rb, answer, 1);
	b.connect(from, wa, 0);
	b.connect(from, wb, 1);
	b.connect(wa, cm);
	b.connect(wb, cm);
	b.connect(from, cm, 2);
	b.connect(cm, from, 1);
	return b.workflow('DataSync: undo a sync run (form)');
}

function statusAndConflicts(): Json {
	const b = new Builder('status-and-conflicts');
	b.note('About this template', [-420, -500], [720, 440], `# Sync status, conflicts, alerts and log retention
Publish it, then open in a browser:
- \`{n8n}/webhook/datasync/status\` — the **dashboard**: per system and entity the records synchronized, every change that did not sync with its reason (invalid, blocked by the Loop Guard, write errors, skipped), run times, last sync, cursor lag, health (ok / stale / failing, rule on the page), volume charts, the latest runs (click one for its log), the conflict queue and any record's history (\`?record=<key>\` or \`?system=crm&id=42\`). \`?format=prometheus\` gives the same counts as **Prometheus text** to scrape.
- \`{n8n}/webhook/datasync/conflicts\` — the **open conflicts** as JSON, with every competing value (*List Conflicts*).

Every 5 minutes it e-mails **alerts** (below), and every night it deletes logs older than **30 days**.

Set **Sync Name** (\`contacts\`) in every Store node and the **DataSync store** credential to the store of your sync.`, 4);
	b.note('Protect it', [320, -500], [520, 440], `## Protect these pages
They show your records. On both *Webhook* nodes set **Authentication** (Basic Auth or Header Auth) before publishing, or keep n8n behind your reverse proxy's login. The dashboard's links stay on the same webhook, so they work behind either.`, 3);
	const wS = b.add('GET /datasync/status', 'n8n-nodes-base.webhook', 2, [0, 0], { httpMethod: 'GET', path: 'datasync/status', responseMode: 'responseNode', options: {} }, {
		webhookId: stableId('status-and-conflicts', 'status-webhook'),
	});
	// The page's links (?run=, ?record=, ?system=&id=) come back through this webhook as its query;
	// ?format=prometheus gives the same counts as Prometheus text.
	const st = b.ds('Sync status (dashboard)', 'dataSyncStore', [240, 0], {
		operation: 'status',
		sync: 'contacts',
		format: "={{ $json.query.format === 'prometheus' ? 'prometheus' : 'html' }}",
		runs: 20,
		page: {
			run: "={{ $json.query.run ?? '' }}",
			record: "={{ $json.query.record ?? '' }}",
			system: "={{ $json.query.system ?? '' }}",
			id: "={{ $json.query.id ?? '' }}",
			entity: "={{ $json.query.entity ?? '' }}",
		},
		healthRule: {},
	}, cred.store);
	const rS = b.add('Answer with the dashboard', 'n8n-nodes-base.respondToWebhook', 1.1, [480, 0], {
		respondWith: 'text',
		responseBody: '={{ $json.html ?? $json.text }}',
		options: { responseHeaders: { entries: [{ name: 'content-type', value: "={{ $json.contentType ?? 'text/html; charset=utf-8' }}" }] } },
	});
	const wC = b.add('GET /datasync/conflicts', 'n8n-nodes-base.webhook', 2, [0, 220], { httpMethod: 'GET', path: 'datasync/conflicts', responseMode: 'responseNode', options: {} }, {
		webhookId: stableId('status-and-conflicts', 'conflicts-webhook'),
	});
	const lc = b.add('List open conflicts', DS + 'dataSyncStore', 1, [240, 220], { operation: 'listConflicts', sync: 'contacts', limit: 100, conflictFilters: { status: 'open' } }, {
		credentials: cred.store,
		alwaysOutputData: true,
	});
	const rC = b.add('Answer with the conflicts', 'n8n-nodes-base.respondToWebhook', 1.1, [480, 220], {
		respondWith: 'json',
		responseBody: "={{ JSON.stringify({ open: $('List open conflicts').all().map(i => i.json).filter(c => c.id !== undefined) }) }}",
		options: {},
	}, { executeOnce: true });
	b.chain(wS, st, rS);
	b.chain(wC, lc, rC);

	b.note('Alerts by e-mail', [-480, 380], [440, 360], `## Alerts by e-mail
Every 5 minutes *Get alerts* emits one item per **new cause** since the last check — new conflicts, the Loop Guard's breaker stopping a run, failed writes (grouped by system and reason, with the count), a system whose writes have failed for an hour — each with a ready **subject** and **text**. Nothing new, no mail. The same cause is mailed at most once an hour; repeats are counted into the next mail.

In *Send alert e-mail* set **From** and **To** and the **SMTP** credential. For Slack or Microsoft Teams, replace it with that node and send \`{{ $json.subject }}\` and \`{{ $json.text }}\`.

Set **Dashboard URL** in *Get alerts* to your \`{n8n}/webhook/datasync/status\` for a link in every mail.`, 6);
	const every = schedule(b, 'Every 5 minutes', [0, 480], { field: 'minutes', minutesInterval: 5 });
	const alerts = b.ds('Get alerts', 'dataSyncStore', [240, 480], {
		operation: 'alerts',
		sync: 'contacts',
		alertKinds: ['breaker', 'conflict', 'stale', 'write-error'],
		alertOptions: { groupWindowMinutes: 60, staleMinutes: 60 },
	}, cred.store);
	const mail = b.add('Send alert e-mail', 'n8n-nodes-base.emailSend', 2.1, [480, 480], {
		resource: 'email',
		operation: 'send',
		fromEmail: 'datasync@example.com',
		toEmail: 'data-team@example.com',
		subject: '={{ $json.subject }}',
		emailFormat: 'both',
		text: '={{ $json.text }}',
		html: '={{ $json.html }}',
		options: { appendAttribution: false },
	}, { credentials: cred.smtp });
	b.chain(every, alerts, mail);

	b.note('Logs kept 30 days', [-480, 780], [440, 220], `## Logs kept 30 days
Every night *Purge* deletes audit entries, resolved conflicts, breaker trips and alert history older than **Retention (Days)** (30). Change it there; the dashboard shows the retention and the oldest entry kept.`, 5);
	const daily = schedule(b, 'Every night at 03:00', [0, 840], { field: 'days', triggerAtHour: 3 });
	const purge = b.ds('Purge logs older than 30 days', 'dataSyncStore', [240, 840], { operation: 'purge', sync: 'contacts', retentionDays: 30 }, cred.store);
	b.chain(daily, purge);
	return b.workflow('DataSync: sync status and conflicts (webhooks)');
}

/** The REST API that System B is here, and n8n's own Bearer credential for it (any n8n credential will do). */
const API_B = 'https://api.example.com';
const API_B_CREDENTIAL = { httpBearerAuth: { id: 'datasync-system-b-api', name: 'System B (REST API token)' } };

/**
 * System B through n8n's own nodes, not a DataSync connector: HTTP Request reads it and writes it, the
 * Mapper's Raw Records input wraps what it read, and a second Commit in "Write Results From: Any n8n
 * Node" pairs each answer back to its planned change through n8n's paired items. Swap the two HTTP
 * Request nodes for HubSpot, Airtable or Google Sheets nodes and the rest stays.
 */
function anyNode(): Json {
	const b = new Builder('any-node-contacts');
	b.note('About this template', [-420, -620], [780, 440], `# Contacts A ↔ any n8n node
**System A** (a CRM in Postgres) through *DataSync Database*; **System B** through **n8n's own nodes**: here the *HTTP Request* node against a REST API (\`/contacts\`), but HubSpot, Airtable, Google Sheets or any node that reads and writes records fits the same places.

- **Read B**: *Get all from B* (HTTP Request GET) → *One item per record* (Split Out on \`data\`) → *Wrap B records* (Mapper, Input **Raw Records (Wrap)**: ID Field \`id\`, Changed At \`updated_at\`, Actor \`updated_by\`) → Conflict Resolver. Unchanged records and our own echoes are skipped there.
- **Write B**: *From canonical* → *Write to B* (HTTP Request: POST for a create, PATCH for an update, DELETE; **On Error: Continue (using error output)**) → *Commit B answers* (Store Commit, **Write Results From: Any n8n Node**, Planned Changes Node \`From canonical\`, ID Field \`id\`).
- A failed write (error output) is recorded and written again on a later run; a create is linked to the id B answered, so the next run updates it instead of creating it twice.`, 4);
	b.note('Swap in another node', [380, -620], [640, 440], `## Swap in HubSpot, Airtable, Google Sheets
- **Read**: replace *Get all from B* (and *One item per record* if the node already gives one item per record). In *Wrap B records* set **System of the Records** (\`shop\` here), **ID Field** (HubSpot \`id\`, Airtable \`id\`, Sheets \`row_number\`), **Changed At Field** (HubSpot \`updatedAt\`, Airtable \`fields.Last Modified\`), and the mapping's \`shop\` rows to the node's field names (HubSpot \`properties.email\`, Airtable \`fields.Email\`).
- **Write**: replace *Write to B* with the node's Create/Update (and Delete) operations; its fields from \`{{ $json.data.… }}\` and the record id from \`{{ $json.id }}\` (empty = create). Turn on **Settings → On Error → Continue** and wire every output into *Commit B answers*.
- In *Commit B answers* set **ID Field** to where the node's answer holds the new id (\`id\`, \`data.id\`, \`results[0].id\`).`, 5);
	b.note('Credentials', [1040, -620], [520, 440], `## Credentials to set
- **DataSync store**: the central sync store (SQLite file or Postgres).
- **System A (CRM database)**: *DataSync SQL System*.
- **System B (REST API token)**: n8n's *Bearer Auth* credential of the two HTTP Request nodes (or the node's own credential when you swap it).
- The API's address in *Get all from B* and *Write to B* (here \`${API_B}\`).
**Sync Name** \`contacts-any-node\` in Get changes, Loop Guard, Resolver and both Commits.`, 3);

	const sync = 'contacts-any-node';
	const every = schedule(b, 'Every 5 minutes (poll)', [0, 200], { field: 'minutes', minutesInterval: 5 });
	const gA = getChanges(b, 'Get changes from A', 'crm', [240, 80], sync);
	const gB = b.add('Get all from B', 'n8n-nodes-base.httpRequest', 4.2, [240, 320], {
		url: `${API_B}/contacts`,
		authentication: 'genericCredentialType',
		genericAuthType: 'httpBearerAuth',
		sendQuery: true,
		queryParameters: { parameters: [{ name: 'limit', value: '1000' }] },
		options: {},
	}, { credentials: API_B_CREDENTIAL });
	const split = b.add('One item per record', 'n8n-nodes-base.splitOut', 1, [460, 320], { fieldToSplitOut: 'data', include: 'noOtherFields', options: {} });
	const wrapB = b.ds('Wrap B records', 'dataSyncMapper', [680, 320], {
		operation: 'map',
		direction: 'toCanonical',
		input: 'raw',
		wrapSystem: 'shop',
		wrapIdField: 'id',
		wrapOptions: { changedAtField: 'updated_at', actorField: 'updated_by' },
		mappingSource: 'json',
		mappingJson: MAPPING_JSON,
	});
	const g = guard(b, [460, 80], sync);
	const toC = mapper(b, 'To canonical', 'toCanonical', [680, 80]);
	const r = resolver(b, [940, 200], 'crm, shop', 'crm, shop', sync);
	const fromC = mapper(b, 'From canonical', 'fromCanonical', [1180, 120], ['crm', 'shop']);
	const wA = write(b, 'Write to A', 'crm', [1440, 0]);
	const wB = b.add('Write to B', 'n8n-nodes-base.httpRequest', 4.2, [1440, 220], {
		method: "={{ $json.op === 'delete' ? 'DELETE' : $json.id ? 'PATCH' : 'POST' }}",
		url: `={{ '${API_B}/contacts' + ($json.id ? '/' + $json.id : '') }}`,
		authentication: 'genericCredentialType',
		genericAuthType: 'httpBearerAuth',
		sendBody: true,
		specifyBody: 'json',
		jsonBody: '={{ JSON.stringify($json.data) }}',
		options: {},
	}, { credentials: API_B_CREDENTIAL });
	b.nodes[b.nodes.length - 1].onError = 'continueErrorOutput';
	const c = commit(b, [1700, 20], sync);
	const cB = b.ds('Commit B answers', 'dataSyncStore', [1700, 240], {
		operation: 'commit',
		sync,
		resultSource: 'anyNode',
		plannedChangesNode: 'From canonical',
		resultIdField: 'id',
		resultUpdatedAtField: 'updated_at',
	}, cred.store);
	const conflicts = noOp(b, 'Conflicts: alert or review', [1180, 380]);
	const skipped = noOp(b, 'Skipped: echoes and no-ops', [1180, 540]);
	const invalid = invalidRecords(b, [940, 460], sync);

	b.connect(every, gA);
	b.connect(every, gB);
	b.chain(gA, g, toC, r);
	b.chain(gB, split, wrapB, r);
	b.connect(toC, invalid, 1);
	b.connect(wrapB, invalid, 1);
	b.connect(r, fromC, 0);
	b.connect(r, conflicts, 1);
	b.connect(r, skipped, 2);
	b.connect(fromC, wA, 0);
	b.connect(fromC, wB, 1);
	b.connect(fromC, c, 2);
	b.connect(wA, c);
	// Both outputs of the HTTP Request: its answers and its failed writes (Continue using error output).
	b.connect(wB, cB, 0);
	b.connect(wB, cB, 1);
	b.connect(c, fromC, 1);
	return b.workflow('DataSync: contacts A ↔ any n8n node (HTTP Request)');
}

export const TEMPLATES: Record<string, () => Json> = {
	'any-node-contacts': anyNode,
	'bidirectional-contacts': bidirectional,
	'tri-directional-contacts': triDirectional,
	unidirectional,
	conditional,
	'nightly-batch': nightlyBatch,
	'status-and-conflicts': statusAndConflicts,
	'undo-run': undoRun,
};

if (require.main === module) {
	const dir = join(REPO_ROOT, 'workflows');
	mkdirSync(dir, { recursive: true });
	for (const [name, build] of Object.entries(TEMPLATES)) {
		writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(build(), null, '\t')}\n`);
		console.log(`workflows/${name}.json`);
	}
}
