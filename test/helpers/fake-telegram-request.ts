/**
 * Reading a Bot API request's parameters (query, JSON, urlencoded or multipart/form-data) for the fake
 * Telegram server. Multipart parsing is lenient the way the real server is:
 * header names in any case, with or without a space after the colon, quoted or bare parameter values
 * (grammY writes `content-disposition:form-data;name="x";filename=voice.ogg`).
 */
import type { IncomingMessage } from 'node:http';

export interface MultipartFile {
  data: Buffer;
  filename?: string;
  contentType?: string;
}

export interface MultipartBody {
  fields: Record<string, string>;
  files: Record<string, MultipartFile>;
}

/** The boundary from a `multipart/form-data; boundary=…` content type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  const m = /^multipart\/form-data\s*;.*?boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return m ? (m[1] ?? m[2]) : undefined;
}

export function parseMultipart(body: Buffer, boundary: string): MultipartBody {
  const out: MultipartBody = { fields: {}, files: {} };
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new Error('multipart body without its boundary');
  for (;;) {
    pos += delimiter.length;
    // "--" after a delimiter closes the body
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    pos = skipLineBreak(body, pos);
    const next = body.indexOf(delimiter, pos);
    if (next < 0) throw new Error('multipart body is not terminated');
    // the part ends before the CRLF that precedes the next delimiter
    let end = next;
    if (body[end - 2] === 0x0d && body[end - 1] === 0x0a) end -= 2;
    else if (body[end - 1] === 0x0a) end -= 1;
    addPart(out, body.subarray(pos, end));
    pos = next;
  }
  return out;
}

function skipLineBreak(body: Buffer, pos: number): number {
  if (body[pos] === 0x0d && body[pos + 1] === 0x0a) return pos + 2;
  if (body[pos] === 0x0a) return pos + 1;
  return pos;
}

function addPart(out: MultipartBody, part: Buffer): void {
  let headerEnd = part.indexOf('\r\n\r\n');
  let sep = 4;
  if (headerEnd < 0) {
    headerEnd = part.indexOf('\n\n');
    sep = 2;
  }
  if (headerEnd < 0) throw new Error('multipart part without headers');
  const headers = new Map<string, string>();
  for (const line of part.subarray(0, headerEnd).toString('utf8').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const disposition = headers.get('content-disposition') ?? '';
  const name = param(disposition, 'name');
  if (name === undefined) throw new Error('multipart part without a name');
  const data = part.subarray(headerEnd + sep);
  const filename = param(disposition, 'filename');
  if (filename === undefined) {
    out.fields[name] = data.toString('utf8');
    return;
  }
  const contentType = headers.get('content-type');
  out.files[name] = {
    data: Buffer.from(data),
    filename,
    ...(contentType ? { contentType } : {}),
  };
}

function param(header: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|;)\\s*${key}=(?:"([^"]*)"|([^;]*))`, 'i').exec(header);
  return m ? (m[1] ?? m[2]?.trim()) : undefined;
}

/** Parameters from the query and body, with attach:// file references resolved. */
export async function readParams(
  req: IncomingMessage,
  url: URL,
): Promise<{ params: Record<string, unknown>; files: Record<string, MultipartFile> }> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  const raw: Record<string, string | unknown> = Object.fromEntries(url.searchParams);
  let files: Record<string, MultipartFile> = {};
  const type = req.headers['content-type'] ?? '';
  const boundary = multipartBoundary(type);
  if (boundary) {
    const parsed = parseMultipart(body, boundary);
    Object.assign(raw, parsed.fields);
    files = parsed.files;
  } else if (/json/i.test(type) && body.length > 0) {
    Object.assign(raw, JSON.parse(body.toString('utf8')) as Record<string, unknown>);
  } else if (/x-www-form-urlencoded/i.test(type)) {
    Object.assign(raw, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
  }
  const params: Record<string, unknown> = {};
  const byParam: Record<string, MultipartFile> = {};
  for (const [k, v] of Object.entries(raw)) {
    // "attach://<name>" points at a file part sent under another name
    const attach = typeof v === 'string' ? /^attach:\/\/(.+)$/.exec(v) : null;
    if (attach && files[attach[1]!]) byParam[k] = files[attach[1]!]!;
    params[k] = typeof v === 'string' && /^\s*[[{]/.test(v) ? tryJson(v) : v;
  }
  for (const [k, f] of Object.entries(files)) if (!Object.values(byParam).includes(f)) byParam[k] = f;
  return { params, files: byParam };
}

function tryJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
