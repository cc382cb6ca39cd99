/** Zone files to an immutable zone model: the parts other modules use. */
export { parseZoneFile, parseZoneText, ZoneParseError } from './parse';
export type { IncludeResolver, ZoneFileOptions } from './parse';
export { Zone } from './model';
export type { RRset, ZoneNode, ZoneWarning } from './model';
export { loadConfiguredZones } from './load';
export type { LoadedZones, ZoneLoadFailure } from './load';
export { nameKey, parseName } from './name';
export { typeCode, typeName, classCode, className } from './types';
