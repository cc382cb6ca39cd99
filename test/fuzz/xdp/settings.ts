/**
 * The settings the fuzzer cycles through: defaults, explicit ports and addresses, each
 * max-udp-size regime, dry-run and off. Addresses the frames use come from here, so most
 * frames are to a served address and port, and some deliberately are not.
 */
import type { ModelSettings } from '../model';

export const CLIENT_V4 = '10.53.0.1';
export const CLIENT_V6 = 'fd53::1';
export const SERVER_V4 = '10.53.0.2';
export const SERVER_V6 = 'fd53::2';

export interface SettingsVariant {
  name: string;
  settings: ModelSettings;
  weight: number;
}

const base: ModelSettings = { mode: 'on', maxUdpSize: 0, ports: [], v4Addrs: [], v6Addrs: [] };

export const SETTINGS_VARIANTS: SettingsVariant[] = [
  { name: 'defaults', weight: 5, settings: base },
  {
    name: 'ports-and-addresses',
    weight: 3,
    settings: { ...base, ports: [5353, 53], v4Addrs: ['192.0.2.1', SERVER_V4], v6Addrs: ['2001:db8::53', SERVER_V6] },
  },
  { name: 'max-udp-512', weight: 1, settings: { ...base, maxUdpSize: 512 } },
  { name: 'max-udp-4096', weight: 2, settings: { ...base, maxUdpSize: 4096 } },
  { name: 'max-udp-700', weight: 1, settings: { ...base, maxUdpSize: 700 } },
  { name: 'dry-run', weight: 1, settings: { ...base, mode: 'dry-run' } },
  { name: 'off', weight: 1, settings: { ...base, mode: 'off' } },
];
