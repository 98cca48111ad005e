/**
 * The sync engine: plain TypeScript over the sync store, no n8n imports. The DataSync nodes are thin
 * shells over these entry points (see README.md here).
 */
export { closeAllStores, openStore, storeConfigFromCredentials, Store, StoreConfigError, StoreVersionError, compareCursors } from './store';
export type { StoreConfig } from './store';
export type * from './store/types';
export type { AuditQuery, ConflictQuery, PurgeResult, VolumeCount, VolumeKind, VolumeRow } from './store/store';
export { canonicalHash, canonicalJson, canonicalValue, isEmptyValue, sameValue } from './hash';
export { mergeRecord, isEcho, settle } from './merge';
export type { EmptyValueRule, FieldConflict, MergePolicy } from './merge';
export { resolve } from './resolve';
export type { DeletePolicy, ResolveOptions, ResolveResult, ResolvedChange, ResolvedConflict, SkippedItem, SkipReason } from './resolve';
export { commit } from './commit';
export type { CommitOptions, CommitResult, WriteResult } from './commit';
export { resolveConflict } from './conflicts';
export type { ConflictChoice, ReviewOptions, ReviewResult } from './conflicts';
export { guard } from './guard';
export { compressBursts, foldChange, STALE_GRACE_MS } from './compress';
export type { CompressEntry, CompressOptions, CompressResult } from './compress';
export type { BlockReason, GuardOptions, GuardResult, RateLimit } from './guard';
export { status, runLog, recordHistory, recordInvalid, healthOf, DEFAULT_HEALTH } from './status';
export type { SyncOverview, HealthOptions, HealthState, TargetHealth, RunLog, RecordHistory, FieldChange, NotSynced, VolumeBucket, RecordInvalidResult } from './status';
export { findDeletes, findDeletesPage } from './reconcile';
export { rollback } from './rollback';
export type { RollbackChange, RollbackOptions, RollbackResult, RollbackStatus, RollbackTarget } from './rollback';
export type { FindDeletesOptions, FindDeletesPageOptions } from './reconcile';
