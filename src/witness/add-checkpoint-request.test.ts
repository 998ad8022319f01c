import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../test/support/thrown-code.js';
import { formatAddCheckpointRequest } from '../ledger/witnessing.js';
import { parseAddCheckpointRequest } from './add-checkpoint-request.js';
import { WitnessError } from './witness-errors.js';

const CHECKPOINT =
  'example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u2014 example.com/log AAAA\n';
const HASH = Buffer.alloc(32, 1).toString('base64');

describe('parseAddCheckpointRequest', () => {
  describe('when given what formatAddCheckpointRequest writes', () => {
    it('reads back the old size, the proof and the checkpoint', () => {
      fc.assert(
        fc.property(
          fc.nat(),
          fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 63 }),
          (oldSize, hashes) => {
            const proof = hashes.map((h) => Buffer.from(h));
            const parsed = parseAddCheckpointRequest(
              formatAddCheckpointRequest({ oldSize, proof, checkpoint: CHECKPOINT }),
            );
            expect(parsed).toEqual({ oldSize, proof, checkpoint: CHECKPOINT });
          },
        ),
      );
    });
  });

  describe('when the body is not an add-checkpoint request', () => {
    it.each([
      ['no empty line', `old 0\n${CHECKPOINT.replace('\n\n', '\n')}`.replace(/\n\n/g, '\n')],
      ['no old line', `\n${CHECKPOINT}`],
      ['a leading zero', `old 05\n\n${CHECKPOINT}`],
      ['a negative size', `old -1\n\n${CHECKPOINT}`],
      ['a short hash', `old 3\n${Buffer.alloc(31).toString('base64')}\n\n${CHECKPOINT}`],
      ['non-canonical base64', `old 3\n${HASH.replace('=', '')}\n\n${CHECKPOINT}`],
      ['64 proof lines', `old 3\n${`${HASH}\n`.repeat(64)}\n${CHECKPOINT}`],
    ])('refuses %s', (_, body) => {
      expect(thrownCode(() => parseAddCheckpointRequest(body), WitnessError)).toBe('WITNESS_BAD_REQUEST');
    });
  });
});
