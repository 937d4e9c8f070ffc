/**
 * Published pass@1 numbers June can put a run next to. Only numbers whose source is certain are listed,
 * each with that source; all are non-agentic (a model writing code from the prompt). Scores from other
 * harnesses are comparable only on the same dataset version and metric (greedy pass@1 vs sampled pass@1
 * differ), which the table says per row.
 */
export interface Baseline {
  model: string;
  dataset: 'humaneval' | 'humaneval+';
  metric: string;
  value: number;
  agentic: boolean;
  source: string;
}

export const BASELINES: readonly Baseline[] = [
  {
    model: 'Codex-12B',
    dataset: 'humaneval',
    metric: 'pass@1 (sampled, temperature tuned per k)',
    value: 0.2881,
    agentic: false,
    source: 'Chen et al. 2021, "Evaluating Large Language Models Trained on Code", arXiv:2107.03374, Table 1',
  },
  {
    model: 'Codex-12B',
    dataset: 'humaneval',
    metric: 'pass@100 (sampled, temperature tuned per k)',
    value: 0.7231,
    agentic: false,
    source: 'Chen et al. 2021, "Evaluating Large Language Models Trained on Code", arXiv:2107.03374, Table 1',
  },
];

export function baselinesFor(dataset: string): Baseline[] {
  return BASELINES.filter((b) => b.dataset === dataset);
}
