import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import {
  ConfigError,
  SETTINGS,
  configFlagsFrom,
  optionProperty,
  loadConfig,
  resolveConfig,
  settingsHelp,
  type ConfigIssue,
  type ConfigSources,
} from '../../sidecar/config';
import { editDistance, suggest } from '../../sidecar/config/suggest';

const FILE = '/etc/santa/santa.yaml';
const MINIMAL = 'interfaces: [eth0]\nqueries:\n  path: /var/log/named/query.log\n';

function resolve(yaml: string | undefined, extra: Partial<ConfigSources> = {}) {
  return resolveConfig({ yaml: yaml === undefined ? undefined : { file: FILE, text: yaml }, cwd: '/work', ...extra });
}

/** The issues a configuration produces; fails the test if it is accepted. */
function issuesOf(yaml: string | undefined, extra: Partial<ConfigSources> = {}): ConfigIssue[] {
  try {
    resolve(yaml, extra);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error('configuration was accepted but should have been rejected');
}

function oneIssue(yaml: string | undefined, extra: Partial<ConfigSources> = {}): ConfigIssue {
  const issues = issuesOf(yaml, extra);
  expect(issues).toHaveLength(1);
  return issues[0];
}

describe('defaults and precedence', () => {
  test('a minimal file gets every default', () => {
    const { config, origins } = resolve(MINIMAL);
    expect(config).toEqual({
      namedConf: '/etc/bind/named.conf',
      interfaces: [{ name: 'eth0', xdpMode: 'native' }],
      mode: 'on',
      loader: 'native',
      pinDir: '/sys/fs/bpf/santa',
      loopbackGuard: true,
      bpfman: { socket: '/run/bpfman-sock/bpfman.sock', priority: 50, timeoutSeconds: 30 },
      queries: { source: 'querylog', path: '/var/log/named/query.log' },
      cache: { maxEntries: 16384, maxBytes: 64 * 2 ** 20, leaseSeconds: 30 },
      ranking: { intervalSeconds: 5 },
      verify: true,
      bind: { address: { host: '127.0.0.1', port: 53 }, signedZones: 'unsigned-file', secondaryZones: 'file', serialPollSeconds: 1, changeHoldSeconds: 5, recheckSeconds: 60 },
      metrics: { listen: { host: '127.0.0.1', port: 9553 } },
      log: { level: 'info' },
    });
    expect(origins['mode']).toBe('default');
    expect(origins['interfaces']).toBe(`${FILE}:1:13`);
  });

  test('YAML overrides defaults, env overrides YAML, flags override env', () => {
    const yaml = `${MINIMAL}cache:\n  max_entries: 10\nmode: dry-run\nlog:\n  level: warn\n`;
    const { config, origins } = resolve(yaml, {
      env: { SANTA_CACHE_MAX_ENTRIES: '20', SANTA_MODE: 'off', PATH: '/bin' },
      flags: [{ key: 'cache.max_entries', value: '30' }],
    });
    expect(config.cache.maxEntries).toBe(30);
    expect(origins['cache.max_entries']).toBe('flag --cache-max-entries');
    expect(config.mode).toBe('off');
    expect(origins['mode']).toBe('env SANTA_MODE');
    expect(config.log.level).toBe('warn');
    expect(origins['log.level']).toBe(`${FILE}:8:10`);
  });

  test('env and flags alone, without a file, are a complete configuration', () => {
    const { config } = resolve(undefined, {
      env: { SANTA_INTERFACES: 'veth0:generic, veth1', SANTA_QUERIES_SOURCE: 'none', SANTA_VERIFY: 'no' },
      flags: [{ key: 'loader', value: 'native' }, { key: 'pin_dir', value: '/sys/fs/bpf/santa-test' }],
    });
    expect(config.interfaces).toEqual([
      { name: 'veth0', xdpMode: 'generic' },
      { name: 'veth1', xdpMode: 'native' },
    ]);
    expect(config.queries).toEqual({ source: 'none' });
    expect(config.verify).toBe(false);
    expect(config.pinDir).toBe('/sys/fs/bpf/santa-test');
  });

  test('an empty variable counts as unset and SANTA_CONFIG is not a setting', () => {
    const { config } = resolve(MINIMAL, { env: { SANTA_MODE: '', SANTA_CONFIG: '/x.yaml' } });
    expect(config.mode).toBe('on');
  });

  test('an empty file sets nothing', () => {
    expect(resolve('', { requireInterfaces: false, env: { SANTA_QUERIES_SOURCE: 'none' } }).config.mode).toBe('on');
  });

  test('relative paths resolve against the YAML file directory, or the working directory for env and flags', () => {
    const { config } = resolve(`${MINIMAL}named_conf: bind/named.conf\n`, {
      flags: [{ key: 'bpf_object', value: 'build/santa.bpf.o' }],
    });
    expect(config.namedConf).toBe('/etc/santa/bind/named.conf');
    expect(config.bpfObject).toBe('/work/build/santa.bpf.o');
  });

  test('an optional setting written with no value stays unset', () => {
    const { config } = resolve(`${MINIMAL}bpf_object:\n`);
    expect(config.bpfObject).toBeUndefined();
  });
});

describe('YAML structure errors carry file:line:col', () => {
  test('syntax error', () => {
    const issue = issuesOf('interfaces: [eth0\nmode: on\n')[0];
    expect(issue.where).toMatch(/^\/etc\/santa\/santa\.yaml:\d+:\d+$/);
    expect(issue.message).toMatch(/^YAML syntax: /);
  });

  test('duplicate key', () => {
    const issue = oneIssue(`${MINIMAL}mode: on\nmode: off\n`);
    expect(issue.where).toBe(`${FILE}:5:1`);
    expect(issue.message).toMatch(/unique/);
  });

  test('the file is not a map', () => {
    expect(oneIssue('- a\n- b\n')).toEqual({
      where: `${FILE}:1:1`,
      key: '',
      message: 'the file must be a map of settings (key: value)',
    });
  });

  test('unknown top-level key suggests the closest one', () => {
    const issue = oneIssue(`${MINIMAL}verfiy: false\n`);
    expect(issue.where).toBe(`${FILE}:4:1`);
    expect(issue.key).toBe('verfiy');
    expect(issue.message).toMatch(/did you mean "verify"\?/);
    expect(issue.message).toMatch(/allowed at the top level: named_conf, interfaces, mode/);
  });

  test('unknown key inside a section suggests the full key', () => {
    const issue = oneIssue(`${MINIMAL}cache:\n  max-entires: 5\n`);
    expect(issue).toMatchObject({ where: `${FILE}:5:3`, key: 'cache.max-entires' });
    expect(issue.message).toMatch(/did you mean "cache.max_entries"\?/);
  });

  test('a known key in the wrong section says where it belongs', () => {
    const issue = oneIssue(`${MINIMAL}lease_seconds: 60\n`);
    expect(issue.message).toBe('unknown key; "lease_seconds" belongs under cache.lease_seconds');
  });

  test('a key with nothing close lists what is allowed', () => {
    const issue = oneIssue(`${MINIMAL}bpfman:\n  zzzzzz: 1\n`);
    expect(issue.message).toBe('unknown key; allowed in bpfman: socket, priority, timeout_seconds');
  });

  test('a section given a scalar', () => {
    const issue = oneIssue(`${MINIMAL}cache: 5\n`);
    expect(issue).toEqual({
      where: `${FILE}:4:8`,
      key: 'cache',
      message: 'must be a map with the keys max_entries, max_bytes, lease_seconds',
    });
  });

  test('a key that is not a plain word', () => {
    expect(oneIssue(`${MINIMAL}? [a, b]\n: 1\n`).message).toBe('keys must be plain words');
  });

  test('every problem is reported, not only the first', () => {
    const issues = issuesOf('mode: maybe\nverify: perhaps\ncolour: blue\n');
    expect(issues.map((i) => i.key)).toEqual(['mode', 'verify', 'colour', 'interfaces', 'queries.path']);
    const text = new ConfigError(issues).message;
    expect(text.split('\n')[0]).toBe('invalid configuration:');
    expect(text).toContain(`${FILE}:1:7: mode: must be one of "on", "dry-run", "off", got string "maybe"`);
  });
});

describe('value errors name the key and what is allowed', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['cache:\n  max_entries: 0\n', 'cache.max_entries', /must be an integer from 1 to 16000000, got number 0/],
    ['cache:\n  max_entries: 1.5\n', 'cache.max_entries', /an integer/],
    ['cache:\n  max_entries: "many"\n', 'cache.max_entries', /got string "many"/],
    ['cache:\n  max_bytes: 12 parsecs\n', 'cache.max_bytes', /a byte count from 4096/],
    ['cache:\n  max_bytes: 100\n', 'cache.max_bytes', /a byte count from 4096/],
    ['cache:\n  max_bytes: [1]\n', 'cache.max_bytes', /got a list/],
    ['cache:\n  lease_seconds: -1\n', 'cache.lease_seconds', /a number of seconds from 1 to 86400/],
    ['ranking:\n  interval_seconds: soon\n', 'ranking.interval_seconds', /a number of seconds/],
    ['verify: 2\n', 'verify', /must be true or false, got number 2/],
    ['verify: maybe\n', 'verify', /must be true or false/],
    ['mode: dryrun\n', 'mode', /got string "dryrun" \(did you mean "dry-run"\?\)/],
    ['mode: true\n', 'mode', /got boolean true/],
    ['loader: bpfmann\n', 'loader', /did you mean "bpfman"/],
    ['log:\n  level: loud\n', 'log.level', /one of "trace", "debug", "info", "warn", "error", "fatal"/],
    ['named_conf: ""\n', 'named_conf', /must be a file path/],
    ['named_conf: {a: 1}\n', 'named_conf', /got a map/],
    ['named_conf:\n', 'named_conf', /got nothing/],
    ['metrics:\n  listen: localhost\n', 'metrics.listen', /HOST:PORT/],
    ['metrics:\n  listen: ":70000"\n', 'metrics.listen', /port 1-65535/],
    ['bpfman:\n  priority: 1001\n', 'bpfman.priority', /from 1 to 1000/],
  ];
  test.each(cases)('%j', (yaml, key, message) => {
    const issue = oneIssue(MINIMAL + yaml);
    expect(issue.key).toBe(key);
    expect(issue.message).toMatch(message);
    expect(issue.where).toMatch(/^\/etc\/santa\/santa\.yaml:\d+:\d+$/);
  });

  test('the position is the value, not the key', () => {
    expect(oneIssue(`${MINIMAL}cache:\n  max_entries:   0\n`).where).toBe(`${FILE}:5:18`);
  });

  test('byte sizes take units', () => {
    const at = (v: string) => resolve(`${MINIMAL}cache:\n  max_bytes: ${v}\n`).config.cache.maxBytes;
    expect(at('64MiB')).toBe(64 * 2 ** 20);
    expect(at('500kB')).toBe(500_000);
    expect(at('1 GiB')).toBe(2 ** 30);
    expect(at('8192')).toBe(8192);
  });

  test('listen addresses', () => {
    const at = (v: string) => resolve(MINIMAL, { flags: [{ key: 'metrics.listen', value: v }] }).config.metrics.listen;
    expect(at('0.0.0.0:9100')).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(at('[::1]:9100')).toEqual({ host: '::1', port: 9100 });
    expect(at(':9100')).toEqual({ host: '', port: 9100 });
  });

  test('booleans from text', () => {
    for (const [text, value] of [['yes', true], ['0', false], ['OFF', false], ['True', true]] as const) {
      expect(resolve(MINIMAL, { env: { SANTA_VERIFY: text } }).config.verify).toBe(value);
    }
    expect(oneIssue(MINIMAL, { env: { SANTA_VERIFY: 'y' } })).toEqual({
      where: 'env SANTA_VERIFY',
      key: 'verify',
      message: 'must be true or false, got "y"',
    });
  });

  test('numbers from text', () => {
    expect(resolve(MINIMAL, { env: { SANTA_RANKING_INTERVAL_SECONDS: '0.5', SANTA_CACHE_LEASE_SECONDS: '2' } }).config.ranking).toEqual({
      intervalSeconds: 0.5,
    });
    expect(oneIssue(MINIMAL, { env: { SANTA_CACHE_MAX_ENTRIES: '10e3' } }).message).toMatch(/an integer/);
  });
});

