import { mix32, Rng } from '../random';

/** Case i of a parser target's run: its own stream, so the targets do not share inputs. */
export function caseRng(target: string, seed: number, index: number): Rng {
  let h = seed >>> 0;
  for (let i = 0; i < target.length; i++) h = mix32(h ^ target.charCodeAt(i));
  return Rng.forCase(h, index);
}
