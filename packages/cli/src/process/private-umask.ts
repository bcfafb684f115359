/**
 * Imported first by the CLI: every file it writes under its home (key store, session, transfer
 * state, records replica, E3Kit's group store, a local stack's data) is owner-only, including
 * those that libraries create with the process umask, and so are the folders (0700).
 */
process.umask(0o077);