describe('interfaces', () => {
  test('map items with mode and netns', () => {
    const yaml =
      'interfaces:\n  - name: veth-dns\n    xdp_mode: native\n    netns: /run/netns/dns\n  - eth1:native\nloader: bpfman\nqueries: {source: none}\n';
    expect(resolve(yaml).config.interfaces).toEqual([
      { name: 'veth-dns', xdpMode: 'native', netns: '/run/netns/dns' },
      { name: 'eth1', xdpMode: 'native' },
    ]);
    expect(resolve('interfaces: [{name: eth0, xdp_mode: generic}]\nqueries: {source: none}\n').config.interfaces).toEqual([
      { name: 'eth0', xdpMode: 'generic' },
    ]);
  });

  test('an unknown key inside an item points at that key', () => {
    const issue = oneIssue('interfaces:\n  - name: eth0\n    mode: generic\nqueries: {source: none}\n');
    expect(issue).toMatchObject({ where: `${FILE}:3:11`, key: 'interfaces[0].mode' });
    expect(issue.message).toMatch(/unknown key "mode" in an interface; allowed: name, xdp_mode, netns/);
  });

  test('a bad XDP mode points at the value', () => {
    const issue = oneIssue('interfaces:\n  - name: eth0\n    xdp_mode: offload\nqueries: {source: none}\n');
    expect(issue).toMatchObject({ where: `${FILE}:3:15`, key: 'interfaces[0].xdp_mode' });
    expect(issue.message).toMatch(/xdp_mode must be one of "native", "generic"/);
  });

  test.each([
    ['interfaces: [this-name-is-far-too-long]\n', /1 to 15 characters/],
    ['interfaces: ["a/b"]\n', /1 to 15 characters/],
    ['interfaces: [eth0, eth0]\n', /listed twice/],
    ['interfaces: [eth0:turbo]\n', /XDP mode must be one of/],
    ['interfaces: [a:b:c]\n', /NAME or NAME:MODE/],
    ['interfaces: [[eth0]]\n', /got a list/],
    ['interfaces: [{xdp_mode: native}]\n', /interface name must be/],
    ['interfaces: [{name: eth0, netns: 5}]\n', /netns must be the path/],
    ['interfaces: eth0\n', /must be a list of interfaces/],
  ])('%j is rejected', (yaml, message) => {
    const issue = oneIssue(`${yaml}queries: {source: none}\nloader: bpfman\n`);
    expect(issue.key).toMatch(/^interfaces/);
    expect(issue.message).toMatch(message);
  });

  test('text form errors come from the variable', () => {
    const issue = oneIssue('queries: {source: none}\n', { env: { SANTA_INTERFACES: 'eth0,eth0:fast' } });
    expect(issue).toMatchObject({ where: 'env SANTA_INTERFACES', key: 'interfaces[1]' });
  });
});

