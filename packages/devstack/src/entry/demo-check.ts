/** A demo assertion that did not hold: the system ran but did not behave as promised. */
export class DemoCheckFailed extends Error {
  override readonly name = 'DemoCheckFailed';
  /** How a caller that loads the devstack on demand (the `conduit` CLI) recognises it. */
  readonly code = 'DEMO_CHECK_FAILED';
}
