import type { Kysely } from 'kysely';
import type { Actor, AuditSink } from '../../ports/audit-sink.js';
import type {
  CommentQuery,
  SampleComment,
  SampleHit,
  SampleNotes,
  SampleSearch,
  SampleSearchPage,
} from '../../ports/catalogue.js';
import { CatalogueError } from '../../shared/catalogue-errors.js';
import { MAX_TAGS_PER_SAMPLE, parseCommentText, parseTag } from '../../shared/sample-tag.js';
import { VaultError } from '../../shared/vault-errors.js';
import type { VaultTables } from '../vault/vault-tables.js';
import type { CatalogueTables } from './catalogue-tables.js';

type Tables = CatalogueTables & VaultTables;

export interface CatalogueServiceOptions {
  readonly site: string;
  readonly db: Kysely<Tables>;
  readonly durable: () => Promise<void>;
  /** The site's own log: every tag and comment change is an entry there. */
  readonly audit: AuditSink;
  readonly now: () => Date;
}

/**
 * The site's catalogue of its samples: analysts' tags and comments, and the search over the
 * vault's samples. It reads the vault's `samples` table and writes only its own tables.
 */
export class CatalogueService {
  readonly #o: CatalogueServiceOptions;

  constructor(options: CatalogueServiceOptions) {
    this.#o = options;
  }

