import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secrets } from '../server/src/secrets/secrets.ts';
import { addressRefusal, classifyAddress, guardedLookup, type AddressKind, type AddressPolicy } from '../server/src/webhooks/address-guard.ts';
import { nextRetryDelay, parseRetryAfter } from '../server/src/webhooks/retry-schedule.ts';
import { closeWebhookAgents, sendWebhook } from '../server/src/webhooks/send-webhook.ts';
import { newWebhookSecret, signatureHeader, WebhookSecretBox } from '../server/src/webhooks/webhook-signing.ts';
import { startReceiver, type Receiver } from './support/webhooks.ts';

// Pure units and real sockets: no database, no app. The receiver is a real HTTP server on 127.0.0.1.

const NOTHING: AddressPolicy = { allowLoopback: false, allowPrivate: false };
const LOOPBACK: AddressPolicy = { allowLoopback: true, allowPrivate: false };
const PRIVATE: AddressPolicy = { allowLoopback: false, allowPrivate: true };
const BOTH: AddressPolicy = { allowLoopback: true, allowPrivate: true };

describe('classifyAddress', () => {
  const cases: Array<[string, AddressKind]> = [
    // loopback
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    // private
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.254', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456:789a::1', 'private'],
    // link-local, cloud metadata included
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1ff:fe23:4567:890a', 'link-local'],
    ['febf::1', 'link-local'],
    // reserved
    ['0.0.0.0', 'reserved'],
    ['0.1.2.3', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['239.255.255.250', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.51.100.7', 'reserved'],
    ['203.0.113.9', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['ff02::1', 'reserved'],
    // IPv4 inside IPv6: mapped (dotted and hex) and NAT64 well-known prefix
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:7F00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:a00:1', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:0.0.0.0', 'reserved'],
    ['64:ff9b::a00:1', 'private'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['::ffff:8.8.8.8', 'public'],
    // public, including the neighbours of the ranges above
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.1', 'public'],
    ['100.63.255.255', 'public'],
    ['100.128.0.1', 'public'],
    ['11.0.0.1', 'public'],
    ['126.255.255.255', 'public'],
    ['128.0.0.1', 'public'],
    ['223.255.255.255', 'public'],
    ['2606:4700::1111', 'public'],
    ['2a00:1450:4001:82b::200e', 'public'],
  ];

  it.each(cases)('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it('throws on something that is not an IP address', () => {
    expect(() => classifyAddress('localhost')).toThrow(/not an IP address/);
    expect(() => classifyAddress('127.0.0.1.nip.io')).toThrow(/not an IP address/);
    expect(() => classifyAddress('')).toThrow(/not an IP address/);
  });

  // NAT64 with the zeros written out is the same address as 64:ff9b::7f00:1 (loopback above).
  // The uncompressed-mapped form is classified right (0:0:0:0:0:ffff:7f00:1); this one should be too.
  it('classifies the uncompressed NAT64 form like the compressed one', () => {
    expect(classifyAddress('64:ff9b:0:0:0:0:7f00:1')).toBe('loopback');
    expect(classifyAddress('64:ff9b:0:0:0:0:a00:1')).toBe('private');
  });
});

describe('addressRefusal', () => {
  it('lets public addresses through under every policy', () => {
    for (const policy of [NOTHING, LOOPBACK, PRIVATE, BOTH]) {
      expect(addressRefusal('8.8.8.8', policy)).toBeNull();
      expect(addressRefusal('2606:4700::1111', policy)).toBeNull();
    }
  });

  it('allows loopback only with allowLoopback, private only with allowPrivate, each independently', () => {
    expect(addressRefusal('127.0.0.1', NOTHING)).toBe('127.0.0.1 is a loopback address');
    expect(addressRefusal('127.0.0.1', PRIVATE)).toBe('127.0.0.1 is a loopback address');
    expect(addressRefusal('127.0.0.1', LOOPBACK)).toBeNull();
    expect(addressRefusal('::1', LOOPBACK)).toBeNull();
    expect(addressRefusal('::ffff:7f00:1', NOTHING)).toBe('::ffff:7f00:1 is a loopback address');

    expect(addressRefusal('10.0.0.5', NOTHING)).toBe('10.0.0.5 is a private address');
    expect(addressRefusal('10.0.0.5', LOOPBACK)).toBe('10.0.0.5 is a private address');
    expect(addressRefusal('10.0.0.5', PRIVATE)).toBeNull();
    expect(addressRefusal('fd00::1', PRIVATE)).toBeNull();
    expect(addressRefusal('::ffff:10.0.0.1', LOOPBACK)).toBe('::ffff:10.0.0.1 is a private address');
  });

  it('never allows link-local (cloud metadata) or reserved addresses, whatever the policy', () => {
    for (const address of ['169.254.169.254', 'fe80::1', '::ffff:169.254.169.254', '0.0.0.0', '224.0.0.1', '240.0.0.1', '::', '2001:db8::1']) {
      expect(addressRefusal(address, BOTH), address).toMatch(/ is a (link-local|reserved) address$/);
    }
  });
});

/** guardedLookup called the way net.connect calls it. */
function lookup(policy: AddressPolicy, hostname: string, all: boolean) {
  return new Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number | undefined }>((resolve) =>
    guardedLookup(policy)(hostname, { all }, (error, address, family) => resolve({ error, address, family })),
  );
}

