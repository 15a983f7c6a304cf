// A reader that meets a `subject.forgotten` audit event in the log stops decrypting that
// subject at once, however fresh its cached key: a projection rebuilt or a saga run after the
// forget, in another process, never decrypts the subject again.
import { describe, expect, it } from 'vitest';
import {
  collect,
  encryptedEventStore,
  generateMasterKey,
  ManualClock,
  MemoryDataKeyStore,
  MemoryEventStore,
  REDACTED,
  SUBJECT_FORGOTTEN_EVENT,
} from '@causewayjs/core';

const master = generateMasterKey('notice-1');
const personal = { 'customer.registered': { subject: '$.customerId', fields: ['$.email'] } };

describe('forget notices in the log', () => {
  it('make another process drop the cached key when it reads them', async () => {
    const raw = new MemoryEventStore();
    const keyStore = new MemoryDataKeyStore();
    const clock = new ManualClock(0);
    // Two processes on the same database, caching keys for an hour.
    const here = await encryptedEventStore(raw, { keyStore, masterKey: master, personal, clock });
    const there = await encryptedEventStore(raw, {
      keyStore,
      masterKey: master,
      personal,
      clock,
      keyCacheMs: 3_600_000,
    });
    await here.append('customer-1', [
      { type: 'customer.registered', data: { customerId: 'c-1', email: 'ada@example.com' } },
    ]);
    const emailThere = async () =>
      ((await collect(there.readStream('customer-1')))[0]?.data as { email: string }).email;
    expect(await emailThere()).toBe('ada@example.com');

    await here.forgetSubject('c-1');
    // Not noticed yet: the key is cached there for an hour.
    expect(await emailThere()).toBe('ada@example.com');
    // Reading the log up to the audit event is enough.
    const read = await collect(there.readAll());
    expect(read.at(-1)?.type).toBe(SUBJECT_FORGOTTEN_EVENT);
    expect(await emailThere()).toBe(REDACTED);
    expect(await there.subjectForgotten('c-1')).toBe(true);
  });
});
