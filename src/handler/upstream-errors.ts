/*
 * How an exchange with the upstream fails: one class per failure, so the
 * relay can tell the caller, the metrics and billing what happened.
 */

/** The upstream could not be reached, or closed before sending headers. */
export class UpstreamUnreachableError extends Error {
  /** Upstream attempts made before giving up (set by `sendWithRetries`). */
  attempts = 1;
  constructor(message: string) {
    super(message);
    // Spelled out: the bundle is minified, and class names with it.
    this.name = 'UpstreamUnreachableError';
  }
}
/** The upstream did not answer within the deadline. */
export class UpstreamTimeoutError extends Error {
  attempts = 1;
  constructor(message: string) {
    super(message);
    // Spelled out: the bundle is minified, and class names with it.
    this.name = 'UpstreamTimeoutError';
  }
}
/** The upstream closed the connection after its headers, before its answer was complete. */
export class UpstreamCutError extends UpstreamUnreachableError {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamCutError';
  }
}
/** The upstream's answer was larger than the router buffers. */
export class UpstreamTooLargeError extends UpstreamUnreachableError {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamTooLargeError';
  }
}
/** The caller hung up: the request in flight was stopped, and no other is started. */
export class ClientGoneError extends UpstreamUnreachableError {
  constructor() {
    super('the caller went away');
    this.name = 'ClientGoneError';
  }
}
/** The upstream answered 2xx with something that is not what was asked for (not a completion, not SSE). */
export class UpstreamInvalidResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamInvalidResponseError';
  }
}
/**
 * A stream was still running when the function's own deadline came near: cut
 * by the router so that the caller and the logs learn why, rather than
 * silently by the Lambda runtime.
 */
export class InvocationDeadlineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvocationDeadlineError';
  }
}