  /**
   * Adds the tag (idempotent); logged as `sample.tagged` when it is new here.
   *
   * @example
   * await catalogue.tag(sha256, 'family:emotet', actor); // { changed: true }
   */
  async tag(sha256: string, tagText: string, actor: Actor): Promise<{ changed: boolean }> {
    const tag = parseTag(tagText);
    await this.#held(sha256);
    const tags = await this.#tagsOf(sha256);
    if (tags.includes(tag)) return { changed: false };
    if (tags.length >= MAX_TAGS_PER_SAMPLE) {
      throw new CatalogueError('TOO_MANY_TAGS', `a sample carries at most ${MAX_TAGS_PER_SAMPLE} tags`, {
        details: { limit: MAX_TAGS_PER_SAMPLE },
      });
    }
    // On the record first: a crash after it repeats the entry on a retry, never loses it.
    await this.#log('sample.tagged', actor, { sha256, tag });
    await this.#o.db
      .insertInto('sample_tags')
      .values({ sha256, tag, added_at: this.#o.now().toISOString() })
      .onConflict((c) => c.columns(['sha256', 'tag']).doNothing())
      .execute();
    await this.#o.durable();
    return { changed: true };
  }

  /** Removes the tag (idempotent); logged as `sample.untagged` when it was there. */
  async untag(sha256: string, tagText: string, actor: Actor): Promise<{ changed: boolean }> {
    const tag = parseTag(tagText);
    await this.#held(sha256);
    if (!(await this.#tagsOf(sha256)).includes(tag)) return { changed: false };
    await this.#log('sample.untagged', actor, { sha256, tag });
    await this.#o.db.deleteFrom('sample_tags').where('sha256', '=', sha256).where('tag', '=', tag).execute();
    await this.#o.durable();
    return { changed: true };
  }

  /**
   * Stores the comment (idempotent by its id); logged as `sample.commented` with its id and
   * length, never its text (free text may hold what the log must not).
   */
  async comment(comment: SampleComment, actor: Actor): Promise<SampleComment> {
    const text = parseCommentText(comment.text);
    await this.#held(comment.sha256);
    const known = await this.#o.db
      .selectFrom('sample_comments')
      .select('id')
      .where('id', '=', comment.id)
      .executeTakeFirst();
    if (known !== undefined) return { ...comment, text };
    await this.#log('sample.commented', actor, {
      sha256: comment.sha256,
      comment: comment.id,
      length: text.length,
    });
    await this.#o.db
      .insertInto('sample_comments')
      .values({
        id: comment.id,
        sha256: comment.sha256,
        text,
        created_at: comment.createdAt,
        author_role: comment.author.role,
        author_token: comment.author.token,
      })
      .onConflict((c) => c.column('id').doNothing())
      .execute();
    await this.#o.durable();
    return { ...comment, text };
  }

  /** The sample's comments, oldest first, after the key. */
  async comments(sha256: string, query: CommentQuery): Promise<SampleComment[]> {
    let select = this.#o.db.selectFrom('sample_comments').selectAll().where('sha256', '=', sha256);
    const { after } = query;
    if (after !== undefined) {
      select = select.where((eb) =>
        eb(eb.refTuple('created_at', 'id'), '>', eb.tuple(after.createdAt, after.id)),
      );
    }
    const rows = await select.orderBy('created_at').orderBy('id').limit(query.limit).execute();
    return rows.map((row) => ({
      id: row.id,
      sha256: row.sha256,
      text: row.text,
      createdAt: row.created_at,
      author: { role: row.author_role, token: row.author_token },
    }));
  }

  async notes(sha256: string): Promise<SampleNotes> {
    const count = await this.#o.db
      .selectFrom('sample_comments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('sha256', '=', sha256)
      .executeTakeFirstOrThrow();
    return { tags: await this.#tagsOf(sha256), comments: Number(count.n) };
  }

  /**
   * The site's samples matching the filters, newest first by (first seen, SHA-256), at most
   * `limit`, with their tags; and the number of matches when asked.
   */
  async search(query: SampleSearch): Promise<SampleSearchPage> {
    const rows = await this.#matching(query)
      .selectAll('samples')
      .orderBy('samples.first_seen', 'desc')
      .orderBy('samples.sha256', 'desc')
      .limit(query.limit)
      .execute();
    const tags = await this.#tagsOfMany(rows.map((r) => r.sha256));
    const hits = rows.map(
      (row): SampleHit => ({
        sha256: row.sha256,
        sha1: row.sha1,
        md5: row.md5,
        sha512: row.sha512,
        size: row.size,
        type: row.file_type,
        site: this.#o.site,
        firstSeen: row.first_seen,
        lastSeen: row.last_seen,
        tags: tags.get(row.sha256) ?? [],
      }),
    );
    if (query.count !== true) return { hits };
    const { before: _before, ...unpaged } = query;
    const total = await this.#matching(unpaged)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return { hits, total: Number(total.n) };
  }

  #matching(query: Omit<SampleSearch, 'limit'>) {
    let select = this.#o.db.selectFrom('samples');
    if (query.type !== undefined) select = select.where('samples.file_type', '=', query.type);
    if (query.minSize !== undefined) select = select.where('samples.size', '>=', query.minSize);
    if (query.maxSize !== undefined) select = select.where('samples.size', '<=', query.maxSize);
    if (query.firstSeenFrom !== undefined)
      select = select.where('samples.first_seen', '>=', query.firstSeenFrom);
    if (query.firstSeenTo !== undefined) select = select.where('samples.first_seen', '<', query.firstSeenTo);
    const { tag, before } = query;
    if (tag !== undefined) {
      select = select.where((eb) =>
        eb.exists(
          eb
            .selectFrom('sample_tags')
            .select('sample_tags.tag')
            .whereRef('sample_tags.sha256', '=', 'samples.sha256')
            .where('sample_tags.tag', '=', tag),
        ),
      );
    }
    if (before !== undefined) {
      select = select.where((eb) =>
        eb(
          eb.refTuple('samples.first_seen', 'samples.sha256'),
          before.inclusive ? '<=' : '<',
          eb.tuple(before.firstSeen, before.sha256),
        ),
      );
    }
    return select;
  }

  async #tagsOf(sha256: string): Promise<string[]> {
    return (await this.#tagsOfMany([sha256])).get(sha256) ?? [];
  }

  async #tagsOfMany(sha256s: readonly string[]): Promise<Map<string, string[]>> {
    const tags = new Map<string, string[]>();
    if (sha256s.length === 0) return tags;
    const rows = await this.#o.db
      .selectFrom('sample_tags')
      .select(['sha256', 'tag'])
      .where('sha256', 'in', sha256s)
      .orderBy('sha256')
      .orderBy('tag')
      .execute();
    for (const row of rows) tags.set(row.sha256, [...(tags.get(row.sha256) ?? []), row.tag]);
    return tags;
  }

  /** Refuses a sample the site does not hold: tags and comments follow the site's samples. */
  async #held(sha256: string): Promise<void> {
    const row = await this.#o.db
      .selectFrom('samples')
      .select('sha256')
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    if (row === undefined) throw new VaultError('SAMPLE_NOT_FOUND', `no sample ${sha256} at ${this.#o.site}`);
  }

  /**
   * Removes the tags and comments of samples the site no longer holds (after an erasure or a
   * relocation's purge removed them): the catalogue follows the samples.
   */
  async removeOrphans(): Promise<void> {
    for (const table of ['sample_tags', 'sample_comments'] as const) {
      await this.#o.db
        .deleteFrom(table)
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('samples')
                .select('samples.sha256')
                .whereRef('samples.sha256', '=', `${table}.sha256`),
            ),
          ),
        )
        .execute();
    }
  }

  async #log(type: string, actor: Actor, fields: Record<string, unknown>): Promise<void> {
    await this.#o.audit.append({
      type,
      time: this.#o.now().toISOString(),
      actor,
      site: this.#o.site,
      ...fields,
    });
  }
}
