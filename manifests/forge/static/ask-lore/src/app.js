// Ask Lore's front end: a question box, the answer with numbered sources as links, a "sources only" notice when
// the model was unavailable, and helpful / not helpful buttons. Every call goes through Forge Remote
// (invokeRemote), which adds the Forge Invocation Token Lore verifies. Answers can take longer than a Forge
// UI call may (25 s), so asking returns a job id and this polls it.
import { invokeRemote, router, view } from '@forge/bridge';

export const POLL_LIMIT_MS = 5 * 60 * 1000; // give up polling after 5 minutes: Lore's jobs expire after 15
const DEFAULT_POLL_MS = 1500;

export const text = {
  label: 'Ask Lore a question about your pages',
  placeholder: 'How do we cut a release?',
  ask: 'Ask',
  working: 'Lore is writing the answer…',
  sourcesOnly: 'Sources only',
  sources: 'Sources',
  helpful: 'Helpful',
  notHelpful: 'Not helpful',
  thanks: 'Thanks for the feedback.',
  spaceOnly: (key) => `Only pages in space ${key}`,
  tooSlow: 'The answer is taking too long. Try again in a minute.',
  failed: 'Lore could not answer this time. Try again in a minute.',
};

// the space filter configured on the macro (config parameter `defaultSpace`), if any
export function defaultSpace(context) {
  const value = context?.extension?.config?.defaultSpace;
  if (typeof value === 'string' && value.trim()) return value.trim();
  if (value && typeof value.spaceKey === 'string') return value.spaceKey; // a space picker's object form
  return null;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c); // strings become text nodes: nothing from the server is HTML
  return node;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function errorMessage(resp) {
  return resp?.body?.error?.message || text.failed;
}

// POST the question, then poll the job until it is done or failed; resolves to the finished job
export async function askAndWait(question, space, { now = Date.now } = {}) {
  const started = await invokeRemote({ path: '/api/forge/ask', method: 'POST', body: { question, space } });
  if (started.status !== 202) throw new Error(errorMessage(started));
  let job = started.body;
  const deadline = now() + POLL_LIMIT_MS;
  while (job.state === 'queued' || job.state === 'running') {
    if (now() > deadline) throw new Error(text.tooSlow);
    await sleep(job.poll_after_ms ?? DEFAULT_POLL_MS);
    const resp = await invokeRemote({ path: `/api/forge/jobs/${job.id}`, method: 'GET' });
    if (resp.status !== 200) throw new Error(errorMessage(resp));
    job = resp.body;
  }
  if (job.state === 'failed') throw new Error(job.error?.message || text.failed);
  return job;
}

function isWebUrl(url) {
  try {
    return ['http:', 'https:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

export function renderAnswer(job) {
  const a = job.answer;
  const out = el('section', { class: 'result', 'aria-live': 'polite' });
  if (a.status === 'sources_only') {
    out.append(el('p', { class: 'notice', role: 'status' }, `${text.sourcesOnly}: ${a.notice || ''}`.trim()));
  } else if (a.notice) {
    out.append(el('p', { class: 'notice', role: 'status' }, a.notice));
  }
  if (a.text) out.append(el('p', { class: 'answer' }, a.text));
  if (a.sources?.length) {
    const list = el('ol', { class: 'sources' });
    for (const s of a.sources) {
      const item = el('li', { value: String(s.n) });
      if (isWebUrl(s.url)) {
        const link = el('a', { href: s.url, target: '_blank', rel: 'noopener noreferrer' }, s.title || s.url);
        link.addEventListener('click', (e) => {
          e.preventDefault();
          router.open(s.url); // Forge's way out of the iframe: a new tab on the page
        });
        item.append(link);
      } else {
        item.append(s.title || '');
      }
      list.append(item);
    }
    out.append(el('h3', {}, text.sources), list);
  }
  out.append(feedbackButtons(job.id));
  return out;
}

function feedbackButtons(jobId) {
  const box = el('div', { class: 'feedback', role: 'group', 'aria-label': 'Was this answer helpful?' });
  const vote = async (value) => {
    for (const b of box.querySelectorAll('button')) b.disabled = true;
    const resp = await invokeRemote({ path: '/api/forge/feedback', method: 'POST', body: { job_id: jobId, vote: value } });
    box.replaceChildren(el('p', { role: 'status' }, resp.status === 200 ? text.thanks : errorMessage(resp)));
  };
  box.append(
    el('button', { type: 'button', class: 'vote', onclick: () => vote('helpful') }, text.helpful),
    el('button', { type: 'button', class: 'vote', onclick: () => vote('not_helpful') }, text.notHelpful),
  );
  return box;
}

export async function mount(root) {
  const context = await view.getContext().catch(() => ({}));
  const space = defaultSpace(context);
  const input = el('input', { type: 'text', id: 'lore-question', name: 'question', placeholder: text.placeholder,
    autocomplete: 'off', required: '' });
  const button = el('button', { type: 'submit' }, text.ask);
  const form = el('form', {}, el('label', { class: 'question', for: 'lore-question' }, text.label), input, button);
  let only = null;
  if (space) {
    only = el('input', { type: 'checkbox', id: 'lore-space-only', checked: '' });
    form.append(el('label', { for: 'lore-space-only' }, only, ' ', text.spaceOnly(space)));
  }
  const result = el('div', { class: 'output' });
  root.replaceChildren(form, result);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const question = input.value.trim();
    if (!question) return;
    button.disabled = true;
    result.replaceChildren(el('p', { role: 'status' }, text.working));
    try {
      const job = await askAndWait(question, only?.checked ? space : undefined);
      result.replaceChildren(renderAnswer(job));
    } catch (err) {
      result.replaceChildren(el('p', { class: 'error', role: 'alert' }, err.message || text.failed));
    } finally {
      button.disabled = false;
    }
  });
}
