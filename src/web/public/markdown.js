/* global document, navigator, setTimeout -- browser globals */
// Answers as Markdown, safely: marked turns the text into HTML, DOMPurify keeps only a short list of
// harmless tags and attributes and hands back DOM nodes (no innerHTML of model text anywhere), links open
// in a new tab without access to this page, and code blocks get a copy button. Both libraries are the
// pinned npm packages, served by June itself; if they cannot be loaded, answers show as plain text.

const ALLOWED_TAGS = [
  'p', 'br', 'strong', 'em', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'hr',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'input',
]; // prettier-ignore
const ALLOWED_ATTR = ['href', 'title', 'start', 'align', 'class', 'type', 'checked', 'disabled'];

let lib;
const loading = Promise.all([import('./marked.esm.js'), import('./purify.es.mjs')]).then(
  ([m, p]) => {
    const purify = p.default;
    purify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A') {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer');
      }
      // task-list boxes only; no other form controls
      if (node.tagName === 'INPUT' && node.getAttribute('type') !== 'checkbox') node.remove();
      if (node.tagName === 'INPUT') node.setAttribute('disabled', '');
      if (node.hasAttribute('class') && !/^language-[\w+-]+$/.test(node.getAttribute('class')))
        node.removeAttribute('class');
    });
    lib = { marked: m.marked, purify };
  },
  () => {
    lib = null;
  },
);

/** Resolves once the libraries are loaded (or failed to load, leaving plain text). */
export const markdownReady = () => loading;

function copyButton(code) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'copy';
  button.textContent = 'Copy';
  button.setAttribute('aria-label', 'Copy code');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(code.textContent);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Copy failed';
    }
    setTimeout(() => (button.textContent = 'Copy'), 2000);
  });
  return button;
}

/** Replaces `target`'s content with `text` rendered as sanitised Markdown (plain text until loaded). */
export function renderMarkdown(target, text) {
  if (!lib) {
    target.textContent = text;
    return;
  }
  const html = lib.marked.parse(text, { async: false, gfm: true });
  const fragment = lib.purify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOW_DATA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
  for (const pre of fragment.querySelectorAll('pre')) {
    const code = pre.querySelector('code') ?? pre;
    const wrap = document.createElement('div');
    wrap.className = 'code-block';
    pre.replaceWith(wrap);
    wrap.append(copyButton(code), pre);
  }
  // the blank lines between blocks are not part of the answer
  for (const node of [...fragment.childNodes])
    if (node.nodeType === 3 && !node.textContent.trim()) node.remove();
  target.replaceChildren(fragment);
}
