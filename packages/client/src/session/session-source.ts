/**
 * Where the API client gets the bearer token of its requests, and asks for a new one. The seam
 * between the HTTP client and whatever holds sessions: dev-mode sessions renewed with a refresh
 * token (dev-session-source.ts), an identity provider's ID tokens, or a fixed token.
 */
export interface SessionSource {
  /** The bearer to send now, renewed first when about to expire; undefined when logged out. */
  bearer(): Promise<string | undefined>;
  /**
   * `rejected` was refused as expired or ended (401): a new bearer, or undefined when none can
   * be had without the user (then the refusal stands). Throws when renewal itself was refused.
   */
  renew(rejected: string): Promise<string | undefined>;
}

/** A fixed token (tests, or a token handed in from elsewhere): never renewed. */
export function fixedSession(token: string): SessionSource {
  return { bearer: async () => token, renew: async () => undefined };
}
