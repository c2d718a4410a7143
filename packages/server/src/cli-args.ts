/** A tiny argument parser: `--name value`, `--name=value`, boolean `--flag`, repeatable options. */
export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string[]>;
}

export class UsageError extends Error {}

/** `optional`: flags that may also take a value, only as `--name=value` (so `--flag next` stays a flag). */
export function parseArgs(argv: string[], spec: { flags: string[]; values: string[]; optional?: string[] }): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string[]>();
  const add = (name: string, value: string) => options.set(name, [...(options.get(name) ?? []), value]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h') {
      add('help', 'true');
      continue;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (spec.flags.includes(name)) {
      if (eq !== -1 && !spec.optional?.includes(name)) throw new UsageError(`--${name} takes no value`);
      add(name, eq === -1 ? 'true' : arg.slice(eq + 1));
    } else if (spec.values.includes(name)) {
      const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq === -1 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
      add(name, value);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { positionals, options };
}

export const last = (args: ParsedArgs, name: string) => args.options.get(name)?.at(-1);
export const has = (args: ParsedArgs, name: string) => args.options.has(name);

/** A whole number written in digits; `Number` alone would take "" as 0 and "1e3" as 1000. */
export function integer(value: string, name: string, min: number, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}
