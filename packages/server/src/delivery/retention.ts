/** Ledger records outlive the Sync item's TTL by this much, then expire. */
export const LEDGER_GRACE_SECONDS = 7 * 24 * 3600;

/** How long the ledger keeps a pointer's record (and its anomalies) for an item living `itemTtlSeconds`. */
export const ledgerRetentionSeconds = (itemTtlSeconds: number): number => itemTtlSeconds + LEDGER_GRACE_SECONDS;
