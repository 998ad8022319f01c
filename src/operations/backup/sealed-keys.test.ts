import { describe, expect, it } from 'vitest';
import { openSealedKeys, sealKeys } from './sealed-keys.js';

describe('sealed keys', () => {
  const files = {
    'zurich.master.key': Buffer.alloc(32, 7),
    'control.ed25519.pem': Buffer.from('-----BEGIN'),
  };

  it('open with the passphrase they were sealed under', async () => {
    const sealed = await sealKeys(files, 'correct horse battery staple');
    expect(JSON.stringify(sealed)).not.toContain(Buffer.alloc(32, 7).toString('base64'));
    expect(await openSealedKeys(sealed, 'correct horse battery staple')).toEqual(files);
  });

  describe('when the passphrase is wrong or the ciphertext altered', () => {
    it('refuse with BACKUP_PASSPHRASE', async () => {
      const sealed = await sealKeys(files, 'correct horse battery staple');
      await expect(openSealedKeys(sealed, 'wrong horse')).rejects.toMatchObject({
        code: 'BACKUP_PASSPHRASE',
      });
      const flipped = Buffer.from(sealed.ciphertext, 'base64');
      flipped[0] = flipped[0]! ^ 1;
      await expect(
        openSealedKeys({ ...sealed, ciphertext: flipped.toString('base64') }, 'correct horse battery staple'),
      ).rejects.toMatchObject({ code: 'BACKUP_PASSPHRASE' });
    });
  });
});
