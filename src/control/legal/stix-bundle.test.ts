import { describe, expect, it } from 'vitest';
import { GlasshouseError } from '../../shared/errors.js';
import { buildStixBundle } from './stix-bundle.js';
import { loadStixValidator } from './stix-validator.js';

const validate = loadStixValidator();
const now = new Date('2021-08-03T10:00:00.000Z');

function bundle() {
  return buildStixBundle({
    producer: 'glasshouse-test',
    title: 'Technical expertise',
    indicators: [
      {
        kind: 'md5',
        hash: '44d88612fea8a8f36de82e1278abb02f',
        verdict: 'malicious',
        threat: 'EICAR',
        firstSeen: '2021-01-01T00:00:00Z',
      },
      {
        kind: 'sha1',
        hash: '3395856ce81f2b7382dee72602f798b642f14140',
        verdict: 'suspicious',
        threat: '',
        firstSeen: '2021-01-02T00:00:00Z',
      },
      {
        kind: 'sha256',
        hash: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f',
        verdict: 'clean',
        threat: 'EICAR',
        firstSeen: '2021-01-03T00:00:00Z',
      },
    ],
    threats: ['Family.Without.Hashes'],
    now,
  });
}

describe('buildStixBundle', () => {
  describe('when given hashes of each kind and threat families', () => {
    it('validates against the OASIS STIX 2.1 schemas', () => {
      expect(() => validate(bundle())).not.toThrow();
    });

    it('writes one indicator per hash, one malware per family, and a report over all of them', () => {
      const { objects } = bundle();
      const of = (type: string) => objects.filter((o) => o.type === type);
      expect(of('indicator').map((o) => o.pattern)).toEqual([
        "[file:hashes.'MD5' = '44d88612fea8a8f36de82e1278abb02f']",
        "[file:hashes.'SHA-1' = '3395856ce81f2b7382dee72602f798b642f14140']",
        "[file:hashes.'SHA-256' = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f']",
      ]);
      expect(
        of('malware')
          .map((o) => o.name)
          .sort(),
      ).toEqual(['EICAR', 'Family.Without.Hashes']);
      expect(of('relationship')).toHaveLength(2);
      const [report] = of('report');
      expect(report?.object_refs).toHaveLength(objects.length - 1);
    });
  });

  describe('when a bundle breaks the schema', () => {
    it('is refused with INVALID_STIX_BUNDLE', () => {
      const broken = bundle();
      const malware = broken.objects.find((o) => o.type === 'malware')!;
      delete (malware as Record<string, unknown>).is_family;
      expect(() => validate(broken)).toThrow(GlasshouseError);
      expect(() => validate({ ...bundle(), id: 'bundle--not-a-uuid' })).toThrow(/does not validate/);
    });
  });
});
