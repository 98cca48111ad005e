/**
 * The correctness check after every run (issue 8, item 5): B must hold exactly A's live rows after the
 * mapping. What B should hold is computed in SQL by Postgres from A (to_char for dd/MM/yyyy, CASE for
 * the status codes and Y/N flags, lower() for the country), independently of any contestant's code; B is
 * read with plain SQL; every row is compared field by field, matched on the email (the match key).
 */
import type { Client } from 'pg';
import type mysql from 'mysql2/promise';

const FIELDS = ['first_name', 'last_name', 'phone_number', 'birth_date', 'status_code', 'marketing_opt_in', 'street', 'city', 'postal_code', 'country_code'];

export interface CheckResult {
	ok: boolean;
	expected: number;
	actual: number;
	mismatches: number;
	missing: number;
	extra: number;
	/** Up to 5 examples of what differs. */
	examples: string[];
}

export async function checkSync(pg: Client, crmTable: string, my: mysql.Connection, erpTable: string): Promise<CheckResult> {
	const { rows: expected } = await pg.query<Record<string, string | null>>(`
		SELECT email, "firstName" AS first_name, "lastName" AS last_name, phone AS phone_number,
			to_char("birthDate", 'DD/MM/YYYY') AS birth_date,
			CASE "lifecycleStage" WHEN 'customer' THEN 'A' WHEN 'churned' THEN 'I' WHEN 'lead' THEN 'L' END AS status_code,
			CASE WHEN "marketingOptIn" IS NULL THEN NULL WHEN "marketingOptIn" THEN 'Y' ELSE 'N' END AS marketing_opt_in,
			street, city, "postalCode" AS postal_code, lower("countryCode") AS country_code
		FROM "${crmTable}" WHERE "deletedAt" IS NULL`);
	const [actualRows] = await my.query(`SELECT email, ${FIELDS.join(', ')} FROM \`${erpTable}\` WHERE deleted_at IS NULL`);
	const actual = new Map((actualRows as Array<Record<string, string | null>>).map((r) => [r.email as string, r]));
	const result: CheckResult = { ok: false, expected: expected.length, actual: actual.size, mismatches: 0, missing: 0, extra: 0, examples: [] };
	const seen = new Set<string>();
	for (const want of expected) {
		const email = want.email as string;
		seen.add(email);
		const got = actual.get(email);
		if (!got) {
			result.missing++;
			if (result.examples.length < 5) result.examples.push(`missing in B: ${email}`);
			continue;
		}
		const diff = FIELDS.filter((f) => (want[f] ?? null) !== (got[f] ?? null));
		if (diff.length) {
			result.mismatches++;
			if (result.examples.length < 5) result.examples.push(`${email}: ${diff.map((f) => `${f} want ${JSON.stringify(want[f])} got ${JSON.stringify(got[f])}`).join('; ')}`);
		}
	}
	for (const email of actual.keys()) {
		if (!seen.has(email)) {
			result.extra++;
			if (result.examples.length < 5) result.examples.push(`extra in B: ${email}`);
		}
	}
	result.ok = result.expected === result.actual && result.mismatches === 0 && result.missing === 0 && result.extra === 0;
	return result;
}
