/**
 * get-or-create-without-unique (toctou): the ORM's get-or-create helpers are a SELECT followed by an INSERT. Only a
 * unique constraint on the lookup columns makes them safe: Django's get_or_create re-reads after an IntegrityError,
 * Rails' find_or_create_by and Sequelize's findOrCreate simply insert a second row when none stops them.
 *
 * Rule: `Model.objects.get_or_create(a=.., b=.., defaults=..)` / `update_or_create`, `Model.find_or_create_by(a: ..)` /
 * `where(..).first_or_create`, `Model.findOrCreate({ where: {..} })` in a changed function, where the diff declares the
 * model or its table (Prisma model, Django model, CREATE TABLE, Rails create_table, __tablename__) and no unique
 * constraint in the diff covers the lookup columns.
 *
 * Deliberately quiet when the model's declaration is not in the diff: the constraint may well exist in a file the PR
 * does not touch, and a false alarm costs more than this miss. Also quiet for `create_or_find_by` (insert first),
 * when the lookup is by primary key only, under a lock taken earlier in the function, and when the function handles a
 * unique violation itself.
 *
 * Confidence: 0.85 when the declaration shows a non-unique index on the lookup columns (someone thought about lookups
 * but not uniqueness), 0.8 otherwise.
 */
import { normColumn } from './lib/sql.js';
import {
  analyzedFunctions,
  declarationOf,
  dedupe,
  evidence,
  guardsOf,
  isPrimaryKeyOnly,
  keyColumns,
  touchesAdded,
  uniqueCovers,
} from './lib/checks.js';
import { createDetector, type DetectorReport } from './types.js';

export default createDetector(
  {
    id: 'get-or-create-without-unique',
    failureMode: 'toctou',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'ruby'],
    description: 'get_or_create / find_or_create_by / findOrCreate on columns that no unique constraint in the diff covers.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/get-or-create-without-unique.md',
  },
  (ctx) => {
    const reports: DetectorReport[] = [];
    for (const info of analyzedFunctions(ctx)) {
      const guards = guardsOf(info, ctx);
      if (guards.uniqueViolation || guards.serializable) continue;
      for (const op of info.ops) {
        if (op.kind !== 'getOrCreate' || op.lock) continue;
        const keys = keyColumns(op.whereColumns);
        if (keys.length === 0 || isPrimaryKeyOnly(keys)) continue;
        if (guards.lockLine !== undefined && guards.lockLine <= op.line) continue;
        const decl = declarationOf(ctx.files, op.entity);
        if (!decl || decl.schemaless) continue;
        if (uniqueCovers(ctx.schema, op.entity, keys, ctx.files)) continue;
        if (!touchesAdded(ctx.file, op.line, op.endLine)) continue;
        const keyNorm = new Set(keys.map(normColumn));
        const index = decl.indexes.find((ix) => ix.some((c) => keyNorm.has(normColumn(c))));
        const method = op.call.split('.').pop() ?? op.call;
        reports.push({
          line: op.line,
          endLine: op.endLine,
          functionName: info.name,
          entity: op.entity,
          evidence: [evidence(info, op.line, 'check'), evidence(info, op.line, 'act')],
          facts: {
            checkCall: op.call,
            actCall: op.call,
            model: op.entity,
            keyColumns: keys.join(', '),
            orm: op.orm,
            existingIndex: index ? 'non-unique index' : 'none',
          },
          title: `${method} on ${op.entity} (${keys.join(', ')}) selects then inserts, and no unique constraint on (${keys.join(', ')}) stops two concurrent calls from both creating a row`,
          confidence: index ? 0.85 : 0.8,
          variant: 'database',
        });
      }
    }
    return dedupe(reports);
  },
);
