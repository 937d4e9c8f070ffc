/**
 * Reads the metric names, label names and label values that a PromQL expression relies on, so a test can
 * check them against what June really exposes. Small on purpose: it knows the functions, aggregations and
 * keywords our dashboards and rules use, and fails loudly on a word it cannot classify.
 */

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  metric: string;
  matchers: Matcher[];
}

export interface PromqlUse {
  selectors: Selector[];
  /** Labels named in by (…), on (…), without (…), ignoring (…). */
  groupingLabels: string[];
}

const FUNCTIONS = new Set([
  'histogram_quantile',
  'rate',
  'irate',
  'increase',
  'delta',
  'deriv',
  'abs',
  'absent',
  'clamp_min',
  'clamp_max',
  'vector',
  'scalar',
  'time',
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'topk',
  'bottomk',
]);
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'unless',
  'and',
  'or',
  'offset',
  'bool',
]);

export function parsePromql(expr: string): PromqlUse {
  const selectors: Selector[] = [];
  const groupingLabels: string[] = [];
  // ranges and subqueries: [5m], [$__rate_interval], [1h:5m]
  let rest = expr.replace(/\[[^\]]*\]/g, ' ');
  // grouping clauses: their words are labels, not metrics
  rest = rest.replace(
    /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_m, _kw, list: string) => {
      for (const l of list
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean))
        groupingLabels.push(l);
      return ' ';
    },
  );
  const word =
    /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?|\{[^}]*\}|"(?:[^"\\]|\\.)*"|\d+(?:\.\d+)?(?:e[+-]?\d+)?|\$__\w+/g;
  for (const m of rest.matchAll(word)) {
    const [whole, name, braces, call] = m;
    if (whole.startsWith('"') || /^[\d$]/.test(whole)) continue;
    if (!name) throw new Error(`a label selector without a metric name in: ${expr}`);
    if (KEYWORDS.has(name)) continue;
    if (call) {
      if (!FUNCTIONS.has(name)) throw new Error(`unknown PromQL function ${name}() in: ${expr}`);
      continue;
    }
    selectors.push({ metric: name, matchers: braces ? parseMatchers(braces, expr) : [] });
  }
  return { selectors, groupingLabels };
}

function parseMatchers(braces: string, expr: string): Matcher[] {
  const out: Matcher[] = [];
  const inner = braces.slice(1, -1).trim();
  if (!inner) return out;
  const one = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let at = 0;
  while (at < inner.length) {
    one.lastIndex = at;
    const m = one.exec(inner);
    if (!m) throw new Error(`cannot read the label matchers ${braces} in: ${expr}`);
    out.push({ label: m[1]!, op: m[2] as Matcher['op'], value: m[3]! });
    at = one.lastIndex;
  }
  return out;
}