describe('environment and flags', () => {
  test('unknown SANTA_ variable suggests the closest', () => {
    const issue = oneIssue(MINIMAL, { env: { SANTA_CACHE_MAX_ENTRY: '5' } });
    expect(issue.where).toBe('env SANTA_CACHE_MAX_ENTRY');
    expect(issue.message).toMatch(/did you mean SANTA_CACHE_MAX_ENTRIES\?/);
  });

  test('unknown flag setting suggests the closest', () => {
    const issue = oneIssue(MINIMAL, { flags: [{ key: 'cache.max_entrys', value: '5' }] });
    expect(issue.where).toBe('flag --cache-max-entrys');
    expect(issue.message).toBe('unknown setting (did you mean --cache-max-entries?)');
  });

  test('a bad flag value names the flag', () => {
    expect(oneIssue(MINIMAL, { flags: [{ key: 'mode', value: 'of' }] })).toMatchObject({
      where: 'flag --mode',
      key: 'mode',
    });
  });
});

describe('command-line options', () => {
  test('option properties follow the flag names', () => {
    expect(optionProperty('cache.max_entries')).toBe('cacheMaxEntries');
    expect(optionProperty('bpfman.socket')).toBe('bpfmanSocket');
    expect(optionProperty('verify')).toBe('verify');
  });

  test('parsed options become flags; other options are ignored', () => {
    const flags = configFlagsFrom({ cacheMaxEntries: '500', interfaces: ['eth0', 'eth1:generic'], verify: false, config: '/x.yaml', help: undefined });
    expect(flags).toEqual([
      { key: 'interfaces', value: 'eth0,eth1:generic' },
      { key: 'cache.max_entries', value: '500' },
      { key: 'verify', value: 'false' },
    ]);
    const { config, origins } = resolve(MINIMAL, { flags });
    expect(config.interfaces.map((i) => i.name)).toEqual(['eth0', 'eth1']);
    expect(config.verify).toBe(false);
    expect(origins['cache.max_entries']).toBe('flag --cache-max-entries');
  });
});

