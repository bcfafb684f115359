/**
 * `GET /v1/Services/{sid}`: the fields of Twilio's Service resource as the `twilio` library reads
 * them (updating it is not emulated). `acl_enabled` is what production mode checks.
 */
export function serviceResource(s: {
  base: string;
  serviceSid: string;
  accountSid: string;
  created: Date;
  aclEnabled: boolean;
}): Record<string, unknown> {
  const url = `${s.base}/v1/Services/${s.serviceSid}`;
  return {
    sid: s.serviceSid,
    unique_name: null,
    account_sid: s.accountSid,
    friendly_name: 'conduit-devstack',
    date_created: s.created.toISOString(),
    date_updated: s.created.toISOString(),
    url,
    webhook_url: null,
    webhooks_from_rest_enabled: false,
    reachability_webhooks_enabled: false,
    acl_enabled: s.aclEnabled,
    reachability_debouncing_enabled: false,
    reachability_debouncing_window: 5000,
    links: {
      documents: `${url}/Documents`,
      lists: `${url}/Lists`,
      maps: `${url}/Maps`,
      streams: `${url}/Streams`,
    },
  };
}
