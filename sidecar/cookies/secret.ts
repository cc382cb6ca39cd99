/**
 * Which cookie secret the XDP program may use: BIND's own, from named.conf. BIND mints server
 * cookies with the first `cookie-secret` and also accepts ones made with the others; Santa
 * mints and checks with the first only, so a cookie made with another still reaches BIND.
 */
export class CookieSecretError extends Error {
  constructor(readonly where: string, problem: string) {
    super(`${where}: ${problem}`);
    this.name = 'CookieSecretError';
  }
}

/** BIND's siphash24 secrets are 128 bits. */
export const SIPHASH_SECRET_BYTES = 16;

/** The named.conf options that decide whether and how BIND answers cookies. */
export interface CookieOptions {
  cookieSecrets: string[];
  /** `cookie-algorithm`; BIND 9.18's default is siphash24. */
  cookieAlgorithm?: string;
  /** `answer-cookie`; BIND's default is yes. */
  answerCookie?: boolean;
  /** `require-server-cookie`; BIND's default is no. */
  requireServerCookie?: boolean;
}

export type CookieSecretChoice = { secret: Buffer; requireServerCookie: boolean; reason?: undefined } | { secret?: undefined; reason: string };

/** The 16-byte key from a `cookie-secret` value (hex, as named.conf writes it). */
export function parseCookieSecret(hex: string, where = 'cookie-secret'): Buffer {
  if (!/^[0-9a-fA-F]*$/.test(hex) || hex.length % 2 !== 0) {
    throw new CookieSecretError(where, `${JSON.stringify(hex)} is not an even number of hex digits`);
  }
  if (hex.length !== SIPHASH_SECRET_BYTES * 2) {
    throw new CookieSecretError(where, `${hex.length / 2} bytes; cookie-algorithm siphash24 needs ${SIPHASH_SECRET_BYTES} (${SIPHASH_SECRET_BYTES * 2} hex digits)`);
  }
  return Buffer.from(hex, 'hex');
}

/**
 * The secret to install, or why cookie-bearing queries must keep going to BIND. Without a
 * configured secret BIND draws a random one at start-up that nothing outside it can know.
 */
export function chooseCookieSecret(options: CookieOptions): CookieSecretChoice {
  if (options.answerCookie === false) return { reason: 'answer-cookie no: BIND does not answer cookies' };
  const algorithm = (options.cookieAlgorithm ?? 'siphash24').toLowerCase();
  if (algorithm !== 'siphash24') return { reason: `cookie-algorithm ${algorithm}: only siphash24 (RFC 9018) is answered in XDP` };
  if (options.cookieSecrets.length === 0) return { reason: 'no cookie-secret in named.conf: BIND uses a random secret' };
  return { secret: parseCookieSecret(options.cookieSecrets[0], 'cookie-secret (first)'), requireServerCookie: options.requireServerCookie === true };
}
