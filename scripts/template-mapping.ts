/**
 * What the workflow templates share with their tests and the demo: the credential names they reference
 * (with placeholder ids, replaced on import) and the contact mapping they carry.
 */
import { shippedMapping } from '../lib/mapping';
import type { MappingDocument } from '../lib/mapping/types';

/** Credentials the templates name; ids are placeholders that n8n asks to replace after import. */
export const TEMPLATE_CREDENTIALS = {
	store: { id: 'datasync-store', name: 'DataSync store' },
	systemA: { id: 'datasync-system-a', name: 'System A (CRM database)' },
	systemB: { id: 'datasync-system-b', name: 'System B (ERP database)' },
	systemC: { id: 'datasync-system-c', name: 'System C (shop API)' },
	secretA: { id: 'datasync-secret-a', name: 'Webhook secret: System A' },
	secretB: { id: 'datasync-secret-b', name: 'Webhook secret: System B' },
	secretC: { id: 'datasync-secret-c', name: 'Webhook secret: System C' },
} as const;

/**
 * The shipped contact mapping without its `updatedAt` rows. Every item carries the source's change time
 * in `changedAt` already, and each system sets its own updated-at column when the sync writes (the
 * Database node's Set Updated-At), so the time is not synced as a field. (The shipped ERP row reads
 * `changed_at` as `dd/MM/yyyy HH:mm:ss` text, while the Database node reads a DATETIME column as ISO 8601:
 * the shipped mapping as it is would send every ERP row to the Mapper's Invalid output.)
 */
export function templateContactMapping(): MappingDocument {
	const doc = shippedMapping('contact')!;
	const fields = { ...doc.canonical?.fields };
	delete fields.updatedAt;
	const systems: MappingDocument['systems'] = {};
	for (const [name, system] of Object.entries(doc.systems)) {
		systems[name] = { ...system, fields: system.fields.filter((f) => f.canonical !== 'updatedAt') };
	}
	return {
		...doc,
		description: 'Contacts between System A (crm: camelCase, ISO dates), System B (erp: snake_case, dd/MM/yyyy) and System C (shop: nested name and address). Edit the "system" side of each row to your columns.',
		canonical: { ...doc.canonical, fields },
		systems,
		examples: undefined,
	};
}