describe('guardedLookup', () => {
  it('refuses a name that resolves to loopback when loopback is not allowed', async () => {
    for (const all of [true, false]) {
      const { error } = await lookup(NOTHING, 'localhost', all);
      expect(error).toBeInstanceOf(Error);
      expect(error!.code).toBe('EBLOCKEDADDRESS');
      expect(error!.message).toMatch(/^localhost resolves to .* is a loopback address, which webhooks may not reach$/);
    }
    // Allowing private networks does not allow loopback.
    expect((await lookup(PRIVATE, 'localhost', true)).error?.code).toBe('EBLOCKEDADDRESS');
  });

  it('hands back the checked addresses when the policy allows them', async () => {
    const all = await lookup(LOOPBACK, 'localhost', true);
    expect(all.error).toBeNull();
    expect(Array.isArray(all.address)).toBe(true);
    const list = all.address as LookupAddress[];
    expect(list.length).toBeGreaterThan(0);
    for (const entry of list) expect(classifyAddress(entry.address)).toBe('loopback');

    const one = await lookup(LOOPBACK, 'localhost', false);
    expect(one.error).toBeNull();
    expect(typeof one.address).toBe('string');
    expect(classifyAddress(one.address as string)).toBe('loopback');
    expect([4, 6]).toContain(one.family);
  });
});

describe('sendWebhook against a real receiver on 127.0.0.1', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    closeWebhookAgents();
    await receiver.close();
  });

  const send = (url: string, policy: AddressPolicy, body = '{"type":"webhook.test"}') => sendWebhook({ url, headers: { 'content-type': 'application/json', 'webhook-id': 'msg_test' }, body }, { timeoutMs: 3_000, policy });

  it('refuses the IP literal 127.0.0.1 when loopback is not allowed, without connecting', async () => {
    const outcome = await send(`http://127.0.0.1:${receiver.port}/literal`, NOTHING);
    expect(outcome.statusCode).toBeNull();
    expect(outcome.responseBody).toBeNull();
    expect(outcome.error).toMatch(/^blocked: /);
    expect(outcome.error).toContain('127.0.0.1 is a loopback address');
    // Also an IPv6 literal carrying it, and allowing only private networks.
    const mapped = await send(`http://[::ffff:127.0.0.1]:${receiver.port}/mapped`, PRIVATE);
    expect(mapped.error).toMatch(/^blocked: .*loopback/);
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses http://localhost:<port> when loopback is not allowed: the guarded lookup checks what DNS / hosts resolved', async () => {
    const outcome = await send(`http://localhost:${receiver.port}/by-name`, NOTHING);
    expect(outcome.statusCode).toBeNull();
    expect(outcome.error).toMatch(/^blocked: localhost resolves to /);
    expect(outcome.error).toContain('loopback');
    const privateOnly = await send(`http://localhost:${receiver.port}/by-name-private`, PRIVATE);
    expect(privateOnly.error).toMatch(/^blocked: /);
    // Give a stray connection time to land before asserting none did.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.received).toHaveLength(0);
  });

  it('delivers to the same receiver, by literal and by name, when loopback is allowed', async () => {
    receiver.answer(() => ({ status: 202, body: 'accepted', headers: { 'retry-after': '7' } }));
    try {
      const literal = await send(`http://127.0.0.1:${receiver.port}/literal-ok`, LOOPBACK, '{"n":1}');
      expect(literal).toMatchObject({ statusCode: 202, error: null, responseBody: 'accepted', retryAfter: '7' });
      const byName = await send(`http://localhost:${receiver.port}/name-ok`, LOOPBACK, '{"n":2}');
      expect(byName).toMatchObject({ statusCode: 202, error: null, responseBody: 'accepted' });
      expect(receiver.received.map((r) => r.body)).toEqual(['{"n":1}', '{"n":2}']);
      expect(receiver.received[0]!.headers['webhook-id']).toBe('msg_test');
      expect(receiver.received[0]!.headers['content-length']).toBe('7');
    } finally {
      receiver.answer(() => ({ status: 200, body: 'ok' }));
    }
  });

  it('never throws: a bad URL and a closed port come back as outcomes', async () => {
    const invalid = await send('not a url', BOTH);
    expect(invalid).toMatchObject({ statusCode: null, error: 'invalid URL' });
    const closed = await startReceiver();
    const port = closed.port;
    await closed.close();
    const refused = await send(`http://127.0.0.1:${port}/gone`, LOOPBACK);
    expect(refused).toMatchObject({ statusCode: null, error: 'connection refused' });
  });
});

