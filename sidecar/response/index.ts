/** Wire responses as BIND 9.18 sends them, and the check that they match BIND's own. */
export { buildResponse, RCODE_NOERROR, RCODE_NXDOMAIN } from './build';
export type { BuiltResponse, MinimalResponses, QueryBits, ResponseKind, ResponseQuestion, ServerOptions } from './build';
export { verifyResponse, responseMismatches } from './verify';
export type { VerifyResult } from './verify';
export { decodeMessage, DecodeError } from './decode';
export type { DecodedMessage, DecodedRR, DecodedOpt } from './decode';
