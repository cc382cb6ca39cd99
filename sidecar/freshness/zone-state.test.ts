import { initialZoneState, nextZoneState, ZoneEvent, ZoneState } from './zone-state';

function run(events: ZoneEvent[], from: ZoneState = initialZoneState('example.test.')) {
  let state = from;
  const withdrawals: number[] = [];
  const reparses: number[] = [];
  events.forEach((event, i) => {
    const step = nextZoneState(state, event);
    state = step.state;
    if (step.actions.withdraw) withdrawals.push(i);
    if (step.actions.reparse) reparses.push(i);
  });
  return { state, withdrawals, reparses };
}

describe('zone freshness', () => {
  it('offloads only once the parsed serial is the one BIND serves', () => {
    expect(run([{ kind: 'parsed', serial: 5 }]).state.status).toBe('withdrawn');
    expect(run([{ kind: 'parsed', serial: 5 }, { kind: 'bind-serial', serial: 4 }]).state.status).toBe('withdrawn');
    expect(run([{ kind: 'parsed', serial: 5 }, { kind: 'bind-serial', serial: 5 }]).state.status).toBe('offloaded');
    expect(run([{ kind: 'bind-serial', serial: 5 }, { kind: 'parsed', serial: 5 }]).state.status).toBe('offloaded');
  });

  it('withdraws at once when the file changes and waits for BIND to serve the new serial', () => {
    const r = run([
      { kind: 'parsed', serial: 5 },
      { kind: 'bind-serial', serial: 5 },
      { kind: 'file-changed' },
      { kind: 'parsed', serial: 6 },
      { kind: 'bind-serial', serial: 5 },
    ]);
    expect(r.withdrawals).toEqual([2]);
    expect(r.reparses).toEqual([2]);
    expect(r.state.status).toBe('withdrawn');
    expect(nextZoneState(r.state, { kind: 'bind-serial', serial: 6 }).state.status).toBe('offloaded');
  });

  it('does not offload the old data when BIND still serves the old serial after the file changed (a poll before the re-read)', () => {
    // Found by the soak: a serial poll landing between the edit and the re-read agreed with the
    // old parse, entries of the old data were installed, and the new parse left them there.
    const r = run([
      { kind: 'parsed', serial: 4 },
      { kind: 'bind-serial', serial: 4 },
      { kind: 'file-changed' },
      { kind: 'bind-serial', serial: 4 },
      { kind: 'bind-serial', serial: 4 },
    ]);
    expect(r.state).toMatchObject({ status: 'withdrawn', parsedSerial: null });
    expect(r.withdrawals).toEqual([2]);
    const parsed = nextZoneState(r.state, { kind: 'parsed', serial: 5 });
    expect(parsed.state.status).toBe('withdrawn');
    expect(nextZoneState(parsed.state, { kind: 'bind-serial', serial: 5 }).state.status).toBe('offloaded');
  });

  it('withdraws what is installed when a parse brings other data than it was built from', () => {
    const r = run([{ kind: 'parsed', serial: 4 }, { kind: 'bind-serial', serial: 4 }, { kind: 'parsed', serial: 5 }]);
    expect(r.withdrawals).toEqual([2]);
    expect(r.state.status).toBe('withdrawn');
    // The same serial parsed again (a file touched, an include re-read): nothing to withdraw.
    expect(run([{ kind: 'parsed', serial: 4 }, { kind: 'bind-serial', serial: 4 }, { kind: 'parsed', serial: 4 }]).withdrawals).toEqual([]);
  });

  it('withdraws and re-reads when BIND serves a serial we did not parse (dynamic update, rndc reload)', () => {
    const r = run([{ kind: 'parsed', serial: 5 }, { kind: 'bind-serial', serial: 5 }, { kind: 'bind-serial', serial: 7 }]);
    expect(r.state.status).toBe('withdrawn');
    expect(r.withdrawals).toEqual([2]);
    expect(r.reparses).toEqual([2]);
  });

  it('withdraws when BIND stops answering for the zone', () => {
    const r = run([{ kind: 'parsed', serial: 5 }, { kind: 'bind-serial', serial: 5 }, { kind: 'bind-serial', serial: null }]);
    expect(r.state.status).toBe('withdrawn');
    expect(r.withdrawals).toEqual([2]);
  });

  it('keeps a zone whose file does not parse in error until a parse succeeds', () => {
    const r = run([{ kind: 'parsed', serial: 5 }, { kind: 'bind-serial', serial: 5 }, { kind: 'file-changed' }, { kind: 'parse-failed', error: 'db.x:3: bad TTL' }, { kind: 'bind-serial', serial: 5 }]);
    expect(r.state.status).toBe('error');
    expect(r.state.error).toBe('db.x:3: bad TTL');
    expect(r.withdrawals).toEqual([2]);
    expect(nextZoneState(r.state, { kind: 'parsed', serial: 5 }).state.status).toBe('offloaded');
  });

  it('forgets what the entries were built from when it is superseded, until new data is taken', () => {
    const r = run([{ kind: 'parsed', serial: 7 }, { kind: 'bind-serial', serial: 7 }, { kind: 'superseded' }, { kind: 'bind-serial', serial: 7 }]);
    expect(r.withdrawals).toEqual([2]);
    expect(r.state).toMatchObject({ status: 'withdrawn', parsedSerial: null });
    expect(nextZoneState(r.state, { kind: 'parsed', serial: 7 }).state.status).toBe('offloaded');
  });

  describe('a zone named signs itself (inline-signing)', () => {
    const signed = (dynamic = false) => initialZoneState('example.test.', { signedByNamed: true, dynamic });

    it('offloads once the file parsed and BIND answered, whatever serial named gave the signed zone', () => {
      expect(run([{ kind: 'parsed', serial: 5 }], signed()).state.status).toBe('withdrawn');
      expect(run([{ kind: 'parsed', serial: 5 }, { kind: 'bind-serial', serial: 19 }], signed()).state.status).toBe('offloaded');
      expect(run([{ kind: 'bind-serial', serial: 19 }, { kind: 'parsed', serial: 5 }], signed()).state.status).toBe('offloaded');
      expect(run([{ kind: 'parsed', serial: 5 }, { kind: 'bind-serial', serial: null }], signed()).state.status).toBe('withdrawn');
    });

    it('keeps serving when named moves the serial of a zone only its file changes (a re-sign)', () => {
      const r = run([{ kind: 'parsed', serial: 5 }, { kind: 'bind-serial', serial: 19 }, { kind: 'bind-serial', serial: 20 }, { kind: 'bind-serial', serial: 21 }], signed());
      expect(r.withdrawals).toEqual([]);
      expect(r.reparses).toEqual([]);
      expect(r.state).toMatchObject({ status: 'offloaded', bindSerial: 21 });
      const gone = nextZoneState(r.state, { kind: 'bind-serial', serial: null });
      expect(gone.state.status).toBe('withdrawn');
      expect(gone.actions.withdraw).toBe(true);
    });

    it('withdraws a dynamic zone and re-reads it at every serial move (a re-sign looks like an update), then offloads again', () => {
      const r = run([{ kind: 'parsed', serial: 5 }, { kind: 'bind-serial', serial: 19 }, { kind: 'bind-serial', serial: 19 }, { kind: 'bind-serial', serial: 20 }], signed(true));
      expect(r.withdrawals).toEqual([3]);
      expect(r.reparses).toEqual([3]);
      expect(r.state.status).toBe('withdrawn');
      expect(nextZoneState(r.state, { kind: 'parsed', serial: 5 }).state).toMatchObject({ status: 'offloaded', bindSerial: 20 });
    });

    it('withdraws at once when the file changes, as for any zone', () => {
      const r = run([{ kind: 'parsed', serial: 5 }, { kind: 'bind-serial', serial: 19 }, { kind: 'file-changed' }], signed());
      expect(r.withdrawals).toEqual([2]);
      expect(r.reparses).toEqual([2]);
      expect(r.state.status).toBe('withdrawn');
    });
  });

  describe('a change seen on its way to BIND (UPDATE or NOTIFY through the XDP program)', () => {
    const offloaded = () => run([{ kind: 'parsed', serial: 5 }, { kind: 'bind-serial', serial: 5, nowMs: 0 }]).state;
    const seen: ZoneEvent = { kind: 'change-seen', nowMs: 1_000, holdMs: 5_000 };

    it('withdraws at once and stays withdrawn while BIND still serves the old serial, until the hold runs out', () => {
      const r = run([seen, { kind: 'bind-serial', serial: 5, nowMs: 1_100 }, { kind: 'bind-serial', serial: 5, nowMs: 5_999 }], offloaded());
      expect([r.state.status, r.withdrawals, r.reparses]).toEqual(['withdrawn', [0], []]);
      // An update BIND refused, or a NOTIFY for the serial it has: nothing changed after all.
      expect(nextZoneState(r.state, { kind: 'bind-serial', serial: 5, nowMs: 6_000 }).state).toMatchObject({ status: 'offloaded', hold: null });
      // A reading without a time never ends the hold.
      expect(nextZoneState(r.state, { kind: 'bind-serial', serial: 5 }).state.status).toBe('withdrawn');
    });

    it('ends the hold when BIND serves a new serial, then waits for the data to match as always', () => {
      const r = run([seen, { kind: 'bind-serial', serial: 6, nowMs: 1_050 }], offloaded());
      expect(r.state).toMatchObject({ status: 'withdrawn', hold: null });
      expect(r.reparses).toEqual([1]);
      expect(nextZoneState(r.state, { kind: 'parsed', serial: 6 }).state.status).toBe('offloaded');
    });

    it('holds a parse of the old serial too, and restarts the hold at a later change', () => {
      const held = run([seen, { kind: 'parsed', serial: 5 }], offloaded()).state;
      expect(held.status).toBe('withdrawn');
      const again = run([{ kind: 'change-seen', nowMs: 4_000, holdMs: 5_000 }, { kind: 'bind-serial', serial: 5, nowMs: 7_000 }], held);
      expect(again.state.status).toBe('withdrawn');
      expect(again.withdrawals).toEqual([]); // nothing installed to withdraw
      expect(nextZoneState(again.state, { kind: 'bind-serial', serial: 5, nowMs: 9_000 }).state.status).toBe('offloaded');
    });

    it('leaves a zone in error in error', () => {
      const broken = run([{ kind: 'parse-failed', error: 'db.x:1: bad' }]).state;
      expect(nextZoneState(broken, seen).state.status).toBe('error');
    });
  });
});
