/** The reference model of santa_xdp: the specification in executable form. */
export { decide } from './decide';
export { entryId, indexEntries, lowerAscii } from './keys';
export { responseTail } from './reply';
export { mintServerCookie, COOKIE_OPTION_BYTES } from './cookie';
export { applyRrl, clientAddressText } from './rrl';
export { loopbackZoneChangeOf, skbTestRunRefuses, zoneChangeOf } from './zone-change';
export type { QueryCookie } from './query';
export type { Answer, Decision, KeyBits, LimitedDecision, ModelEntry, ModelSettings, ModelWorld, PassReason } from './types';
