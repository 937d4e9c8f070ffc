/**
 * Web search through a self-hosted SearXNG instance's JSON API:
 * GET {base}/search?q=…&format=json → { results: [{ url, title, content }] }. The instance is the
 * operator's own (JUNE_SEARXNG_URL), so it is called from Node, not through the browser's URL policy; the
 * result URLs it returns still pass that policy when the model opens them. (SearXNG answers 403 to
 * format=json until `json` is listed under `search.formats` in its settings.yml.)
 */
export interface SearchHit {
  url: string;
  title: string;
  content: string;
}

export class SearchError extends Error {}

export async function searxngSearch(
  baseUrl: string,
  query: string,
  options: { timeoutMs: number; limit?: number; signal?: AbortSignal },
): Promise<SearchHit[]> {
  const url = new URL('search', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  url.searchParams.set('q', query);
  url.searchParams.set('format', 'json');
  const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])];
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.any(signals) });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    throw new SearchError(`the search service could not be reached (${(err as Error).message})`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new SearchError(
      res.status === 403
        ? 'the search service refused JSON answers (SearXNG needs `json` in search.formats)'
        : `the search service answered HTTP ${res.status}`,
    );
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new SearchError('the search service did not answer JSON');
  }
  const results = (body as { results?: unknown }).results;
  if (!Array.isArray(results)) throw new SearchError('the search service answered without a results list');
  const hits: SearchHit[] = [];
  for (const r of results as Record<string, unknown>[]) {
    if (typeof r?.url !== 'string') continue;
    hits.push({
      url: r.url,
      title: typeof r.title === 'string' ? r.title : '',
      content: typeof r.content === 'string' ? r.content : '',
    });
    if (hits.length >= (options.limit ?? 8)) break;
  }
  return hits;
}
