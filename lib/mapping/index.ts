/**
 * The mapping engine: plain modules, no n8n import. Compile a mapping document once, then map records
 * or DataSync items with it.
 *
 *   const mapping = compileMapping(shippedMapping('contact'));
 *   const crm = mapping.systems.get('crm');
 *   const outcome = crm.toCanonical(record, id);   // { ok, data } or { ok: false, errors }
 */
export { compileMapping, SystemMapper, type CompiledMapping, type MapOutcome } from './compile';
export { MappingConfigError, RuleError, attempt, type FieldError } from './errors';
export { CURRENCY_EXPONENTS, currencyExponent } from './iso4217';
export { compileWrap, mapSyncItem, type CompiledWrap, type ItemOutcome, type MapDirection, type WrapSettings } from './items';
export { SHIPPED_MAPPINGS, SHIPPED_MAPPING_NAMES, shippedMapping, type ShippedMappingName } from './shipped';
export { TRANSFORM_NAMES, decimalToMinor, minorToDecimal } from './transforms';
export * from './types';
