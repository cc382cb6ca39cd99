import pino from 'pino';
import type { GuardAttachment, Loader } from '../loader/loader';
import { ensureLoopbackGuards } from './loopback-guard';

/** A loader that records where it was asked to put the guard. */
function fakeLoader(opts: { guard?: boolean; failIn?: string } = {}): Loader & { asked: Array<string | undefined> } {
  const asked: Array<string | undefined> = [];
  const loader = {
    kind: 'native' as const,
    asked,
    ensure: async () => {
      throw new Error('not used');
    },
    detach: async () => false,
    describe: async () => ({ kind: 'native' as const, attachments: [] }),
    close: async () => undefined,
    ensureLoopbackGuard: async (netns?: string): Promise<GuardAttachment> => {
      asked.push(netns);
      if ('failIn' in opts && netns === opts.failIn) throw new Error('attachTcIngress: lo: Operation not permitted (EPERM)');
      return { netns, programId: 7, adopted: false, replaced: false };
    },
  };
  if (opts.guard === false) return { ...loader, ensureLoopbackGuard: undefined };
  return loader;
}

/** A logger whose lines the test reads back. */
function capture(): { log: pino.Logger; lines: () => Array<{ level: number; msg: string }> } {
  const out: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => out.push(line) });
  return { log, lines: () => out.map((l) => JSON.parse(l)) };
}

const targets = [
  { iface: 'eth0', xdpMode: 'native' as const },
  { iface: 'eth1', xdpMode: 'native' as const },
  { iface: 'veth-dns', xdpMode: 'generic' as const, netns: '/run/netns/dns' },
];

describe('ensureLoopbackGuards', () => {
  it('puts the guard on lo once per namespace the interfaces are in', async () => {
    const loader = fakeLoader();
    const { log, lines } = capture();
    await ensureLoopbackGuards({ loopbackGuard: true }, loader, targets, log);
    expect(loader.asked).toEqual([undefined, '/run/netns/dns']);
    expect(lines().filter((l) => l.msg === 'loopback zone change guard in place')).toHaveLength(2);
  });

  it('says what is not watched when turned off, or when the loader cannot attach it', async () => {
    const off = fakeLoader();
    const a = capture();
    await ensureLoopbackGuards({ loopbackGuard: false }, off, targets, a.log);
    expect(off.asked).toEqual([]);
    expect(a.lines()).toEqual([expect.objectContaining({ level: 40, msg: expect.stringMatching(/^loopback_guard is off: .*serial polls/) })]);

    const b = capture();
    await ensureLoopbackGuards({ loopbackGuard: true }, fakeLoader({ guard: false }), targets, b.log);
    expect(b.lines()).toEqual([expect.objectContaining({ level: 40, msg: expect.stringMatching(/^this loader cannot attach the loopback guard/) })]);
  });

  it('a guard that cannot be attached stops the start, naming the namespace and the way out', async () => {
    const { log } = capture();
    await expect(ensureLoopbackGuards({ loopbackGuard: true }, fakeLoader({ failIn: '/run/netns/dns' }), targets, log)).rejects.toThrow(
      /^cannot put the loopback zone change guard on lo in \/run\/netns\/dns: attachTcIngress: lo: Operation not permitted \(EPERM\) \(loopback_guard: false runs without it/,
    );
  });
});
