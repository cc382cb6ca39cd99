/**
 * `npm run soak -- [--seconds N] [--qps N] [--lease N] [--generic] [--keep]`: runs the soak
 * (soak.ts) as root and prints its Markdown report. Exits 1 when any answer was wrong, nothing
 * was checked or a process died; 2 on bad arguments; 130 when interrupted (after cleaning up).
 */
import { formatReport } from './report';
import { runSoak, soakFailures, type SoakOptions } from './soak';

function parseArgs(argv: string[]): SoakOptions {
  const o: SoakOptions = { seconds: 120, qps: 3000 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const num = (lo: number, hi: number) => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${flag} wants an integer from ${lo} to ${hi}, not ${argv[i]}`);
      return n;
    };
    if (flag === '--seconds') o.seconds = num(20, 3600);
    else if (flag === '--qps') o.qps = num(100, 20_000);
    else if (flag === '--lease') o.leaseS = num(2, 120);
    else if (flag === '--generic') o.xdpMode = 'generic';
    else if (flag === '--keep') o.keep = true;
    else throw new Error(`unknown option ${flag} (see test/soak/main.ts)`);
  }
  return o;
}

async function main(): Promise<number> {
  let options: SoakOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`soak: ${(e as Error).message}\n`);
    return 2;
  }
  const abort = new AbortController();
  // Ctrl-C reaches this process twice (from the terminal's process group and relayed by tsx):
  // every signal after the first is ignored, so that the clean-up is never cut short.
  const onSignal = (sig: string) => {
    if (abort.signal.aborted) return;
    process.stderr.write(`soak: ${sig}, cleaning up\n`);
    abort.abort();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  try {
    const report = await runSoak({ ...options, abort: abort.signal, progress: (line) => process.stderr.write(line + '\n') });
    process.stdout.write(formatReport(report));
    return soakFailures(report).length > 0 ? 1 : 0;
  } catch (e) {
    process.stderr.write(`soak failed: ${(e as Error).stack ?? String(e)}\n`);
    return abort.signal.aborted ? 130 : 1;
  }
}

void main().then((code) => process.exit(code));
