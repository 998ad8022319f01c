import type { Command } from 'commander';
import { action, printResult } from './output.js';
import {
  pageParams,
  parseCount,
  requestJson,
  type ServerOptions,
  sampleHashArgument,
  withServerOptions,
} from './server-client.js';

interface TagChange {
  sha256: string;
  tag: string;
  sites: string[];
  changed: boolean;
}

interface SampleComment {
  id: string;
  sha256: string;
  text: string;
  createdAt: string;
  author: { role: string; token: string };
}

interface CommentsPage {
  comments: SampleComment[];
  next: string | null;
}

interface PageOptions extends ServerOptions {
  readonly limit?: number;
  readonly cursor?: string;
}

const samplePath = (hash: string) => `/v1/samples/${encodeURIComponent(hash)}`;

/** `samples tag`, `untag`, `comment` and `comments`: an analyst's notes on a sample. */
export function registerSampleNotes(samples: Command): void {
  withServerOptions(
    samples
      .command('tag')
      .description('tag a sample at each of your sites holding it (PUT /v1/samples/{hash}/tags/{tag})')
      .argument(...sampleHashArgument)
      .argument('<tag>', 'lower case, e.g. packed or family:emotet'),
  ).action(
    action(async (hash: string, tag: string, options: ServerOptions) => {
      const change = await requestJson<TagChange>(
        options,
        `${samplePath(hash)}/tags/${encodeURIComponent(tag)}`,
        {
          method: 'PUT',
        },
      );
      printResult(options.json === true, change, () =>
        change.changed
          ? `tagged ${change.sha256} ${change.tag} at ${change.sites.join(', ')}`
          : `${change.sha256} was already tagged ${change.tag}`,
      );
    }),
  );
  withServerOptions(
    samples
      .command('untag')
      .description(
        'remove a tag from a sample at each of your sites holding it (DELETE /v1/samples/{hash}/tags/{tag})',
      )
      .argument(...sampleHashArgument)
      .argument('<tag>', 'the tag to remove'),
  ).action(
    action(async (hash: string, tag: string, options: ServerOptions) => {
      const change = await requestJson<TagChange>(
        options,
        `${samplePath(hash)}/tags/${encodeURIComponent(tag)}`,
        {
          method: 'DELETE',
        },
      );
      printResult(options.json === true, change, () =>
        change.changed
          ? `removed ${change.tag} from ${change.sha256} at ${change.sites.join(', ')}`
          : `${change.sha256} was not tagged ${change.tag}`,
      );
    }),
  );
  withServerOptions(
    samples
      .command('comment')
      .description(
        'comment on a sample at each of your sites holding it: technical notes only, never personal data (POST /v1/samples/{hash}/comments)',
      )
      .argument(...sampleHashArgument)
      .argument('<text>', 'the comment, at most 4000 characters (quote it)'),
  ).action(
    action(async (hash: string, text: string, options: ServerOptions) => {
      const comment = await requestJson<SampleComment>(options, `${samplePath(hash)}/comments`, {
        method: 'POST',
        body: { text },
      });
      printResult(
        options.json === true,
        comment,
        () => `comment ${comment.id} on ${comment.sha256} at ${comment.createdAt}`,
      );
    }),
  );
  withServerOptions(
    samples
      .command('comments')
      .description("one page of a sample's comments, oldest first (GET /v1/samples/{hash}/comments)")
      .argument(...sampleHashArgument)
      .option('--limit <n>', 'comments per page (default 100, at most 1000)', parseCount)
      .option('--cursor <cursor>', 'the next page, as the previous one gave it'),
  ).action(
    action(async (hash: string, options: PageOptions) => {
      const page = await requestJson<CommentsPage>(options, `${samplePath(hash)}/comments`, {
        params: pageParams(options),
      });
      printResult(options.json === true, page, () => describeComments(page));
    }),
  );
}

function describeComments(page: CommentsPage): string {
  const lines = page.comments.map((c) => `${c.createdAt}  ${c.author.role} ${c.author.token}  ${c.text}`);
  if (lines.length === 0) lines.push('no comment');
  if (page.next !== null) lines.push(`next page: --cursor ${page.next}`);
  return lines.join('\n');
}