describe('rules across settings', () => {
  test('interfaces are required unless the caller does not need them', () => {
    const issue = oneIssue('queries: {source: none}\n');
    expect(issue).toEqual({
      where: 'default',
      key: 'interfaces',
      message: 'at least one interface is required (YAML interfaces, SANTA_INTERFACES or --interfaces)',
    });
    expect(resolve('queries: {source: none}\n', { requireInterfaces: false }).config.interfaces).toEqual([]);
  });

  test('a query source needs a path', () => {
    const issue = oneIssue('interfaces: [eth0]\nqueries:\n  source: dnstap-socket\n');
    expect(issue).toMatchObject({ key: 'queries.path', where: `${FILE}:3:11` });
    expect(issue.message).toMatch(/required when queries.source is "dnstap-socket"/);
  });

  test('the lease must outlast two ranking rounds', () => {
    const issue = oneIssue(`${MINIMAL}cache:\n  lease_seconds: 9\nranking:\n  interval_seconds: 5\n`);
    expect(issue.key).toBe('cache.lease_seconds');
    expect(issue.message).toMatch(/at least twice ranking.interval_seconds \(5, from \/etc\/santa\/santa.yaml:7:21\)/);
  });

  test('the bpfman loader cannot pick generic mode itself', () => {
    const issue = oneIssue('interfaces: [veth0:generic]\nloader: bpfman\nqueries: {source: none}\n');
    expect(issue.key).toBe('interfaces[0].xdp_mode');
    expect(issue.message).toMatch(/\[interfaces.veth0\] xdp_mode = "skb"/);
  });

  test('netns needs the bpfman loader', () => {
    const issue = oneIssue('interfaces: [{name: eth0, netns: /run/netns/x}]\nqueries: {source: none}\n');
    expect(issue.key).toBe('interfaces[0].netns');
    expect(issue.message).toMatch(/only the bpfman loader/);
  });
});

