import type { Command } from 'commander';
import type { GroupRetentionPolicy, GroupRetentionView } from '@conduit/shared';
import { resolveGroup } from '../names/resolve.js';
import { withClient } from '../program/client.js';
import { filesRuleOption, recordsRuleOption } from '../program/options.js';
import { output } from '../program/output.js';

export interface RetentionOptions {
  files?: string;
  records?: string;
  clear?: boolean;
}

/**
 * The policy `conduit group retention` sends, or null to only show it: `--files`/`--records`
 * change their class and keep the other one's rule, `--clear` starts from none (the deployment's).
 */
export function nextRetentionPolicy(
  current: GroupRetentionPolicy,
  opts: RetentionOptions,
): GroupRetentionPolicy | null {
  if (!opts.clear && opts.files === undefined && opts.records === undefined) return null;
  const next: GroupRetentionPolicy = opts.clear ? {} : { ...current };
  if (opts.files !== undefined) next.files = opts.files;
  if (opts.records !== undefined) next.records = opts.records;
  return next;
}

/** `files: 30d (group)`, `records: keep (deployment)`. */
export function retentionLines(view: GroupRetentionView): string[] {
  const { files, records } = view.effective;
  return [`files: ${files.rule} (${files.source})`, `records: ${records.rule} (${records.source})`];
}

/** `conduit group retention <group> [--files <rule>] [--records <rule>] [--clear]`. */
export function addGroupRetentionCommand(group: Command): void {
  group
    .command('retention')
    .argument('<group>', 'group id or name')
    .description("show the group's retention rules in effect, or set them (owner only)")
    .option('--files <rule>', "files' rule: keep, <n>h|d|y or delivered+<n>h|d|y", filesRuleOption)
    .option('--records <rule>', "records' rule: keep or <n>h|d|y", recordsRuleOption)
    .option('--clear', "drop the group's own rules first (both classes follow the deployment)")
    .action(async (arg: string, opts: RetentionOptions, cmd: Command) =>
      withClient(cmd, async (client, g) => {
        const groupId = await resolveGroup(client, arg);
        let view = await client.groupRetention(groupId);
        // PUT replaces the whole policy: the class not named keeps its rule. Owner only, so the
        // read-then-write races only with the owner's own other devices.
        const next = nextRetentionPolicy(view.policy, opts);
        if (next !== null) view = await client.setGroupRetention(groupId, next);
        output(g, view, retentionLines(view));
      }),
    );
}
