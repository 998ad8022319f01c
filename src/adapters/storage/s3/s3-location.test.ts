import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../../test/support/thrown-code.js';
import { StorageError } from '../../../shared/storage-errors.js';
import { describeS3Location, parseS3Location } from './s3-location.js';

describe('parseS3Location', () => {
  it('reads bucket, prefix, region, endpoint and path style', () => {
    expect(
      parseS3Location(
        's3://zurich-samples/site/blobs?region=eu-central-2&endpoint=https://s3.zurich.internal&pathStyle=false',
      ),
    ).toEqual({
      bucket: 'zurich-samples',
      prefix: 'site/blobs/',
      region: 'eu-central-2',
      endpoint: 'https://s3.zurich.internal',
      pathStyle: false,
    });
  });

  it('defaults to no prefix, the SDK region and virtual hosts on AWS', () => {
    expect(parseS3Location('s3://zurich-public')).toEqual({
      bucket: 'zurich-public',
      prefix: '',
      region: undefined,
      endpoint: undefined,
      pathStyle: false,
    });
  });

  it('takes path style by default with a custom endpoint', () => {
    const location = parseS3Location('s3://logs/control/?endpoint=http://127.0.0.1:9000');
    expect(location).toMatchObject({
      prefix: 'control/',
      endpoint: 'http://127.0.0.1:9000',
      pathStyle: true,
    });
    expect(describeS3Location(location)).toBe('s3://logs/control/ at http://127.0.0.1:9000');
  });

  describe('when the URL is wrong', () => {
    it.each([
      ['not a url', 'not a URL'],
      ['https://bucket/prefix', 'scheme'],
      ['s3://AKIA:secret@bucket/prefix', 'credentials never go in the URL'],
      ['s3://bucket/prefix?endpoint=https://AKIA:secret@s3.internal', 'credentials never go in the URL'],
      ['s3://bucket/prefix?accessKeyId=AKIA', 'unknown query key "accessKeyId"'],
      ['s3://Bucket_Name/prefix', 'not a bucket name'],
      ['s3://bucket:9000/prefix', 'port'],
      ['s3://bucket/a//b', 'plain name'],
      ['s3://bucket/a%2F..%2Fb', 'plain name'],
      ['s3://bucket/a%ZZ', 'percent-encoding'],
      ['s3://bucket/p?pathStyle=yes', 'pathStyle must be true or false'],
      ['s3://bucket/p?endpoint=ftp://host', 'http(s)'],
      ['s3://bucket/p?endpoint=https://host/path', 'scheme, host and port only'],
      ['s3://bucket/p?region=EU%20central', 'not a region name'],
    ])('refuses %s with INVALID_STORAGE_URL', (url, message) => {
      expect(thrownCode(() => parseS3Location(url), StorageError)).toBe('INVALID_STORAGE_URL');
      expect(() => parseS3Location(url)).toThrow(message);
    });

    it('never repeats a secret in the message', () => {
      expect(() => parseS3Location('s3://AKIA:topsecret@bucket/p')).not.toThrow(/topsecret/);
      expect(() => parseS3Location('s3://bucket/p?secretAccessKey=topsecret')).not.toThrow(/topsecret/);
    });
  });
});
