/**
 * Domain events: one JSON log line per thing an operator runs the service by (a relocation
 * finished, an import done, an erasure completed…), each with an `event` field. Their fields
 * are identifiers and counts only: never a file name, a person's name, a token secret or an
 * installation id (pseudonymous, but personal data: the transparency log holds commitments
 * instead, and an erasure could not reach a copy of the logs in a log collector).
 */
export type DomainEventName =
  | 'relocation.finished'
  | 'verdicts.imported'
  | 'legal.history_imported'
  | 'privacy.history_imported'
  | 'privacy.erasure_completed'
  | 'report.published'
  | 'report.withdrawn'
  | 'token.created'
  | 'token.revoked'
  | 'policy.version_added'
  | 'backup.made';

export type DomainEventFields = Readonly<Record<string, string | number | boolean | null>>;

/** What services are given (optional in their options: tests leave it out). */
export type DomainEvents = (event: DomainEventName, fields?: DomainEventFields) => void;

/** The part of a pino logger the events need. */
export interface EventLogger {
  info(fields: object, message: string): void;
}

/**
 * The events of one process, written to a logger attached once it exists: the serving
 * process opens its services before Fastify creates its logger, so the app attaches it.
 * Events before that (or in a process that attaches none, the CLI) are not logged.
 *
 * @example
 * const events = new DomainEventLog();
 * events.attach(app.log);
 * events.emit('token.revoked', { token: id });
 */
export class DomainEventLog {
  #logger: EventLogger | undefined;

  constructor(logger?: EventLogger) {
    this.#logger = logger;
  }

  /** Attaches `logger` unless one is attached already (a test's own logger wins). */
  attach(logger: EventLogger): void {
    this.#logger ??= logger;
  }

  readonly emit: DomainEvents = (event, fields = {}) => {
    this.#logger?.info({ ...fields, event }, event);
  };
}
