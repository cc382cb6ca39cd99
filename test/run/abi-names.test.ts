/**
 * The ranking names the query bits of a cache key without depending on the BPF binding (it is a
 * pure module, also used by `santa top`); this checks its names against the compiled contract.
 */
import { santaAbi } from '../../sidecar/bpf/abi';
import { KEY_DO, KEY_EDNS, KEY_RD, KEY_V6 } from '../../sidecar/ranking/question-key';

it('ranking key bits are santa_abi.h SANTA_KEY_*', () => {
  expect({ RD: KEY_RD, EDNS: KEY_EDNS, DO: KEY_DO, V6: KEY_V6 }).toEqual(santaAbi().keyFlags);
});
