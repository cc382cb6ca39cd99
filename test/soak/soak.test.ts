/**
 * The soak (soak.ts, `npm run soak`) for a short run: every fault of the schedule happens, every
 * answer is checked against BIND's, none is wrong, and XDP answered a real share of them.
 */
import { formatReport } from './report';
import { runSoak, soakFailures, type SoakReport } from './soak';

describe('soak: santa run under load while zones change and the sidecar restarts', () => {
  let report: SoakReport;
  const progress: string[] = [];

  beforeAll(async () => {
    report = await runSoak({ seconds: 30, qps: 2000, progress: (line) => progress.push(line) });
  }, 300_000);

  const explain = () => `${formatReport(report)}\n${progress.join('\n')}`;

  it('checks every answer and finds none wrong', () => {
    const c = report.client;
    if (c.wrong > 0 || c.checked === 0) throw new Error(`soak failed\n${explain()}`);
    expect(c.checked).toBe(c.answered);
    // Timeouts are reported, not wrong (a busy 2-core host drops some UDP while node starts up).
    expect(c.checked).toBeGreaterThan(0.5 * c.sent);
    // A reply the harness could not judge is not a checked answer: only a handful may occur.
    expect(c.unverifiable).toBeLessThanOrEqual(c.checked / 1000);
    expect(soakFailures(report)).toEqual([]);
  });

  it('went through every fault: edits BIND served, both restarts, named.conf read again, a broken and fixed zone', () => {
    const serialChanges = Object.values(report.client.serials).reduce((s, list) => s + list.length - 1, 0);
    expect(report.edits).toBeGreaterThanOrEqual(3);
    expect(serialChanges).toBeGreaterThanOrEqual(3);
    expect(report.restarts.map((r) => r.kind)).toEqual(['restart-term', 'restart-kill', 'reconf']);
    expect(report.broken?.fixedAtS).toBeDefined();
    expect(report.memory.length).toBeGreaterThan(3);
  });

  it('had XDP answer a real share of the load', () => {
    if (report.xdpAnswers < 0.15 * report.client.answered) throw new Error(`XDP answered only ${report.xdpAnswers} of ${report.client.answered}\n${explain()}`);
  });
});
