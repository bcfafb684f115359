import { ConduitError } from '@conduit/shared';
import * as opaque from '@serenity-kit/opaque';

/**
 * The server half of OPAQUE (RFC 9807, @serenity-kit/opaque: opaque-ke compiled to WebAssembly).
 * The setup holds the server's long-term key pair and OPRF seed: losing it invalidates every
 * account, leaking it lets an attacker impersonate the server to users (not learn passwords).
 */
export class OpaqueServer {
  private constructor(private readonly setup: string) {}

  static async create(setup: string): Promise<OpaqueServer> {
    await opaque.ready;
    // Fails fast on a malformed setup instead of on the first login.
    opaque.server.getPublicKey(setup);
    return new OpaqueServer(setup);
  }

  static async generateSetup(): Promise<string> {
    await opaque.ready;
    return opaque.server.createSetup();
  }

  registrationResponse(identity: string, registrationRequest: string): string {
    return this.guard(
      () =>
        opaque.server.createRegistrationResponse({
          serverSetup: this.setup,
          userIdentifier: identity,
          registrationRequest,
        }).registrationResponse,
    );
  }

  /**
   * With `record` null (unknown identity) opaque-ke answers with a fake record derived from the
   * setup and the identity: the same shape and work, and a finish that fails like a wrong password.
   */
  startLogin(identity: string, record: string | null, startLoginRequest: string): { state: string; response: string } {
    const { serverLoginState, loginResponse } = this.guard(() =>
      opaque.server.startLogin({
        serverSetup: this.setup,
        userIdentifier: identity,
        registrationRecord: record,
        startLoginRequest,
      }),
    );
    return { state: serverLoginState, response: loginResponse };
  }

  /** Whether the client proved knowledge of the password for this login state. */
  finishLogin(state: string, finishLoginRequest: string): boolean {
    try {
      opaque.server.finishLogin({ serverLoginState: state, finishLoginRequest });
      return true;
    } catch {
      return false;
    }
  }

  /** Malformed protocol messages are the caller's fault: 400, never a 500. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch {
      throw new ConduitError('VALIDATION_FAILED', 'Malformed OPAQUE message.');
    }
  }
}

/** A new server setup (CONDUIT_OPAQUE_SERVER_SETUP), for operators and the local stack. */
export const generateOpaqueSetup = (): Promise<string> => OpaqueServer.generateSetup();
