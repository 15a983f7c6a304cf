import type { Attributes } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
} from '@opentelemetry/semantic-conventions/incubating';

/** What a messaging span describes (see {@link messagingAttributes}). */
export interface MessagingSpan {
  /** `messaging.system`: `nats`, `rabbitmq`, `mqtt`, or `causeway` for the in-process bus. */
  system: string;
  /** `publish` (a `send` span, kind PRODUCER) or `process` (kind CONSUMER). */
  operation: 'publish' | 'process';
  /** `messaging.destination.name`: the subject, topic or routing key. */
  destination: string;
  /** `messaging.message.id`: the event's id. */
  messageId: string;
  /** `messaging.consumer.group.name`, for `process`. */
  group?: string | undefined;
  /** `messaging.message.conversation_id`: the event's correlation id, when it has one. */
  conversationId?: unknown;
}

/**
 * The OpenTelemetry messaging semantic-convention attributes of a publish or process span
 * (`messaging.system`, `messaging.operation.type` and `.name`, `messaging.destination.name`,
 * `messaging.message.id`, `messaging.consumer.group.name`, `messaging.message.conversation_id`).
 */
export function messagingAttributes(span: MessagingSpan): Attributes {
  return {
    [ATTR_MESSAGING_SYSTEM]: span.system,
    [ATTR_MESSAGING_OPERATION_TYPE]:
      span.operation === 'publish'
        ? MESSAGING_OPERATION_TYPE_VALUE_SEND
        : MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
    [ATTR_MESSAGING_OPERATION_NAME]: span.operation,
    [ATTR_MESSAGING_DESTINATION_NAME]: span.destination,
    [ATTR_MESSAGING_MESSAGE_ID]: span.messageId,
    ...(span.group === undefined ? {} : { [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: span.group }),
    ...(typeof span.conversationId === 'string'
      ? { [ATTR_MESSAGING_MESSAGE_CONVERSATION_ID]: span.conversationId }
      : {}),
  };
}