describe('sendWebhook timing', () => {
  it('counts the timeout from when a connection is free: many sends to one slow receiver all get its answer', async () => {
    const slow = http.createServer((_req, res) => setTimeout(() => res.end('late but fine'), 300));
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const { port } = slow.address() as AddressInfo;
    try {
      // 24 sends share at most 8 connections to the receiver: three rounds of 300 ms, each within the 700 ms timeout.
      const outcomes = await Promise.all(
        Array.from({ length: 24 }, (_, i) => sendWebhook({ url: `http://127.0.0.1:${port}/slow`, headers: { 'webhook-id': `msg_${i}` }, body: '{}' }, { timeoutMs: 700, policy: LOOPBACK })),
      );
      expect(outcomes.map((outcome) => outcome.statusCode)).toEqual(Array(24).fill(200));
      // A receiver slower than the timeout still times out.
      const tooSlow = await sendWebhook({ url: `http://127.0.0.1:${port}/slow`, headers: {}, body: '{}' }, { timeoutMs: 100, policy: LOOPBACK });
      expect(tooSlow).toMatchObject({ statusCode: null, error: 'timed out after 100 ms' });
    } finally {
      closeWebhookAgents();
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  });
});

describe('nextRetryDelay', () => {
  const SECOND = 1_000;
  const MINUTE = 60 * SECOND;
  const HOUR = 60 * MINUTE;
  const PUBLISHED = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR];

  it('waits the published schedule after failures 1..7 (no jitter at random() = 0.5)', () => {
    expect(PUBLISHED.map((_, i) => nextRetryDelay(i + 1, null, () => 0.5))).toEqual(PUBLISHED);
  });

  it('spreads each wait by at most ±10 %: random() = 0 gives -10 %, random() = 1 gives +10 %', () => {
    expect(PUBLISHED.map((_, i) => nextRetryDelay(i + 1, null, () => 0))).toEqual(PUBLISHED.map((ms) => Math.round(ms * 0.9)));
    expect(PUBLISHED.map((_, i) => nextRetryDelay(i + 1, null, () => 1))).toEqual(PUBLISHED.map((ms) => Math.round(ms * 1.1)));
    for (let i = 0; i < 200; i++) {
      const failures = 1 + (i % 7);
      const wait = nextRetryDelay(failures, null)!;
      expect(wait).toBeGreaterThanOrEqual(PUBLISHED[failures - 1]! * 0.9);
      expect(wait).toBeLessThanOrEqual(PUBLISHED[failures - 1]! * 1.1);
    }
  });

  it('gives up (null) after the eighth failure, Retry-After or not', () => {
    expect(nextRetryDelay(7, null, () => 0.5)).not.toBeNull();
    expect(nextRetryDelay(8, null)).toBeNull();
    expect(nextRetryDelay(9, null)).toBeNull();
    expect(nextRetryDelay(8, 60_000)).toBeNull();
  });

  it('uses Retry-After instead of the schedule, clamped to [1 s, 24 h], without jitter', () => {
    expect(nextRetryDelay(1, 120_000, () => 0)).toBe(120_000);
    expect(nextRetryDelay(3, 120_000, () => 1)).toBe(120_000);
    expect(nextRetryDelay(1, 0)).toBe(SECOND);
    expect(nextRetryDelay(1, 250)).toBe(SECOND);
    expect(nextRetryDelay(2, 24 * HOUR)).toBe(24 * HOUR);
    expect(nextRetryDelay(2, 48 * HOUR)).toBe(24 * HOUR);
    expect(nextRetryDelay(7, 999_999_999_000)).toBe(24 * HOUR);
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-11-02T10:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 7 ', now)).toBe(7_000);
    expect(parseRetryAfter('0', now)).toBe(0);
  });

  it('reads an HTTP date, relative to now; a date in the past is 0', () => {
    expect(parseRetryAfter('Mon, 02 Nov 2026 11:00:00 GMT', now)).toBe(3_600_000);
    expect(parseRetryAfter(new Date(now.getTime() + 90_000).toUTCString(), now)).toBe(90_000);
    expect(parseRetryAfter('Sun, 01 Nov 2026 10:00:00 GMT', now)).toBe(0);
  });

  it('gives null for absent or unreadable values', () => {
    expect(parseRetryAfter(undefined, now)).toBeNull();
    for (const garbage of ['', 'soon', 'in 2 minutes', '10 s', '120.0', '1e3', '0x10', '12abc', 'Infinity']) {
      expect(parseRetryAfter(garbage, now), JSON.stringify(garbage)).toBeNull();
    }
  });

  // Date.parse is lenient: it reads "-5" as May 2001, "1.5" as January 2001, "abc 12" as December 2001.
  // These are unreadable Retry-After values, which the function promises to answer with null.
  it('gives null for number-like garbage that Date.parse happens to accept', () => {
    for (const garbage of ['-5', '1.5', 'abc 12']) {
      expect(parseRetryAfter(garbage, now), JSON.stringify(garbage)).toBeNull();
    }
  });
});

