/** What kind of problem a filter has; all of them are the client's to fix (an HTTP 400). */
export type FilterErrorKind = 'syntax' | 'limit' | 'field' | 'type';

/** The JSON a 400 response can carry as is. */
export interface FilterErrorBody {
  kind: FilterErrorKind;
  /** 0-based offset into the filter text (a JavaScript string index: UTF-16 code units). */
  position: number;
  /** What would have been valid at `position`. */
  expected: string;
  message: string;
}

/** A filter that cannot be parsed or compiled. Never thrown for a problem of the server's own. */
export abstract class FilterError extends Error {
  abstract readonly kind: FilterErrorKind;

  protected constructor(
    readonly position: number,
    readonly expected: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }

  toJSON(): FilterErrorBody {
    return { kind: this.kind, position: this.position, expected: this.expected, message: this.message };
  }
}

/** Text that is not a filter: `found` is what stood at `position` ('end of filter' at the end). */
export class FilterSyntaxError extends FilterError {
  readonly kind: FilterErrorKind;

  constructor(position: number, expected: string, readonly found: string, kind: 'syntax' | 'limit' = 'syntax') {
    super(position, expected, `filter: at ${position}: expected ${expected}, found ${found}`);
    this.kind = kind;
  }
}

/** A field the resolver does not know; `allowed` lists what the caller may use instead. */
export class FilterFieldError extends FilterError {
  readonly kind = 'field' as const;

  constructor(position: number, readonly field: string, readonly allowed: readonly string[]) {
    const expected = allowed.length > 0 ? `a known field (${allowed.join(', ')})` : 'a known field';
    super(position, expected, `filter: at ${position}: unknown field '${field}'; expected ${expected}`);
  }
}

/** A value or operator that does not fit the field's type (a string compared to a number, ...). */
export class FilterTypeError extends FilterError {
  readonly kind = 'type' as const;

  constructor(position: number, readonly field: string, expected: string, found: string) {
    super(position, expected, `filter: at ${position}: ${field} needs ${expected}, found ${found}`);
  }
}
