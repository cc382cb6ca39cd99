/**
 * When the soak does what to the system under test (seconds after the load starts). Pure.
 *
 * The faults come in the first part of the run, so the last stretch is one long-lived sidecar
 * whose memory trend means something; zone edits go on to the end.
 *   - edit: the next zone's file gets a new serial and new data (Santa has BIND reload it);
 *   - restart-term: SIGTERM, back after 1 s (the leases are still running);
 *   - restart-kill: SIGKILL, back after the lease plus 1 s (every entry has lapsed);
 *   - reconf: named.conf rewritten (a comment added) and named told to read it: Santa withdraws
 *     every answer and a new run in the same process takes over;
 *   - break / fix: one zone's file gets a new serial and a syntax error, later a good file.
 */
export type SoakEventKind = 'edit' | 'restart-term' | 'restart-kill' | 'reconf' | 'break' | 'fix';

export interface SoakEvent {
  atS: number;
  kind: SoakEventKind;
  /** How long the sidecar stays down (restarts only). */
  downS?: number;
}

export function soakSchedule(seconds: number, leaseS: number): SoakEvent[] {
  const warmupS = Math.min(6, seconds * 0.2);
  const editEveryS = seconds >= 60 ? 4 : 3;
  const events: SoakEvent[] = [];
  for (let t = warmupS; t < seconds - 2; t += editEveryS) events.push({ atS: t, kind: 'edit' });
  events.push({ atS: seconds * 0.22, kind: 'restart-term', downS: 1 });
  events.push({ atS: seconds * 0.38, kind: 'restart-kill', downS: leaseS + 1 });
  events.push({ atS: seconds * 0.5, kind: 'reconf' });
  events.push({ atS: seconds * 0.62, kind: 'break' });
  events.push({ atS: seconds * 0.74, kind: 'fix' });
  return events.sort((a, b) => a.atS - b.atS);
}
