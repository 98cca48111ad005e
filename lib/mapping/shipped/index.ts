/**
 * The mappings shipped with the package for the template systems (crm, erp, shop), one per entity.
 * The Mapper node offers them as "Shipped Mapping"; templates and other modules load them here.
 */
import type { MappingDocument } from '../types';
import contact from './contact.json';
import inventory from './inventory.json';
import order from './order.json';
import user from './user.json';

export const SHIPPED_MAPPINGS: Readonly<Record<string, MappingDocument>> = Object.freeze({
	contact: contact as MappingDocument,
	inventory: inventory as unknown as MappingDocument,
	order: order as MappingDocument,
	user: user as unknown as MappingDocument,
});

export type ShippedMappingName = 'contact' | 'inventory' | 'order' | 'user';

export const SHIPPED_MAPPING_NAMES = Object.keys(SHIPPED_MAPPINGS) as ShippedMappingName[];

/** A copy of a shipped mapping document (safe to change), or undefined for an unknown name. */
export function shippedMapping(name: string): MappingDocument | undefined {
	return Object.prototype.hasOwnProperty.call(SHIPPED_MAPPINGS, name) ? structuredClone(SHIPPED_MAPPINGS[name]) : undefined;
}
