/** The reference model of santa_xdp: the specification in executable form. */
export { decide } from './decide';
export { entryId, indexEntries, lowerAscii } from './keys';
export { responseTail } from './reply';
export type { Decision, KeyBits, ModelEntry, ModelSettings, ModelWorld, PassReason } from './types';
