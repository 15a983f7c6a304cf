// CausewayError.code is one union of every code (DESIGN.md §5): each module adds its code map
// to CausewayErrorCodes by declaration merging. The checks here are type-level: `npm run
// typecheck` fails if a misspelt code compiles (an unused @ts-expect-error is an error) or if
// a module's codes fall out of the union.
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  CausewayError,
  ErrorCode,
  WrongExpectedRevisionError,
  type CausewayErrorCode,
  BusErrorCode,
  BusPublishErrorCode,
  DomainErrorCode,
  FederationErrorCode,
  ProjectionErrorCode,
  SagaErrorCode,
  SchemaErrorCode,
  SecurityErrorCode,
  StreamErrorCode,
  ConsumerGroupErrorCode,
  SubscriptionErrorCode,
} from '@causewayjs/core';
import { MqttErrorCode } from '@causewayjs/mqtt';
import { CliErrorCode } from '@causewayjs/cli/internals';
import { HttpError, ServerErrorCode } from '@causewayjs/server';
import { AdminUiErrorCode } from '@causewayjs/server/internals';

const codeMaps = {
  ErrorCode,
  BusErrorCode,
  BusPublishErrorCode,
  MqttErrorCode,
  CliErrorCode,
  DomainErrorCode,
  FederationErrorCode,
  ProjectionErrorCode,
  SagaErrorCode,
  SchemaErrorCode,
  SecurityErrorCode,
  ServerErrorCode,
  AdminUiErrorCode,
  StreamErrorCode,
  ConsumerGroupErrorCode,
  SubscriptionErrorCode,
};

describe('CausewayErrorCode', () => {
  it('holds the codes of every module', () => {
    type Values<M> = M[keyof M];
    expectTypeOf<Values<typeof ErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof BusErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof BusPublishErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof MqttErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof CliErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof DomainErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof FederationErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof ProjectionErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof SagaErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof SchemaErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof SecurityErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof ServerErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof AdminUiErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof StreamErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof ConsumerGroupErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<Values<typeof SubscriptionErrorCode>>().toMatchTypeOf<CausewayErrorCode>();
    // A code map is spelt out: its values are the codes themselves, not merely strings.
    for (const [name, map] of Object.entries(codeMaps)) {
      for (const code of Object.values(map)) expect(code, name).toMatch(/^[A-Z][A-Z0-9_]*$/);
    }
  });

  it('is a union of literals, not any string', () => {
    expectTypeOf<string>().not.toMatchTypeOf<CausewayErrorCode>();
    expectTypeOf<CausewayError['code']>().toEqualTypeOf<CausewayErrorCode>();
  });

  it('refuses a misspelt code given to an error', () => {
    expect(new CausewayError('WRONG_EXPECTED_REVISION', 'x').code).toBe('WRONG_EXPECTED_REVISION');
    expect(new CausewayError('CLI_USAGE', 'x').code).toBe('CLI_USAGE');
    expect(new HttpError(409, 'SCHEMA_CONFLICT', 'x').code).toBe('SCHEMA_CONFLICT');
    // @ts-expect-error a misspelt code does not compile
    expect(new CausewayError('WRONG_EXPECTED_REVISON', 'x').code).toBeDefined();
    // @ts-expect-error a code of no module does not compile
    expect(new HttpError(400, 'BAD_THING', 'x').code).toBeDefined();

    class MisspeltError extends CausewayError {
      constructor() {
        // @ts-expect-error a subclass cannot pass a misspelt code either
        super('STREAM_DELETD', 'x');
      }
    }
    expect(new MisspeltError().code).toBe('STREAM_DELETD');
  });

  it('refuses a comparison of error.code with a misspelt code', () => {
    const error: CausewayError = new WrongExpectedRevisionError('s', 1, 2);
    expect(error.code === 'WRONG_EXPECTED_REVISION').toBe(true);
    expect(error.code === 'STREAM_INVALID_WINDOW').toBe(false);
    // @ts-expect-error a misspelt code cannot be compared with error.code
    expect(error.code === 'WRONG_EXPECTED_REVISON').toBe(false);
  });
});
