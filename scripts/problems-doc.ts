// `npm run docs:problems`: write docs/problems.md from the error table in src/errors.ts.
// test/docs/problems.test.ts fails while the file is out of date.
import { writeFileSync } from 'node:fs';
import { problemsMarkdown } from '../src/http/routes/problems.ts';

const file = new URL('../docs/problems.md', import.meta.url);
writeFileSync(file, problemsMarkdown());
console.log(`wrote ${file.pathname}`);
