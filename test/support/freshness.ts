/**
 * The no-stale-answer check of the end-to-end suites: after a change of zone data, keep asking
 * the same question over UDP (which XDP may answer) and over TCP (which only BIND answers) until
 * XDP serves the new answer. Once BIND has given the new answer, every UDP answer must be the
 * new one too; the run fails at the first that is not.
 */

export interface FreshnessProbe {
  /** The answer to the question over UDP (from XDP or BIND). */
  udp(): Promise<string | undefined>;
  /** BIND's own answer (over TCP). */
  tcp(): Promise<string | undefined>;
  /** The program's hit counter. */
  hits(): number;
  /** The answer the change brings. */
  fresh: string;
  timeoutMs: number;
  /** What to show when it does not get there (santa's log). */
  describe(): string;
}

export async function expectNoStaleAnswer(p: FreshnessProbe): Promise<void> {
  let bindHasNew = false;
  let newFromXdp = false;
  const deadline = Date.now() + p.timeoutMs;
  while (Date.now() < deadline && !newFromXdp) {
    const hits = p.hits();
    const answer = await p.udp();
    const hit = p.hits() > hits;
    if (bindHasNew) expect(answer).toBe(p.fresh);
    if ((await p.tcp()) === p.fresh) bindHasNew = true;
    if (answer === p.fresh && hit) newFromXdp = true;
  }
  if (!bindHasNew || !newFromXdp) throw new Error(`BIND served the change: ${bindHasNew}; the new answer from XDP: ${newFromXdp}\n${p.describe()}`);
}
