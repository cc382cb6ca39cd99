import { Writable } from 'stream';
import { componentLogger, createLogger, silentLogger } from '../../sidecar/log';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('structured logs', () => {
  test('JSON lines with ISO time, level word, service, component and fields', () => {
    const { lines, stream } = capture();
    const log = componentLogger(createLogger({ level: 'info', destination: stream, base: { instance: 'ns1' } }), 'loader');
    log.info({ iface: 'eth0', programId: 42 }, 'attached');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      service: 'santa',
      instance: 'ns1',
      component: 'loader',
      iface: 'eth0',
      programId: 42,
      msg: 'attached',
      pid: process.pid,
    });
    expect(String(lines[0].time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('lines below the level are dropped', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'warn', destination: stream });
    log.info('not shown');
    log.debug('not shown');
    log.warn('shown');
    log.error('shown too');
    expect(lines.map((l) => l.level)).toEqual(['warn', 'error']);
  });

  test('errors keep their message, type, code and stack', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'info', destination: stream });
    const err = Object.assign(new Error('zone file broke'), { code: 'EZONE' });
    log.error({ err, zone: 'example.test.' }, 'zone withdrawn');
    expect(lines[0]).toMatchObject({ msg: 'zone withdrawn', zone: 'example.test.', err: { type: 'Error', message: 'zone file broke', code: 'EZONE' } });
    expect(String((lines[0].err as { stack: string }).stack)).toContain('zone file broke');
  });

  test('the silent logger writes nothing and accepts everything', () => {
    const log = silentLogger();
    expect(() => log.error({ err: new Error('x') }, 'nothing')).not.toThrow();
    expect(log.isLevelEnabled('fatal')).toBe(false);
  });
});
