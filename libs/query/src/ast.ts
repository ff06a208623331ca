/** The comparison operators (`<>` is read as `!=`). */
export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** A literal value with the offset where it starts in the filter text. */
export type FilterLiteral =
  | { type: 'string'; value: string; position: number }
  | { type: 'number'; value: number; position: number }
  | { type: 'boolean'; value: boolean; position: number }
  | { type: 'null'; value: null; position: number };

/** A dotted field path as written, e.g. `model.family`, and where it starts. */
export interface FieldRef {
  path: string;
  position: number;
}

/**
 * The parsed filter. `and` and `or` are n-ary (a chain `a AND b AND c` is one node with three
 * children), so the tree is only as deep as the text's parentheses and NOTs.
 */
export type FilterNode =
  | { kind: 'and'; children: FilterNode[]; position: number }
  | { kind: 'or'; children: FilterNode[]; position: number }
  | { kind: 'not'; child: FilterNode; position: number }
  | { kind: 'compare'; field: FieldRef; op: ComparisonOperator; opPosition: number; value: FilterLiteral; position: number }
  | { kind: 'in'; field: FieldRef; negated: boolean; values: FilterLiteral[]; position: number };
