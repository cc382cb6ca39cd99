/** named.conf: what Santa needs from a BIND configuration. */
export { readNamedConf, interpretNamedConf, NamedConfError } from './read';
export type { NamedConf, NamedOptions, ZoneConfig, ListenOn, MinimalResponses, ReadOptions } from './read';
