// A separate waybill process appending to a shared PostgreSQL log: signs COUNT statements with
// CONCURRENCY callers through the signing service, prints one JSON line with the log indices.
import { parseConfig } from '../../src/config.ts';
import { wireServices } from '../../src/deps.ts';
import { createLogger } from '../../src/logger.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { provenanceStatement } from './statements.ts';

const count = Number(process.env.COUNT ?? 100);
const concurrency = Number(process.env.CONCURRENCY ?? 16);
const config = parseConfig(process.env);
const database = await openDatabase(config.database);
await database.migrate();
const { attest } = await wireServices(config, database, createLogger('silent'));
const indices: number[] = [];
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < count) {
      next++;
      const { record } = await attest.sign(provenanceStatement(), `https://ci.example.com/worker/${process.pid}`);
      indices.push(record.logIndex);
      if (process.env.PROGRESS) process.stdout.write('.');
    }
  }),
);
process.stdout.write(`\n${JSON.stringify({ indices })}\n`);
await database.close();