describe('loadConfig reads the file', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'santa-config-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('from SANTA_CONFIG', async () => {
    const file = path.join(dir, 'santa.yaml');
    writeFileSync(file, `${MINIMAL}named_conf: named.conf\n`);
    const { config } = await loadConfig({ env: { SANTA_CONFIG: file }, cwd: '/' });
    expect(config.namedConf).toBe(path.join(dir, 'named.conf'));
  });

  test('a missing file is a ConfigError naming it', async () => {
    const file = path.join(dir, 'absent.yaml');
    await expect(loadConfig({ file, env: {} })).rejects.toThrow(`${file}: cannot read the configuration file: no such file`);
  });
});

describe('the example file and help', () => {
  const example = path.join(__dirname, '../../deploy/santa.example.yaml');

  test('deploy/santa.example.yaml is valid and mentions every setting', () => {
    const text = readFileSync(example, 'utf8');
    expect(() => resolveConfig({ yaml: { file: example, text }, cwd: '/' })).not.toThrow();
    // Commented-out settings count: the example documents every key.
    const uncommented = text.replace(/^(\s*)# ?(?=[a-z0-9_]+:)/gm, '$1');
    const doc = parseDocument(uncommented);
    for (const s of SETTINGS) expect([s.key, doc.getIn(s.key.split('.'), true) !== undefined]).toEqual([s.key, true]);
  });

  test('sidecar/config/README.md documents every setting with its variable and flag', () => {
    const readme = readFileSync(path.join(__dirname, '../../sidecar/config/README.md'), 'utf8');
    for (const r of settingsHelp()) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${r.key}\` |`));
      expect([r.key, row?.includes(`\`${r.env}\``) && row.includes(`\`${r.flag}\``) && row.includes(r.allowed)]).toEqual([r.key, true]);
    }
  });

  test('every setting has help, an env name and a flag', () => {
    const rows = settingsHelp();
    expect(rows.map((r) => r.key)).toEqual(SETTINGS.map((s) => s.key));
    for (const r of rows) {
      expect(r.help.length).toBeGreaterThan(10);
      expect(r.env).toMatch(/^SANTA_[A-Z0-9_]+$/);
      expect(r.flag).toMatch(/^--[a-z0-9-]+$/);
    }
    expect(rows.find((r) => r.key === 'metrics.listen')?.default).toBe('127.0.0.1:9553');
  });
});

describe('suggest', () => {
  test('edit distance counts a transposition as one edit', () => {
    expect(editDistance('verfiy', 'verify')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });
  test('no suggestion when nothing is close', () => {
    expect(suggest('zzzz', ['verify', 'mode'])).toBeUndefined();
    expect(suggest('max-entries', ['max_entries'])).toBe('max_entries');
  });
});
