/**
 * Merges Prometheus text expositions that may describe the same metric families (BullMQ
 * writes `# HELP` and `# TYPE` for `bullmq_job_count` once per queue): each family once, its
 * HELP and TYPE first, then every queue's samples. Prometheus rejects a family declared twice.
 */
export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, { help: string | null; type: string | null; samples: string[] }>();
  const family = (name: string) => {
    let f = families.get(name);
    if (f === undefined) {
      f = { help: null, type: null, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) /.exec(line);
      if (meta) {
        const f = family(meta[2]!);
        if (meta[1] === 'HELP') f.help ??= line;
        else f.type ??= line;
        continue;
      }
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
      if (sample) family(sample[1]!).samples.push(line);
    }
  }
  return [...families.values()].map((f) => [f.help, f.type, ...f.samples].filter((l): l is string => l !== null).join('\n')).join('\n') + '\n';
}
