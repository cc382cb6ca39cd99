/**
 * Which addresses the program may answer for and answer to. A reply claims the query's
 * destination as its source, so it must never be a group address; and it goes to the query's
 * source, which must be one the kernel would deliver to BIND at all (no martians).
 */
import { addressBytes } from '../../support/packets';
import type { ModelSettings } from './types';

const LIMITED_BROADCAST = 0xffffffff;

function v4Number(a: Uint8Array): number {
  return ((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) >>> 0;
}

function isV4Multicast(a: Uint8Array): boolean {
  return a[0] >> 4 === 0xe;
}

export function servesV4(settings: ModelSettings, dst: Uint8Array): boolean {
  if (isV4Multicast(dst) || v4Number(dst) === LIMITED_BROADCAST) return false;
  if (settings.v4Addrs.length === 0) return true;
  return settings.v4Addrs.some((a) => addressBytes(a).equals(dst));
}

export function servesV6(settings: ModelSettings, dst: Uint8Array): boolean {
  if (dst[0] === 0xff) return false;
  if (settings.v6Addrs.length === 0) return true;
  return settings.v6Addrs.some((a) => addressBytes(a).equals(dst));
}

export function servesPort(settings: ModelSettings, port: number): boolean {
  return settings.ports.length === 0 ? port === 53 : settings.ports.includes(port);
}

/** 0.0.0.0/8, 127.0.0.0/8, multicast and 255.255.255.255 are not sources one can answer. */
export function unicastSourceV4(src: Uint8Array): boolean {
  return src[0] !== 0 && src[0] !== 127 && !isV4Multicast(src) && v4Number(src) !== LIMITED_BROADCAST;
}

/** Multicast, :: and ::1 are not sources one can answer. */
export function unicastSourceV6(src: Uint8Array): boolean {
  if (src[0] === 0xff) return false;
  const allZeroBefore15 = src.subarray(0, 15).every((b) => b === 0);
  return !(allZeroBefore15 && (src[15] === 0 || src[15] === 1));
}
