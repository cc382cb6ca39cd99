/**
 * Per-zone freshness: decides when a zone's entries may be served from XDP. A pure state machine
 * over three kinds of event (its file changed, a parse finished, BIND reported a serial); the
 * controller performs the actions it returns. The rule it enforces: entries of a zone are live only
 * while the data we built them from has the serial BIND itself serves.
 *
 * A zone named signs itself (inline-signing) is served under a serial of named's own, which moves
 * whenever named re-signs, so the two serials never agree. There the rule is: the file parsed,
 * BIND's serial known, and every entry checked against BIND's own answer (the controller's
 * verification). Only answers signing cannot change are built for such zones
 * (response/named-signed.ts), so a re-sign never makes an installed entry wrong, and a zone whose
 * data changes only through its file keeps its entries when the serial moves (a file edit
 * withdraws them before BIND can load it, as for any zone). A dynamic zone's serial also moves
 * for updates, which a re-sign cannot be told from: it is withdrawn at every move, and each entry
 * verified again at the new serial.
 *
 * A change can also be seen before BIND applies it: the XDP program sees UPDATE and NOTIFY
 * messages on their way to BIND (the zone change guard: it stops the zone's entries at once).
 * Asking BIND's serial right then would show the old one, and entries verified against the old
 * data would be installed just before BIND moves on. So the zone is held withdrawn until BIND's
 * serial has moved from the one it had when the change was seen, or the hold has run out (an
 * update BIND refused, a NOTIFY for a serial it already has, or a transfer slower than the hold).
 */

export type ZoneStatus =
  /** Parsed data and BIND agree: entries may be installed and served. */
  | 'offloaded'
  /** Waiting: a change is in flight (file edited, reload pending, serials differ). */
  | 'withdrawn'
  /** The zone file does not parse: nothing of this zone is served until it does. */
  | 'error';

export interface ZoneState {
  readonly zone: string;
  readonly status: ZoneStatus;
  /** Serial of the data we parsed, if the last parse succeeded. */
  readonly parsedSerial: number | null;
  /** Serial BIND served when last asked. */
  readonly bindSerial: number | null;
  readonly error: string | null;
  /** named signs the zone (inline-signing): its serial is not the file's. */
  readonly signedByNamed: boolean;
  /** BIND's data can change before the file does (updates, transfers): see ZoneConfig.dynamic. */
  readonly dynamic: boolean;
  /** A change seen on its way to BIND: withdrawn until BIND's serial leaves `serial` or the
   * clock passes `untilMs`. */
  readonly hold: { serial: number | null; untilMs: number } | null;
}

export type ZoneEvent =
  | { kind: 'file-changed' }
  | { kind: 'parsed'; serial: number }
  | { kind: 'parse-failed'; error: string }
  /** What the entries were built from no longer stands for the zone file, and nothing yet does
   * (a zone served from a transfer whose file changed: a new transfer must show BIND serves it). */
  | { kind: 'superseded' }
  /** An UPDATE or NOTIFY for the zone reached BIND (the XDP program saw it pass). */
  | { kind: 'change-seen'; nowMs: number; holdMs: number }
  /** `nowMs`: when the serial was read (a hold runs out only by a reading after its end). */
  | { kind: 'bind-serial'; serial: number | null; nowMs?: number };

export interface ZoneActions {
  /** Delete this zone's entries from the maps now. */
  withdraw: boolean;
  /** Parse the zone file again (the data BIND serves may come from a file we have not read). */
  reparse: boolean;
}

const NONE: ZoneActions = { withdraw: false, reparse: false };

export function initialZoneState(zone: string, kind: { signedByNamed?: boolean; dynamic?: boolean } = {}): ZoneState {
  return { zone, status: 'withdrawn', parsedSerial: null, bindSerial: null, error: null, signedByNamed: kind.signedByNamed ?? false, dynamic: kind.dynamic ?? false, hold: null };
}

export function nextZoneState(state: ZoneState, event: ZoneEvent): { state: ZoneState; actions: ZoneActions } {
  switch (event.kind) {
    case 'file-changed':
      // BIND may load the new file at any moment: stop serving before it can. What was parsed
      // no longer stands for the file, so no serial reading may offload it until it is read
      // again (BIND still serving the old serial would otherwise agree with the old data).
      return { state: { ...state, status: 'withdrawn', parsedSerial: null }, actions: { withdraw: state.status === 'offloaded', reparse: true } };
    case 'superseded':
      return { state: { ...state, status: 'withdrawn', parsedSerial: null, error: null }, actions: { withdraw: state.status === 'offloaded', reparse: false } };
    case 'change-seen': {
      // A later change restarts the hold from the serial BIND has now.
      const hold = { serial: state.bindSerial, untilMs: event.nowMs + event.holdMs };
      const status = state.status === 'error' ? 'error' : 'withdrawn';
      return { state: { ...state, status, hold }, actions: { withdraw: state.status === 'offloaded', reparse: false } };
    }
    case 'parse-failed':
      return { state: { ...state, status: 'error', parsedSerial: null, error: event.error }, actions: { withdraw: state.status === 'offloaded', reparse: false } };
    case 'parsed': {
      const next = { ...state, parsedSerial: event.serial, error: null };
      // Entries built from other data than this parse's must not outlive it.
      const stale = state.status === 'offloaded' && state.parsedSerial !== event.serial;
      return { state: { ...next, status: agree(next) ? 'offloaded' : 'withdrawn' }, actions: { withdraw: stale, reparse: false } };
    }
    case 'bind-serial': {
      const next = { ...state, bindSerial: event.serial, hold: holdAfter(state.hold, event) };
      if (state.status === 'error') return { state: next, actions: NONE };
      const serialMoved = event.serial !== null && event.serial !== state.bindSerial;
      // A dynamic zone named signs was checked against BIND at its old serial, and a re-sign
      // cannot be told from an update: withdraw, and let the entries be verified again.
      const recheck = state.signedByNamed && state.dynamic && serialMoved && state.bindSerial !== null;
      if (agree(next) && !recheck) return { state: { ...next, status: 'offloaded' }, actions: NONE };
      // BIND moved on (dynamic update, reload of a file edited earlier) or stopped serving the
      // zone: withdraw, and re-read the file in case the new data is there.
      return { state: { ...next, status: 'withdrawn' }, actions: { withdraw: state.status === 'offloaded', reparse: serialMoved } };
    }
  }
}

/** The hold once BIND reported `event.serial` at `event.nowMs`: gone once the serial moved or
 * the hold ran out. */
function holdAfter(hold: ZoneState['hold'], event: { serial: number | null; nowMs?: number }): ZoneState['hold'] {
  if (!hold) return null;
  if (event.serial !== null && event.serial !== hold.serial) return null;
  if (event.nowMs !== undefined && event.nowMs >= hold.untilMs) return null;
  return hold;
}

function agree(state: ZoneState): boolean {
  if (state.hold) return false;
  if (state.signedByNamed) return state.parsedSerial !== null && state.bindSerial !== null;
  return state.parsedSerial !== null && state.parsedSerial === state.bindSerial;
}
