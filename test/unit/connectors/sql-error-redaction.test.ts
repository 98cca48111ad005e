import { batchError } from '../../../lib/connectors/sql/common';
import type { TableSpec } from '../../../lib/connectors/sql/types';

const spec = { table: 'crm_people', idColumn: 'id' } as TableSpec;

describe('a failed batch statement: the error names the table and the cause, never a whole row', () => {
	it('leaves out Postgres\' "Failing row contains" detail, which quotes every column (a system\'s own sensitive ones too)', () => {
		const cause = Object.assign(new Error('new row for relation "crm_people" violates check constraint "no_atlantis"'), {
			detail: 'Failing row contains (1, ada@example.com, Atlantis, CANARY-ssn, CANARY-pw).',
		});
		const error = batchError(spec, 'update', 1, cause);
		expect(error.message).toBe('update of 1 record in table "crm_people" failed, nothing was written: new row for relation "crm_people" violates check constraint "no_atlantis"');
		expect(error.message).not.toMatch(/CANARY|Failing row/);
	});

	it('keeps the other details, which name the key (a unique violation)', () => {
		const cause = Object.assign(new Error('duplicate key value violates unique constraint "crm_people_email_key"'), { detail: 'Key (email)=(ada@example.com) already exists.' });
		expect(batchError(spec, 'insert', 2, cause).message).toBe(
			'insert of 2 records in table "crm_people" failed, nothing was written: duplicate key value violates unique constraint "crm_people_email_key" (Key (email)=(ada@example.com) already exists.)',
		);
	});
});
