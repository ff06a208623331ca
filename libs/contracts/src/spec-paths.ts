import { canonicalJson, shortHash } from './canonical';
import { type ExperimentSpec, type ExperimentSpecInput, experimentSpecSchema } from './experiment-spec';
import { formatIssues, parseWith } from './validation';

/** A spec with every default filled in; throws an Error naming the problems when it is not valid. */
function filledIn(spec: ExperimentSpecInput | ExperimentSpec): ExperimentSpec {
  const parsed = parseWith(experimentSpecSchema, spec);
  if (!parsed.ok) throw new Error(`not a valid experiment spec: ${formatIssues(parsed.issues)}`);
  return parsed.value;
}

/** The spec paths that never make two runs different configurations. */
export const CONFIG_KEY_IGNORES = ['name', 'training.seed', 'training.priority', 'training.maxRestarts', 'training.keepCheckpoints'] as const;

/**
 * The configuration of a run: its spec with defaults filled in, less `name`, `training.seed`,
 * `training.priority`, `training.maxRestarts` and `training.keepCheckpoints` (scheduling and
 * storage, not configuration),
 * as 16 hex digits of the SHA-256 of its canonical JSON. Runs whose specs differ only in the seed
 * (or the name) share it: the groups of `groupBy=config`.
 */
export function configKeyOf(spec: ExperimentSpecInput | ExperimentSpec): string {
  const full = filledIn(spec);
  const { name: _name, training, ...rest } = full;
  const { seed: _seed, priority: _priority, maxRestarts: _maxRestarts, keepCheckpoints: _keepCheckpoints, ...trainingWithoutSeed } = training;
  return shortHash(`tfleet-config/v1\n${canonicalJson({ ...rest, training: trainingWithoutSeed })}`, 16);
}

/**
 * A spec (defaults filled in) as dotted paths to leaf values: `model.units` -> 128,
 * `model.blocks.0.filters` -> 32. Array items are numbered; an empty array or object is a leaf.
 */
export function flattenSpec(spec: ExperimentSpecInput | ExperimentSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (value: unknown, path: string): void => {
    if (value !== null && typeof value === 'object') {
      const entries = Array.isArray(value)
        ? value.map((item: unknown, i): [string, unknown] => [String(i), item])
        : Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      if (entries.length > 0) {
        for (const [key, item] of entries) walk(item, path === '' ? key : `${path}.${key}`);
        return;
      }
    }
    out[path] = value;
  };
  walk(filledIn(spec), '');
  return out;
}

export interface SpecDifferences {
  /** Paths (sorted) whose value is not the same in every spec, including paths some specs lack. */
  differences: string[];
  /** Every other path, with the value all the specs share. */
  same: Record<string, unknown>;
  /** Each spec flattened, in the order given (a path a spec lacks is absent from its map). */
  flattened: Record<string, unknown>[];
}

/**
 * Which spec paths (defaults filled in) differ across the specs, and the values of the rest.
 * Values are compared by their canonical JSON; a path present in some specs only is a difference.
 * With one spec (or none) nothing differs.
 */
export function specDifferences(specs: readonly (ExperimentSpecInput | ExperimentSpec)[]): SpecDifferences {
  const flattened = specs.map((spec) => flattenSpec(spec));
  const paths = new Set(flattened.flatMap((flat) => Object.keys(flat)));
  const differences: string[] = [];
  const same: Record<string, unknown> = {};
  for (const path of [...paths].sort()) {
    const first = flattened[0]!;
    const text = path in first ? canonicalJson(first[path]) : undefined;
    const agree = flattened.every((flat) => path in flat && canonicalJson(flat[path]) === text);
    if (agree) same[path] = first[path];
    else differences.push(path);
  }
  return { differences, same, flattened };
}
