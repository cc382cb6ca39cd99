/** The small zones the end-to-end suites serve: an apex SOA and NS, ns1, and www at `www`. */
export function wwwZone(zone: string, serial: number, www: string, extra: readonly string[] = []): string {
  return [`$TTL 300`, `@ IN SOA ns1.${zone}. hostmaster.${zone}. ${serial} 3600 600 86400 300`, `@ IN NS ns1.${zone}.`, `ns1 IN A 10.53.0.2`, `www IN A ${www}`, ...extra, ''].join('\n');
}
