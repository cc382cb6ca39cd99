/**
 * Child process that fuzzes one parser target: `worker.ts <target> <seed> <first> <cases>
 * <budgetMs>`. It prints `c <i>` before case i (pipe writes are synchronous on Linux, so the
 * supervisor knows which case was running if this process hangs or dies), `f <i> <problem>`
 * for a broken contract or an input slower than the budget, and `done <cases> <ms>` at the end.
 */
import { caseRng } from './case-rng';
import { parserTarget } from './targets';

function main(): void {
  const [name, seedText, firstText, casesText, budgetText] = process.argv.slice(2);
  const target = parserTarget(name);
  const seed = Number(seedText);
  const first = Number(firstText);
  const cases = Number(casesText);
  const budgetMs = Number(budgetText);
  const start = Date.now();
  for (let i = first; i < first + cases; i++) {
    process.stdout.write(`c ${i}\n`);
    const t0 = Date.now();
    let problem = target.check(caseRng(name, seed, i));
    const took = Date.now() - t0;
    if (!problem && took > budgetMs) problem = `took ${took} ms, over the ${budgetMs} ms budget`;
    if (problem) process.stdout.write(`f ${i} ${JSON.stringify(problem)}\n`);
  }
  process.stdout.write(`done ${cases} ${Date.now() - start}\n`);
}

main();
