/**
 * Signs a copy of a zone with BIND's own tools (dnssec-keygen, dnssec-signzone), as an operator
 * who keeps pre-signed zone files would: a KSK and a ZSK (ECDSA P-256), NSEC or NSEC3 (no salt,
 * no extra iterations, RFC 9276; optionally opt-out, where unsigned delegations get no NSEC3). The signatures are fresh, so every run signs anew.
 */
import { cpSync, mkdtempSync, readdirSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { run } from './process';
import { requireTools } from './require-root';

export interface SignedZone {
  /** The directory holding the signed file, the keys and whatever the source directory held. */
  dir: string;
  /** The signed zone file (absolute). */
  file: string;
}

/**
 * Copies `sourceDir` (so $INCLUDEs resolve as they did) and signs `zoneFile` in it for `origin`.
 */
export async function signZone(opts: { sourceDir: string; zoneFile: string; origin: string; nsec3: boolean; optOut?: boolean }): Promise<SignedZone> {
  requireTools('zone signing', ['dnssec-keygen', 'dnssec-signzone']);
  const dir = mkdtempSync(join(tmpdir(), 'santa-signed-'));
  cpSync(opts.sourceDir, dir, { recursive: true });
  for (const ksk of [true, false]) {
    await run(['dnssec-keygen', '-q', '-K', dir, '-a', 'ECDSAP256SHA256', ...(ksk ? ['-f', 'KSK'] : []), opts.origin], { cwd: dir });
  }
  const keys = readdirSync(dir).filter((f) => f.endsWith('.key'));
  if (keys.length !== 2) throw new Error(`dnssec-keygen left ${keys.length} keys in ${dir}, expected 2`);
  const file = join(dir, `${opts.zoneFile}.signed`);
  const nsec3 = opts.nsec3 ? ['-3', '-', '-H', '0', ...(opts.optOut ? ['-A'] : [])] : [];
  // -S: the keys from the key directory, published and used as their flags say.
  await run(['dnssec-signzone', '-q', '-S', '-K', dir, ...nsec3, '-o', opts.origin, '-f', file, join(dir, opts.zoneFile)], { cwd: dir, timeoutMs: 60_000 });
  return { dir, file };
}