describe('signatureHeader', () => {
  const id = 'msg_2Lh1nXGQ5aAE9bWnq0Yd';
  const timestamp = 1_793_613_600;
  const body = JSON.stringify({ id, type: 'webhook.test', data: { message: 'héllo ✓' } });

  it('equals what the standardwebhooks reference produces for the same id, timestamp, body and secret', () => {
    for (let i = 0; i < 5; i++) {
      const secret = newWebhookSecret();
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      const expected = new Webhook(secret).sign(id, new Date(timestamp * 1000), body);
      expect(signatureHeader([secret], id, timestamp, body)).toBe(expected);
      expect(signatureHeader([secret], id, timestamp + 1, body)).not.toBe(expected);
      expect(signatureHeader([secret], id, timestamp, body + ' ')).not.toBe(expected);
    }
  });

  it('signs with every secret, space-separated, in order; the reference verifier accepts either secret', () => {
    const current = newWebhookSecret();
    const previous = newWebhookSecret();
    const header = signatureHeader([current, previous], id, timestamp, body);
    const parts = header.split(' ');
    expect(parts).toEqual([new Webhook(current).sign(id, new Date(timestamp * 1000), body), new Webhook(previous).sign(id, new Date(timestamp * 1000), body)]);
    expect(parts[0]).not.toBe(parts[1]);
    for (const part of parts) expect(part).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);

    const now = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(now), 'webhook-signature': signatureHeader([current, previous], id, now, body) };
    expect(new Webhook(current).verify(body, headers)).toMatchObject({ type: 'webhook.test' });
    expect(new Webhook(previous).verify(body, headers)).toMatchObject({ type: 'webhook.test' });
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
  });
});

describe('WebhookSecretBox', () => {
  const secrets = new Secrets(randomBytes(32));
  const tenantA = 'ten_aaaaaaaaaaaa';
  const tenantB = 'ten_bbbbbbbbbbbb';

  it('opens what it sealed for the same tenant and endpoint; the ciphertext does not contain the secret', () => {
    const secret = newWebhookSecret();
    const box = new WebhookSecretBox(secrets, tenantA);
    const sealed = box.seal(secret, 'we_AAAAAAAAAAAA');
    expect(sealed.includes(Buffer.from(secret))).toBe(false);
    expect(sealed.includes(Buffer.from(secret.slice(6), 'base64'))).toBe(false);
    expect(box.open(sealed, 'we_AAAAAAAAAAAA')).toBe(secret);
    // A fresh nonce each time: sealing twice gives two ciphertexts.
    expect(box.seal(secret, 'we_AAAAAAAAAAAA').equals(sealed)).toBe(false);
  });

  it('refuses a ciphertext moved to another endpoint id', () => {
    const box = new WebhookSecretBox(secrets, tenantA);
    const sealed = box.seal(newWebhookSecret(), 'we_AAAAAAAAAAAA');
    expect(() => box.open(sealed, 'we_BBBBBBBBBBBB')).toThrow();
  });

  it('refuses a ciphertext moved to another tenant (same endpoint id), or opened under another master key', () => {
    const sealed = new WebhookSecretBox(secrets, tenantA).seal(newWebhookSecret(), 'we_AAAAAAAAAAAA');
    expect(() => new WebhookSecretBox(secrets, tenantB).open(sealed, 'we_AAAAAAAAAAAA')).toThrow();
    expect(() => new WebhookSecretBox(new Secrets(randomBytes(32)), tenantA).open(sealed, 'we_AAAAAAAAAAAA')).toThrow();
  });

  it('refuses a tampered ciphertext', () => {
    const box = new WebhookSecretBox(secrets, tenantA);
    const sealed = box.seal(newWebhookSecret(), 'we_AAAAAAAAAAAA');
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    expect(() => box.open(tampered, 'we_AAAAAAAAAAAA')).toThrow();
  });
});
