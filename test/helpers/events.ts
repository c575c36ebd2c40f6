/** Event fixtures shared by tests: MongoDB audit messages as mongod writes them (spec/atlas.md §9.1). */

/** A MongoDB audit message (`mongo` schema), with Extended JSON `ts` and `uuid`, and overrides. */
export function mongoAuditMessage(atype: string, param: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    atype,
    ts: { $date: '2026-08-10T03:04:49.123+00:00' },
    uuid: { $binary: 'Q3VzdG9tZXIgc2Vzc2lvbg==', $type: '04' },
    local: { ip: '10.0.0.5', port: 27017 },
    remote: { ip: '203.0.113.7', port: 51234 },
    users: [{ user: 'auditAdmin', db: 'admin' }],
    roles: [{ role: 'root', db: 'admin' }],
    param,
    result: 0,
    ...extra,
  };
}
