/**
 * Long fuzz runs: `npx tsx test/fuzz/run-long.ts --cases N --seed S [--first I]
 * [--parser-cases M] [--only xdp|parsers] [--no-save]`. Runs N differential XDP cases (as root) and M inputs per
 * parser target, prints throughput and every finding (seed, case, frame hex), saves findings
 * under test/fuzz/regressions/, and exits 1 if anything was found.
 */
import { Command } from 'commander';
import { requireRoot } from '../support/require-root';
import { SantaUnderTest } from '../xdp/harness';
import { fuzzParser, saveParserFinding } from './parsers/supervise';
import { PARSER_TARGETS } from './parsers/targets';
import { XdpFuzzer } from './xdp/engine';
import { REGRESSION_DIR } from './xdp/regressions';

interface Options {
  cases: string;
  first: string;
  seed: string;
  parserCases: string;
  only?: 'xdp' | 'parsers';
  save: boolean;
}

function runXdp(seed: number, first: number, cases: number, save: boolean): number {
  requireRoot('XDP differential fuzzing');
  const santa = SantaUnderTest.load();
  const fuzzer = new XdpFuzzer(santa);
  try {
    const r = fuzzer.run({ seed, first, cases, maxFailures: 100, regressionDir: save ? REGRESSION_DIR : undefined, log: (l) => console.log(l) });
    console.log(`xdp: seed ${seed}, ${r.cases} cases in ${(r.elapsedMs / 1000).toFixed(1)} s, ${r.casesPerSecond} cases/s`);
    console.log(`xdp outcomes: ${JSON.stringify(r.outcomes)}`);
    console.log(`loopback guard: ${r.loopbackGuardRuns} runs, ${r.loopbackGuardBumps} zone bumps`);
    for (const m of r.hitCounterMismatches) console.log(`xdp hit counter: ${m}`);
    return r.failures.length + r.hitCounterMismatches.length;
  } finally {
    fuzzer.close();
    santa.close();
  }
}

async function runParsers(seed: number, cases: number, save: boolean): Promise<number> {
  let found = 0;
  for (const t of PARSER_TARGETS) {
    const r = await fuzzParser({ target: t.name, seed, cases, maxFindings: 20 });
    console.log(`parser ${t.name}: ${r.cases} inputs in ${(r.elapsedMs / 1000).toFixed(1)} s, ${r.findings.length} finding(s)`);
    for (const f of r.findings) {
      const where = save ? ` (saved as ${saveParserFinding(f, REGRESSION_DIR)})` : '';
      console.log(`  FAIL ${t.name} seed ${seed} case ${f.index}: ${f.problem}${where}`);
    }
    found += r.findings.length;
  }
  return found;
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--cases <n>', 'XDP cases', '1000000')
    .option('--seed <s>', 'run seed', String(Date.now() % 0x7fffffff))
    .option('--first <i>', 'first XDP case index (rerun one case: --first I --cases 1)', '0')
    .option('--parser-cases <n>', 'inputs per parser target', '20000')
    .option('--only <part>', 'xdp or parsers')
    .option('--no-save', 'do not save findings as regression files')
    .parse()
    .opts<Options>();
  const seed = Number(o.seed);
  console.log(`fuzz seed ${seed}`);
  let found = 0;
  if (o.only !== 'parsers') found += runXdp(seed, Number(o.first), Number(o.cases), o.save);
  if (o.only !== 'xdp') found += await runParsers(seed, Number(o.parserCases), o.save);
  console.log(found === 0 ? 'nothing found' : `${found} finding(s)`);
  process.exitCode = found === 0 ? 0 : 1;
}

void main();
