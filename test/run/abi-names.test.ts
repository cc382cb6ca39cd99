/**
 * Pure modules that must not load the BPF binding (the ranking, used by `santa top`; the metrics)
 * name a few things santa_abi.h defines; these checks keep them equal to the compiled contract.
 */
import { santaAbi } from '../../sidecar/bpf/abi';
import { KEY_DO, KEY_EDNS, KEY_RD, KEY_V6 } from '../../sidecar/ranking/question-key';
import { PASS_REASONS } from '../../sidecar/metrics';

it('ranking key bits are santa_abi.h SANTA_KEY_*', () => {
  expect({ RD: KEY_RD, EDNS: KEY_EDNS, DO: KEY_DO, V6: KEY_V6 }).toEqual(santaAbi().keyFlags);
});

it('metrics name every pass reason the program counts', () => {
  const fromProgram = Object.keys(santaAbi().counters)
    .filter((name) => name.startsWith('PASS_'))
    .map((name) => name.slice('PASS_'.length).toLowerCase());
  expect([...PASS_REASONS].sort()).toEqual(fromProgram.sort());
});
