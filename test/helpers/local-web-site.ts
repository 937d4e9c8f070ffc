/**
 * A small real web site on 127.0.0.1 for the browse tests: two articles wrapped in boilerplate (navigation,
 * cookie banner, footer), a form that posts and redirects to a thank-you page, a page that never finishes, a page whose script never yields, redirects (/go?to=…, /loop),
 * a huge page, a page that tries to leave for file:///etc/passwd, a page whose image lives on another host
 * name, a page that sets cookies and one that shows the cookies it got, and a SearXNG stand-in answering GET /searx/search?q=…&format=json in SearXNG's JSON format.
 * Every request is recorded so tests can check what the browser asked for (and what it did not).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalWebSite {
  origin: string;
  /** The same server under the host name "localhost" (for host block/allow lists). */
  localhostOrigin: string;
  requests: { method: string; path: string; host: string; body: string }[];
  close(): Promise<void>;
}

const BOILERPLATE_TOP = `<header><nav><a href="/">Home</a> <a href="/about">About us</a> <a href="/shop">Shop</a></nav>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies?</div></header>`;
const BOILERPLATE_BOTTOM = `<aside class="sidebar"><h3>Trending</h3><ul><li><a href="/t1">Ten celebrity diets</a></li></ul></aside>
<footer><p>Subscribe to our newsletter for weekly deals.</p><p>Copyright 2026 Example Media Group.</p></footer>`;

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
}

export const OTTER_FACT = 'River otters can hold their breath for up to eight minutes';
export const BEAVER_FACT = 'Beavers build lodges with underwater entrances';

function article(title: string, paragraphs: string[], extra = ''): string {
  return page(
    title,
    `${BOILERPLATE_TOP}<main><article><h1>${title}</h1>${paragraphs.map((p) => `<p>${p}</p>`).join('\n')}${extra}</article></main>${BOILERPLATE_BOTTOM}`,
  );
}

const filler = (topic: string) =>
  `The ${topic} has been studied by naturalists for many decades, and field notes from across the continent describe its habits, its diet and the way it raises its young in considerable detail.`;

export async function startLocalWebSite(): Promise<LocalWebSite> {
  const requests: LocalWebSite['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? 'GET', path: url.pathname, host: req.headers.host ?? '', body });
      const html = (status: number, text: string) => {
        res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
        res.end(text);
      };
      switch (url.pathname) {
        case '/otters':
          return html(
            200,
            article(
              'The river otter',
              [
                `${OTTER_FACT}, which lets them hunt fish under the ice.`,
                filler('river otter'),
                filler('otter family'),
                'Otters live in burrows near the water, called holts, and they are most active at dawn and dusk.',
              ],
              '<p>Read next: <a href="/beavers">how beavers build their lodges</a>.</p>',
            ),
          );
        case '/beavers':
          return html(
            200,
            article('The beaver', [
              `${BEAVER_FACT}, so that predators cannot reach them.`,
              filler('beaver'),
              filler('beaver colony'),
            ]),
          );
        case '/form':
          return html(
            200,
            page(
              'Contact',
              `<h1>Contact us</h1><form method="post" action="/submit">
<label for="email">Email address</label><input id="email" name="email" type="email">
<input name="name" placeholder="Your name"><label><input type="checkbox" name="subscribe"> Subscribe</label>
<button type="submit">Send</button></form>`,
            ),
          );
        case '/submit': {
          const form = new URLSearchParams(body);
          res.writeHead(303, { location: `/thanks?name=${encodeURIComponent(form.get('name') ?? '')}` });
          return res.end();
        }
        case '/thanks':
          return html(200, page('Thanks', `<h1>Thank you, ${url.searchParams.get('name') ?? ''}!</h1>`));
        case '/slow':
          res.writeHead(200, { 'content-type': 'text/html' });
          res.write('<!doctype html><html><head><title>Slow</title></head><body><p>Loading');
          return; // never ends: the test server closes it
        case '/huge': {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.write('<!doctype html><html><body>');
          const line = `<p>${'huge page text '.repeat(60)}</p>\n`;
          let sent = 0;
          const more = () => {
            while (sent < 8 * 1024 * 1024) {
              sent += line.length;
              if (!res.write(line)) return void res.once('drain', more);
            }
            res.end('</body></html>');
          };
          res.on('error', () => undefined);
          return more();
        }
        case '/escape':
          return html(
            200,
            page(
              'Escape',
              `<p>Nothing to see here.</p><a href="file:///etc/passwd">local file</a>
<script>setTimeout(() => { location.href = 'file:///etc/passwd'; }, 0);</script>`,
            ),
          );
        case '/cross-host': {
          const port = (server.address() as AddressInfo).port;
          return html(
            200,
            article(
              'Cross host',
              [filler('heron'), filler('heron colony')],
              `<img src="http://localhost:${port}/pixel.png">`,
            ),
          );
        }
        case '/set-cookie':
          res.writeHead(200, {
            'content-type': 'text/html',
            'set-cookie': [
              `visitor=${url.searchParams.get('v') ?? 'x'}; Path=/; HttpOnly`,
              'seen=yes; Path=/',
            ],
          });
          return res.end(page('Welcome', '<p>Cookie set.</p>'));
        case '/whoami':
          return html(200, page('Who', `<p>Cookies: [${req.headers.cookie ?? 'none'}]</p>`));
        case '/busy':
          return html(
            200,
            page(
              'Busy',
              `<p>Busy page</p><script>addEventListener('DOMContentLoaded', () => setTimeout(() => { for (;;) {} }, 0));</script>`,
            ),
          );
        case '/go':
          res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
          return res.end();
        case '/loop':
          res.writeHead(302, { location: `/loop?n=${Number(url.searchParams.get('n') ?? 0) + 1}` });
          return res.end();
        case '/pixel.png':
          res.writeHead(200, { 'content-type': 'image/png' });
          return res.end(Buffer.alloc(0));
        case '/searx/search': {
          const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(
            JSON.stringify({
              query: url.searchParams.get('q'),
              number_of_results: 2,
              results: [
                {
                  url: `${origin}/otters`,
                  title: 'The river otter',
                  content: 'Otters hold their breath…',
                  engine: 'fake',
                },
                {
                  url: `${origin}/beavers`,
                  title: 'The beaver',
                  content: 'Beavers build lodges…',
                  engine: 'fake',
                },
              ],
              answers: [],
              suggestions: [],
            }),
          );
        }
        default:
          return html(404, page('Not found', '<p>Not found</p>'));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    localhostOrigin: `http://localhost:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
