// GET /problems/{code}: the page every problem's `type` URL points at, made from the error table
// in errors.ts (as docs/problems.md is, by `npm run docs:problems`). Public, Markdown.
import { createRoute } from '@hono/zod-openapi';
import { AppError, codeOfSlug, ERROR_CODES, ERRORS, type ErrorCode, problemSlug } from '../../errors.ts';
import { problemResponses, router, z } from '../openapi.ts';

const MARKDOWN = 'text/markdown; charset=utf-8';

/** One code's section: what the caller sees, and what it means. */
export function problemMarkdown(code: ErrorCode, heading = '#'): string {
  const e = ERRORS[code];
  const type = `\`<issuer>/problems/${problemSlug(code)}\``;
  return `${heading} ${e.title}\n\n\`${code}\`, HTTP ${e.status}, type ${type}\n\n${e.description}\n`;
}

/** A Markdown table with its columns padded, as the formatter (Biome) leaves it. */
function table(head: string[], rows: string[][]): string[] {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** docs/problems.md: every code, in the table's order. */
export function problemsMarkdown(): string {
  const intro = [
    '# Problems',
    '',
    '<!-- Generated from src/errors.ts by `npm run docs:problems`; edit the table there, not this file. -->',
    '',
    'Every error waybill answers is an RFC 9457 `application/problem+json` body with a `code` from the',
    'closed set below (one HTTP status per code) and a `type` URL, `<issuer>/problems/<code>`, that',
    'serves the section of this page for that code (`GET /problems/{code}`, no token needed).',
    '',
    ...table(
      ['code', 'status', 'title'],
      ERROR_CODES.map((c) => [`[\`${c}\`](#${problemSlug(c)})`, String(ERRORS[c].status), ERRORS[c].title]),
    ),
    '',
  ];
  const sections = ERROR_CODES.map((c) => `<a id="${problemSlug(c)}"></a>\n\n${problemMarkdown(c, '##')}`);
  return `${intro.join('\n')}\n${sections.join('\n')}`;
}

export function problemRoutes() {
  const app = router();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/problems/{code}',
      summary: 'What a problem code means: the page each problem `type` URL points at',
      request: {
        params: z.object({
          code: z
            .string()
            .max(64)
            .openapi({ example: problemSlug('VALIDATION_FAILED') }),
        }),
      },
      responses: {
        200: { description: 'the explanation', content: { [MARKDOWN]: { schema: z.string() } } },
        ...problemResponses(404),
      },
    }),
    (c) => {
      const code = codeOfSlug(c.req.valid('param').code);
      if (!code) throw new AppError('NOT_FOUND', 'no such problem code');
      return c.body(problemMarkdown(code), 200, { 'content-type': MARKDOWN });
    },
  );
  return app;
}
