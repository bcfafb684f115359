import type { Command } from 'commander';
import type { DeliveryStatus } from '@conduit/client';
import { withClient } from '../program/client.js';
import { output } from '../program/output.js';

/** `conduit status <pointerId>`: the delivery state of a sent file. */
export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .argument('<pointerId>')
    .description('delivery state of a sent file')
    .action(async (pointerId: string, _opts, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const st = await client.status(pointerId);
        output(g, st, statusLines(st));
      }),
    );
}

/** [v] verified receipt, [!] receipt the receiver's key did not sign, [ ] pending, [-] dropped. */
function statusLines(s: DeliveryStatus): string[] {
  const mark = { verified: '[v]', 'invalid-signature': '[!]', pending: '[ ]', dropped: '[-]' } as const;
  const count = (r: string) => s.delivery.filter((d) => d.receipt === r).length;
  const when = s.purgedAt ? ` at ${s.purgedAt}` : s.failedAt ? ` at ${s.failedAt}` : '';
  const invalid = count('invalid-signature');
  return [
    `pointer ${s.pointerId}: ${s.state}${s.reason ? ` (${s.reason})` : ''}${when}`,
    `  verified receipts ${count('verified')}/${s.expected.length}` +
      `${count('dropped') > 0 ? `, ${count('dropped')} dropped` : ''}` +
      `${invalid > 0 ? `, ${invalid} NOT SIGNED BY THE RECEIVER` : ''}`,
    ...s.delivery.map(
      (d) =>
        `  ${mark[d.receipt]} ${d.identity} (${d.deviceId})${d.receipt === 'invalid-signature' ? '  receipt signature invalid' : ''}`,
    ),
    ...s.anomalies.map((a) => `  anomaly: ${a.kind} (${a.code}) reported by ${a.identity} (${a.deviceId}) at ${a.at}`),
  ];
}
