import { describe, expect, it } from 'vitest';
import type { EventInput } from '../core/envelope.js';
import { InvalidArgumentError, InvalidEventError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { prepareAppend, prepareAppendMany } from './validation.js';

const MAX = 1024 * 1024;

describe('prepareAppend', () => {
  it('gives every event without an id a distinct generated one, marked as not the caller’s', () => {
    const events = Array.from({ length: 300 }, () => ({ type: 't', data: {} }));
    const p = prepareAppend('s', events, 'any', MAX);
    expect(new Set(p.events.map((e) => e.id)).size).toBe(300);
    expect(p.events.every((e) => !e.clientId)).toBe(true);
  });

  it('refuses a caller’s id given twice, among generated ones', () => {
    const id = newId();
    const events = [
      { type: 't', data: {}, id },
      { type: 't', data: {} },
      { type: 't', data: {}, id: id.toUpperCase() },
    ];
    expect(() => prepareAppend('s', events, 'any', MAX)).toThrow(InvalidEventError);
    expect(() => prepareAppend('s', events, 'any', MAX)).toThrow(/index 2: event id .* twice/);
  });

  it('refuses a hole in the events array with a typed error', () => {
    const events: EventInput[] = [{ type: 't', data: {} }];
    events[2] = { type: 't', data: {} };
    expect(() => prepareAppend('s', events, 'any', MAX)).toThrow(InvalidEventError);
    expect(() => prepareAppend('s', events, 'any', MAX)).toThrow(/index 1: must be an object/);
  });
});

describe('prepareAppendMany', () => {
  it('refuses a caller’s id given in two requests, and accepts generated ids', () => {
    const id = newId();
    const ok = prepareAppendMany(
      [
        {
          stream: 'a',
          events: [
            { type: 't', data: {} },
            { type: 't', data: {}, id },
          ],
        },
        { stream: 'b', events: [{ type: 't', data: {} }] },
      ],
      MAX,
    );
    expect(new Set(ok.flatMap((p) => p.events.map((e) => e.id))).size).toBe(3);
    expect(() =>
      prepareAppendMany(
        [
          { stream: 'a', events: [{ type: 't', data: {}, id }] },
          { stream: 'b', events: [{ type: 't', data: {}, id }] },
        ],
        MAX,
      ),
    ).toThrow(InvalidArgumentError);
  });
});
