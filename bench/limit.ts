/**
 * The limit (issue 8, item 3a): the same sync as a plain Node script with `pg` + `mysql2`: keyset pages
 * of 5,000 from A, the template's mapping in plain code, multi-row upserts of 1,000 into B (on its unique
 * email). Run as its own process so its time and memory are its own:
 *
 *   npx node -r ./scripts/register-ts.js bench/limit.ts '<json: { pg, maria, crmTable, erpTable }>'
 *
 * Prints one JSON line: { seconds, rows, peakRssMb }.
 */
import { Client, type ClientConfig } from 'pg';
import mysql from 'mysql2/promise';

export interface LimitConfig {
	pg: ClientConfig;
	maria: mysql.ConnectionOptions;
	crmTable: string;
	erpTable: string;
}

interface CrmRow {
	id: string;
	email: string;
	firstName: string | null;
	lastName: string | null;
	phone: string | null;
	birthDate: string | null;
	lifecycleStage: string | null;
	marketingOptIn: boolean | null;
	street: string | null;
	city: string | null;
	postalCode: string | null;
	countryCode: string | null;
}

const STATUS: Record<string, string> = { customer: 'A', churned: 'I', lead: 'L' };
const ERP_COLUMNS = ['email', 'first_name', 'last_name', 'phone_number', 'birth_date', 'status_code', 'marketing_opt_in', 'street', 'city', 'postal_code', 'country_code', 'modified_by'];

function toErp(r: CrmRow): unknown[] {
	const d = r.birthDate;
	return [
		r.email,
		r.firstName,
		r.lastName,
		r.phone,
		d ? `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(0, 4)}` : null,
		r.lifecycleStage ? (STATUS[r.lifecycleStage] ?? null) : null,
		r.marketingOptIn === null ? null : r.marketingOptIn ? 'Y' : 'N',
		r.street,
		r.city,
		r.postalCode,
		r.countryCode ? r.countryCode.toLowerCase() : null,
		'sync-script',
	];
}

export async function limitSync(config: LimitConfig): Promise<number> {
	const pg = new Client(config.pg);
	await pg.connect();
	const my = await mysql.createConnection({ ...config.maria });
	const updates = ERP_COLUMNS.filter((c) => c !== 'email')
		.map((c) => `${c} = VALUES(${c})`)
		.join(', ');
	let after = '';
	let total = 0;
	try {
		for (;;) {
			const { rows } = await pg.query<CrmRow>(
				`SELECT id, email, "firstName", "lastName", phone, "birthDate"::text AS "birthDate", "lifecycleStage", "marketingOptIn", street, city, "postalCode", "countryCode"
				 FROM "${config.crmTable}" WHERE id > $1 AND "deletedAt" IS NULL ORDER BY id LIMIT 5000`,
				[after],
			);
			if (rows.length === 0) break;
			for (let i = 0; i < rows.length; i += 1000) {
				const batch = rows.slice(i, i + 1000).map(toErp);
				await my.query(`INSERT INTO \`${config.erpTable}\` (${ERP_COLUMNS.join(', ')}) VALUES ? ON DUPLICATE KEY UPDATE ${updates}, changed_at = CURRENT_TIMESTAMP(6)`, [batch]);
			}
			total += rows.length;
			after = rows[rows.length - 1].id;
			if (rows.length < 5000) break;
		}
	} finally {
		await pg.end();
		await my.end();
	}
	return total;
}

if (require.main === module) {
	const config = JSON.parse(process.argv[2]) as LimitConfig;
	let peak = process.memoryUsage.rss();
	const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
	const t0 = performance.now();
	limitSync(config)
		.then((rows) => {
			const seconds = (performance.now() - t0) / 1000;
			clearInterval(timer);
			peak = Math.max(peak, process.memoryUsage.rss());
			process.stdout.write(`${JSON.stringify({ seconds, rows, peakRssMb: peak / 1048576 })}\n`);
		})
		.catch((error: unknown) => {
			console.error(error);
			process.exit(1);
		});
}
