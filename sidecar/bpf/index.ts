/**
 * The typed BPF layer: the native binding (./native), the santa_abi.h layout (./abi), pure
 * encoders/decoders for every map (./codec), and SantaMaps, the batch interface to the maps.
 */
export { isBpfError, loadNative, nativeModulePath } from './native';
export type { BpfError, LoadedObject, LoadOptions, ProgInfo, MapInfo, SantaNative, XdpAttachment, XdpAttachOptions, XdpMode } from './native';
export { perCpuStride, santaAbi, santaMapNames } from './abi';
export type { SantaAbi } from './abi';
export {
  CacheEncodeError,
  cacheEntry,
  cacheKey,
  cacheValue,
  decodeCacheKey,
  decodeCacheValue,
  decodeHits,
  decodeSettings,
  decodeStats,
  encodeSettings,
  fullValue,
  keyFlags,
  perCpuTotals,
  queryBits,
  replyChecksumConstant,
  sumPerCpuU64,
} from './codec';
export type { CacheKey, CacheValueInput, CacheEntryInput, DecodedKey, DecodedValue, Question, QueryBits, SantaMode, SantaSettings, CookieSettings } from './codec';
export { SantaMaps } from './maps';
export type { CacheEntry, InstalledEntry } from './maps';
